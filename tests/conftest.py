import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UPDATE_GOLDEN = os.environ.get("ARCHCOST_UPDATE_GOLDEN") == "1"
IN_CI = os.environ.get("CI") == "true"


TORCH_TOTALS = os.path.join(ROOT, "tests", "golden", "torch_totals.json")


def torch_totals(key=None):
    """torch's totals at full size ({params, buffers, macs, activations}), measured by
    ``python benchmarks/verify_full.py`` (verify: numel, FlopCounterMode / 2, output numel)
    and recorded in tests/golden/torch_totals.json: the independent source of every pinned
    whole-network total. ``key``: 'name[:variant][ --train]'; None: the whole record."""
    import json

    with open(TORCH_TOTALS, encoding="utf-8") as handle:
        record = json.load(handle)
    if key is None:
        return record
    if key not in record:
        pytest.fail(f"{key} has no torch measurement in tests/golden/torch_totals.json: run "
                    f"python benchmarks/verify_full.py {key.split(' ')[0]}")  # fmt: skip
    return record[key]


def static_totals(net):
    """archcost's totals in the record's terms: activations are layer outputs, without the
    intermediates counted inside a node (attention's scores: ``extra``), which torch's
    per-node outputs cannot show."""
    t = net.totals()
    extra = sum(getattr(n, "extra", 0) or 0 for n in net.nodes)
    return {"params": t["params"], "buffers": t["buffers"], "macs": t["macs"],
            "activations": t["activations"] - extra}  # fmt: skip


def require_torch():
    """torch, or a skip where it is not installed; in CI (CI=true), where the README's test
    command installs it, a failing import fails the test instead of skipping it silently."""
    if IN_CI:
        import torch

        return torch
    return pytest.importorskip("torch")


def run_cli(*args, cwd=ROOT, timeout=120):
    """Run `python -m archcost ARGS` as a subprocess, as a user would."""
    env = dict(os.environ, PYTHONPATH=ROOT, COLUMNS="200")
    env.pop("ARCHCOST_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def in_root(monkeypatch):
    """Run the test from the repository root (specs given as relative paths)."""
    monkeypatch.chdir(ROOT)


def invoke_ok(*args):
    """Run archcost in-process through click.testing; it must succeed; return its output."""
    from click.testing import CliRunner

    from archcost.cli import cli

    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def golden(name, text):
    """Compare with tests/golden/NAME; ARCHCOST_UPDATE_GOLDEN=1 rewrites it."""
    path = os.path.join(ROOT, "tests", "golden", name)
    if UPDATE_GOLDEN or not os.path.exists(path):
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {name} is missing; run with ARCHCOST_UPDATE_GOLDEN=1")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    with open(path, encoding="utf-8") as handle:
        expected = handle.read()
    assert text == expected, (
        f"output differs from tests/golden/{name}. Do not regenerate it to make this pass: "
        "find the independent test that explains the change first -- the hand oracles "
        "(tests/test_layers.py, tests/test_shapes_by_hand.py), torch "
        "(tests/test_torch_backend.py::test_verify_every_builtin_spec, "
        "tests/test_all_specs.py::test_totals_equal_torch_at_full_size) or the papers' "
        "tables (archcost check). Only when one of them shows the new number is right, "
        "accept it with ARCHCOST_UPDATE_GOLDEN=1")


def load_script(*parts):
    """A script of the repository (``benchmarks/_measure.py``, ``scripts/fuzz.py``) as a
    module, loaded by path: the benchmarks and scripts are not a package."""
    import importlib.util

    path = os.path.join(ROOT, *parts)
    name = "archcost_script_" + "_".join(p.replace(".py", "") for p in parts)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def saved_storages(torch, model, *inputs) -> dict:
    """{storage pointer: (bytes, dtype)} of every tensor autograd saves for backward in one
    forward of ``model`` (torch's saved_tensors_hooks; each storage once, the model's
    parameters and buffers excluded): the oracle of the training-memory model."""
    skip = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    saved = {}

    def pack(t):
        st = t.untyped_storage()
        if st.data_ptr() not in skip:
            saved[st.data_ptr()] = (st.nbytes(), t.dtype)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(*inputs)
    return saved


def reuse_onnx_op_registry() -> None:
    """torch.onnx's dynamo exporter rebuilds its op registry from torchlib on every export:
    1.3 s of the 1.8 s a two-layer module takes. The tests export about 70 modules and never add
    an op to it (no ``custom_translation_table``, the only thing that writes to it), so one
    registry per opset serves them all; the exported files are the same. Speed only: with a
    torch whose exporter is laid out otherwise, nothing changes."""
    try:
        from torch.onnx._internal.exporter import _registration
    except ImportError:
        return
    registry = _registration.ONNXRegistry
    build = registry.from_torchlib.__func__
    if getattr(build, "archcost_reused", False):
        return
    made = {}

    def from_torchlib(cls, *args, **kwargs):
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = build(cls, *args, **kwargs)
        return made[key]

    from_torchlib.archcost_reused = True
    registry.from_torchlib = classmethod(from_torchlib)

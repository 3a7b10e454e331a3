"""`archcost import onnx`: ONNX files made here with torch.onnx.export of modules written in
the tests and of benchmarks/_torch_models.py's models; the written spec's totals equal the
original module's numel, BN running statistics and FlopCounterMode / 2 (the oracle is torch,
not the ONNX reader's own counts)."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
from torch import nn  # noqa: E402

from archcost.errors import SpecError  # noqa: E402
from archcost.importers.run import import_onnx  # noqa: E402
from archcost.spec import build  # noqa: E402

from .conftest import ROOT, run_cli  # noqa: E402
from .test_import_torch import PRIMITIVE_MODULES, oracle  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import _torch_models  # noqa: E402


def export(model, shape, path, dynamo=False):
    """BN kept (no constant folding), so the file holds what the module holds."""
    model.eval()
    kwargs = {"dynamo": True, "optimize": False} if dynamo else {"dynamo": False,
                                                                   "do_constant_folding": False}  # fmt: skip
    torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), **kwargs)
    return str(path)


def totals(text, tmp_path):
    spec = tmp_path / "from_onnx.yaml"
    spec.write_text(text)
    t = build(str(spec)).totals()
    return t["params"], t["macs"], t["buffers"]


# nn.LocalResponseNorm exports as Mul/Pad/AveragePool pieces, not as ONNX's LRN, and GELU as
# Erf arithmetic: both are unknown-op errors
ONNX_PRIMITIVES = ["conv", "bn", "pools", "linear head", "onnx activations"]
PRIMITIVE_MODULES = {**PRIMITIVE_MODULES, "onnx activations": (lambda: nn.Sequential(
    nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(), nn.Hardswish(),
    nn.Hardsigmoid(), nn.SiLU(), nn.ELU(), nn.Conv2d(3, 4, 1), nn.SiLU()), (3, 4, 4))}


@pytest.mark.parametrize("name", ONNX_PRIMITIVES)
def test_round_trip_per_primitive(name, tmp_path):
    make, shape = PRIMITIVE_MODULES[name]
    model = make()
    path = export(model, shape, tmp_path / "m.onnx")
    text, _ = import_onnx(path)
    assert totals(text, tmp_path) == oracle(model, shape)


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "mobilenet_v2"])
def test_round_trip_of_benchmark_models(name, tmp_path):
    model = _torch_models.build(name)
    path = export(model, (3, 224, 224), tmp_path / f"{name}.onnx")
    text, imported = import_onnx(path)
    assert totals(text, tmp_path) == oracle(model, (3, 224, 224))
    assert (imported.params, imported.macs, imported.buffers) == oracle(model, (3, 224, 224))


def test_dynamo_export_keeps_the_module_hierarchy(tmp_path):
    model = _torch_models.resnet18().eval()
    path = export(model, (3, 64, 64), tmp_path / "r18.onnx", dynamo=True)
    text, _ = import_onnx(path)
    assert totals(text, tmp_path) == oracle(model, (3, 64, 64))
    assert "- layer2.0: {type: basic_block_downsample, conv1_out: 128}" in text
    assert "- layer1.0: {type: basic_block, repeat: 2}" in text


def test_unknown_op_is_an_error(tmp_path):
    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, dim=1)

    path = export(Cumulative(), (3, 4, 4), tmp_path / "cumsum.onnx")
    with pytest.raises(SpecError, match="ONNX op CumSum"):
        import_onnx(path)
    result = run_cli("import", "onnx", path)
    assert result.returncode == 2 and result.stderr.startswith("error: ")


def test_cli_writes_a_spec(tmp_path):
    make, shape = PRIMITIVE_MODULES["linear head"]
    model = make()
    path = export(model, shape, tmp_path / "head.onnx")
    out = tmp_path / "head.yaml"
    result = run_cli("import", "onnx", path, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stderr and "DIFF" not in result.stderr
    assert totals(out.read_text(), tmp_path) == oracle(model, shape)


def test_missing_file():
    assert run_cli("import", "onnx", "nowhere.onnx").returncode == 2


def test_verify_against_an_onnx_file(tmp_path):
    from archcost.against import against

    model = _torch_models.resnet18().eval()
    path = export(model, (3, 64, 64), tmp_path / "r18.onnx")
    spec = tmp_path / "r18.yaml"
    # the built-in ResNet-18 (torchvision layout) at this input size, as the file holds it
    spec.write_text("extends: resnet18\nparams: {resolution: 64}\n")
    out = against(build(str(spec)), path)
    assert out["ok"], out
    assert out["weight_layers"]["matched"] == 21  # 17 convs + 3 projections + fc
    wrong = tmp_path / "r18_wrong.yaml"
    wrong.write_text("extends: resnet18\nparams: {resolution: 64, classes: 10}\n")
    out = against(build(str(wrong)), path)
    assert not out["ok"]
    assert out["divergence"].endswith("model has linear 512->1000 at fc")


# ------------------------------------------------------- the modules of every primitive

from .test_import_primitives import MODULES, torch_counts  # noqa: E402

# ONNX files hold what the exporter wrote: these primitives' modules export as pieces
# archcost does not reassemble, and their import is an error naming the ONNX node
ONNX_NOT_IMPORTED = {
    "attention": "nn.MultiheadAttention exports as sequence-first Transposes, MatMuls and "
                 "Softmax, not one attention op",
    "cross_attention": "as attention",
    "lstm": "exported behind a Transpose of the batch axis (batch_first), and the ONNX LSTM "
            "op is not mapped",
    "gru": "as lstm",
    "chunk": "SplitToSequence (dynamo) or Slice with shapes inference cannot give (legacy)",
    "groupnorm": "exported as Reshape, InstanceNormalization, Reshape",
    "lrn": "exported as Mul, Pad and AveragePool pieces, not ONNX's LRN",
    "rmsnorm": "the legacy exporter refuses aten::rms_norm; dynamo writes Pow/ReduceMean pieces",
    # issue 15's primitives; the torch importer maps them, the ONNX importer not yet
    "mean": "ReduceMean over axes other than H and W is not mapped",
    "mul_const": "Mul by a constant initializer is not mapped",
    "adaptive_avgpool1d": "dynamo writes Gather/Transpose pieces for a size that does not divide",
}
# torch.onnx.export (dynamo and legacy) cannot write these modules at all: adaptive pools to a
# size that does not divide the input
ONNX_NOT_EXPORTED = {"adaptive_avgpool3d", "adaptive_maxpool1d", "adaptive_maxpool3d"}
# the exporter whose file imports; dynamo (torch.export) unless named here
LEGACY_EXPORT = {"elu", "softplus", "space_to_depth"}


def test_every_module_is_decided_for_onnx():
    assert set(ONNX_NOT_IMPORTED) <= set(MODULES)
    assert not LEGACY_EXPORT & set(ONNX_NOT_IMPORTED)


def export_any(model, shape, path, dynamo):
    model.eval()
    dtype = torch.long if len(shape) == 1 else torch.float32
    kwargs = {"dynamo": True, "optimize": False} if dynamo else {"dynamo": False,
                                                                   "do_constant_folding": False}  # fmt: skip
    torch.onnx.export(model, (torch.zeros(1, *shape, dtype=dtype),), str(path), **kwargs)
    return str(path)


@pytest.mark.parametrize("name", sorted(set(MODULES) - set(ONNX_NOT_IMPORTED) - ONNX_NOT_EXPORTED))
def test_primitive_module_round_trip(name, tmp_path):
    make, shape = MODULES[name]
    model = make()
    path = export_any(model, shape, tmp_path / "m.onnx", dynamo=name not in LEGACY_EXPORT)
    text, _ = import_onnx(path)
    spec = tmp_path / "from_onnx.yaml"
    spec.write_text(text)
    t = build(str(spec)).totals()
    assert (t["params"], t["macs"]) == torch_counts(model, shape), text


@pytest.mark.parametrize("name", sorted(ONNX_NOT_EXPORTED))
def test_primitive_module_not_exported(name, tmp_path):
    make, shape = MODULES[name]
    for dynamo in (True, False):
        with pytest.raises(Exception):  # noqa: B017 - torch's exporters raise several kinds
            export_any(make(), shape, tmp_path / "m.onnx", dynamo=dynamo)


@pytest.mark.parametrize("name", sorted(ONNX_NOT_IMPORTED))
def test_primitive_module_not_imported_is_an_error(name, tmp_path):
    make, shape = MODULES[name]
    model = make()
    path = export_any(model, shape, tmp_path / "m.onnx", dynamo=True)
    with pytest.raises(SpecError, match="archcost has no primitive for"):
        import_onnx(path)


def test_tied_embedding_in_an_onnx_file(tmp_path):
    class TiedLM(nn.Module):
        """Token embedding, a layer norm, and a head whose weight is the embedding's table."""

        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(30, 8)
            self.ln = nn.LayerNorm(8)
            self.head = nn.Linear(8, 30, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, ids):
            return self.head(self.ln(self.wte(ids)))

    model = TiedLM()
    path = export_any(model, (6,), tmp_path / "tied.onnx", dynamo=True)
    text, _ = import_onnx(path)
    spec = tmp_path / "tied.yaml"
    spec.write_text(text)
    t = build(str(spec)).totals()
    # by hand: the table once (30 x 8) and the LN (2 x 8); the head multiplies 6 x 8 x 30
    assert (t["params"], t["macs"]) == (30 * 8 + 16, 6 * 8 * 30) == torch_counts(model, (6,))
    assert "input: {ids: [6]}" in text and "tied: true" in text

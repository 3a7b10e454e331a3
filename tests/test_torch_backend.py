"""The torch backend, verify/bench commands and BN folding.

Static tests (fold.py, no-torch error, the static path never importing torch) run anywhere;
the rest skip without torch (``needs_torch``), except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from archcost import layers as L
from archcost.commands._common import TORCH_MISSING
from archcost.errors import SpecError
from archcost.fold import fold_bn, foldable_pairs
from archcost.spec import build, builtin_names

from .conftest import require_torch


@pytest.fixture
def needs_torch():
    return require_torch()  # in CI (CI=true) a torch that fails to import fails, never skips


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


# Every path below is hand-checked in the comments next to it.
MIXED = """
    name: mixed
    input: [3, 16, 16]
    layers:
      # 'same', stride 2 on 16: out ceil(16/2) = 8; total pad (8-1)*2 + 3 - 16 = 1 -> top 0,
      # bottom 1 (asymmetric). params 3*3*3*8 + 8 = 224; MACs 216 * 8*8 = 13,824
      - stem:    {type: conv, out: 8, k: 3, s: 2, p: same}
      # ceil rule on 8: ceil((8-3)/2) + 1 = 4 (floor would give 3)
      - pool:    {type: maxpool, k: 3, s: 2, ceil: true}
      # groups 4: 3*3*(8/4)*16 + 16 = 304 params; MACs 288 * 4*4 = 4,608
      - grp:     {type: conv, out: 16, k: 3, p: 1, g: 4}
      # 8*16 + 16 = 144 params; MACs 128 * 16 = 2,048
      - proj:    {type: conv, out: 16, k: 1, in: pool}
      - sum:     {type: add, in: [grp, proj]}
      - squeeze: {type: global_avgpool}
      - fc1:     {type: conv, out: 4, k: 1, act: relu}      # 64 + 4 = 68; MACs 64
      - fc2:     {type: conv, out: 16, k: 1, act: sigmoid}  # 64 + 16 = 80; MACs 64
      - gated:   {type: scale, in: [sum, fc2]}
      - cat:     {type: concat, in: [gated, sum]}            # 32 x 4 x 4
      # 'same' k3 s2 on 4: out 2, total pad 2 + 3 - 4 = 1 -> (0, 1): a -inf pre-pad
      - spool:   {type: maxpool, k: 3, s: 2, p: same}
      # ceil on 2 with p 1: ceil((2+2-3)/2) + 1 = 2; last window starts at 2 < 2+1, kept
      - apool:   {type: avgpool, k: 3, s: 2, p: 1, ceil: true}
      - adapt:   {type: adaptive_avgpool, size: [3, 3]}
      # 32*3*3 = 288 features: 2,880 + 10 = 2,890 params; MACs 2,880
      - head:    {type: linear, out: 10}
"""
MIXED_PARAMS = 224 + 304 + 144 + 68 + 80 + 2890  # = 3,710
MIXED_MACS = 13824 + 4608 + 2048 + 64 + 64 + 2880  # = 23,488

CBR = """
    name: cbr
    input: [3, 12, 12]
    layers:
      - conv1: {type: conv, out: 8, k: 3, p: 1, bias: false, bn: true, act: relu}
      - conv2: {type: conv, out: 8, k: 3, s: 2, p: 1, bn: true, act: relu}
      - fc:    {type: linear, out: 10, bn: true}
"""
# conv1: 3*3*3*8 = 216 weights, no bias; BN 2*8 params + 2*8 buffers
# conv2: 3*3*8*8 = 576 + 8 bias; BN 16 + 16
# fc: (8*6*6 = 288) * 10 = 2,880 + 10 bias; BN1d 2*10 params + 20 buffers
CBR_PARAMS = 216 + 16 + 584 + 16 + 2890 + 20  # = 3,742
CBR_BUFFERS = 16 + 16 + 20  # = 52
# folded: conv1 gains a bias of 8; conv2 and fc keep theirs; all BN params and buffers go
CBR_FOLDED_PARAMS = 224 + 584 + 2890  # = 3,698
CBR_MACS = 216 * 144 + 576 * 36 + 2880  # = 54,720, unchanged by folding


# ---------------------------------------------------------------- static folding (no torch)


def test_fold_static_counts(tmp_path):
    net = build(write(tmp_path, "cbr", CBR))
    assert net.total("params") == CBR_PARAMS
    assert net.total("buffers") == CBR_BUFFERS
    folded = fold_bn(net)
    assert folded.meta["folded_bn"] == {"conv1": "conv1/bn", "conv2": "conv2/bn", "fc": "fc/bn"}
    assert [n.op for n in folded.nodes] == ["conv", "relu", "conv", "relu", "linear"]
    assert folded.total("params") == CBR_FOLDED_PARAMS
    assert folded.total("buffers") == 0
    assert folded.total("macs") == net.total("macs") == CBR_MACS
    conv1 = folded.nodes[0]
    assert (conv1.fields["bias"], conv1.bias) == (True, 8)
    # conv1 had no bias: its BN's 2 ops per element (2 * 8*12*12 = 2,304) become
    # 8*12*12 = 1,152 bias adds. conv2 and fc had biases: their BN's ops just vanish
    # (2 * 8*6*6 = 576 and 2 * 10 = 20).
    assert folded.total("ops") == net.total("ops") - 2304 + 1152 - 576 - 20
    # rows keep ids and order; the original network is untouched
    assert [r.id for r in folded.rows] == [r.id for r in net.rows]
    assert folded.row("fc").output is folded.nodes[-1]
    assert net.total("params") == CBR_PARAMS and len(net.nodes) == 8
    assert all(n.row in folded.rows for n in folded.nodes)


def test_fold_skips_bn_whose_conv_has_other_readers(tmp_path):
    spec = write(
        tmp_path,
        "shared",
        """
        input: [4, 8, 8]
        layers:
          - c:   {type: conv, out: 4, k: 1}
          - n:   {type: bn}
          - sum: {type: add, in: [c, n]}
          - c2:  {type: conv, out: 4, k: 1, bias: false}
          - n2:  {type: bn}
    """,
    )
    net = build(spec)
    # c is read by n and by sum: folding n would lose c's raw value. c2 -> n2 folds, and the
    # bn row n2 stays as an empty row whose output is the absorbing conv.
    assert foldable_pairs(net) == {"c2": "n2"}
    folded = fold_bn(net)
    assert folded.row("n2").nodes == [] and folded.row("n2").output.id == "c2"
    assert folded.total("params") == net.total("params") - 8 + 4  # BN gamma/beta -> 4 biases


def test_static_path_never_imports_torch():
    code = ("import sys; import archcost.spec, archcost.fold, archcost.commands.verify, "
            "archcost.commands.bench; archcost.spec.build('googlenet'); "
            "assert 'torch' not in sys.modules, 'torch imported'")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_torch_is_a_one_line_error(monkeypatch):
    from archcost.commands import bench, verify

    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    for cmd in (verify.command, bench.command):
        result = CliRunner().invoke(cmd, ["googlenet"])
        assert result.exit_code == 2, result.output
        assert result.stderr == f"error: {TORCH_MISSING}\n"
        assert "pip install 'archcost[torch]'" in result.stderr and "whl/cpu" in result.stderr


# ---------------------------------------------------------------- the module


def test_every_primitive_has_a_factory(needs_torch):
    from archcost.torch_backend import FACTORIES

    missing = set(L.PRIMITIVES) - set(FACTORIES)
    assert not missing, f"primitives without a torch factory: {sorted(missing)}"


def test_build_module_output_shapes_googlenet(needs_torch):
    torch = needs_torch
    from archcost.torch_backend import build_module

    net = build("googlenet", train=True)
    model = build_module(net).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert tuple(model(x).shape) == (2, *net.output_shape) == (2, 1000)
        model.train()  # training mode returns the aux heads' outputs too
        main, aux = model(x)
    assert tuple(main.shape) == (2, 1000)
    assert [tuple(a.shape) for a in aux] == [(2, 1000), (2, 1000)]
    assert len(model.names) == len(net.nodes)


def test_module_names_are_sanitised_and_unique(needs_torch, tmp_path):
    from archcost.torch_backend import build_module

    spec = write(
        tmp_path,
        "names",
        """
        input: [3, 8, 8]
        layers:
          - conv 3x3/1: {out: 4, k: 3, p: 1}
          - conv 3x3.1: {out: 4, k: 3, p: 1}
          - train: {type: relu}
    """,
    )
    model = build_module(build(spec))
    # '/', ' ', '.' become '_'; the second id collides and gets a suffix; 'train' is an
    # nn.Module method, so its node gets a suffix too
    assert list(model.names.values()) == ["conv_3x3_1", "conv_3x3_1_2", "train_2"]


def test_mixed_primitives_verify(needs_torch, tmp_path):
    from archcost.commands.verify import run_verify

    net = build(write(tmp_path, "mixed", MIXED))
    out = run_verify(net)
    assert out["ok"], [r for r in out["rows"] if not r["ok"]]
    assert out["static"]["params"] == out["torch"]["params"] == MIXED_PARAMS
    assert out["static"]["macs"] == out["torch"]["macs"] == MIXED_MACS
    shapes = {r["node"]: tuple(r["torch"]["shape"]) for r in out["rows"]}
    assert shapes["pool"] == (8, 4, 4)  # the ceil rule, in torch too
    assert shapes["spool"] == (32, 2, 2) and shapes["adapt"] == (32, 3, 3)


def test_same_padding_is_asymmetric_like_tensorflow(needs_torch, tmp_path):
    torch = needs_torch
    import torch.nn.functional as F

    from archcost.torch_backend import build_module

    model = build_module(build(write(tmp_path, "mixed", MIXED))).eval()
    stem, spool = model.module_for("stem"), model.module_for("spool")
    assert stem.pre_pad == (0, 1, 0, 1)  # (left, right, top, bottom): the odd pixel at the end
    assert spool.pre_pad == (0, 1, 0, 1)
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expect = F.conv2d(F.pad(x, (0, 1, 0, 1)), stem.weight, stem.bias, stride=2)
        assert torch.equal(stem(x), expect)
        # max pool pads with -inf: an all-negative map must not pick up a padded 0
        neg = -1 - torch.rand(1, 32, 4, 4)
        assert (spool(neg) < 0).all()


def test_large_padding_with_ceil_matches_static(needs_torch, tmp_path):
    from archcost.commands.verify import run_verify

    spec = write(
        tmp_path,
        "pads",
        """
        input: [2, 6, 6]
        layers:
          # p 2 > k//2: torch's pool can't pad that, so it is padded explicitly.
          # ceil: ceil((6+4-3)/2) + 1 = 5, but window 5 would start at 8 >= 6+2 -> 4
          - a: {type: maxpool, k: 3, s: 2, p: 2, ceil: true}
          # on 4: ceil((4+4-3)/2) + 1 = 4; start 6 >= 4+2 -> 3
          - b: {type: avgpool, k: 3, s: 2, p: 2, ceil: true}
    """,
    )
    net = build(spec)
    assert [n.shape for n in net.nodes] == [(2, 4, 4), (2, 3, 3)]
    assert run_verify(net)["ok"]


def test_inplace_only_where_safe(needs_torch, tmp_path):
    torch = needs_torch
    from archcost.torch_backend import build_module

    spec = write(
        tmp_path,
        "alias",
        """
        input: [2, 4, 4]
        layers:
          - c:   {type: conv, out: 2, k: 1, act: relu}   # the conv is read by its relu only
          - h:   {type: hardswish}                        # reads c/relu, which sum reads too
          - sum: {type: add, in: [c, h]}
    """,
    )
    model = build_module(build(spec)).eval()
    assert model.inplace == {"c": False, "c/relu": True, "h": False, "sum": False}
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        c = torch.relu(model.module_for("c")(x))
        # an in-place hardswish would overwrite c and give 2 * hardswish(c) instead
        assert torch.allclose(model(x), c + torch.nn.functional.hardswish(c))

    first = build_module(
        build(
            write(
                tmp_path,
                "first",
                """
        input: [2, 4, 4]
        layers: [relu]
    """,
            )
        )
    )
    assert first.inplace == {"relu": False}  # never overwrite the caller's tensor
    x_copy = x.clone()
    with torch.no_grad():
        first(x)
    assert torch.equal(x, x_copy)


def test_verify_command_googlenet(needs_torch):
    from archcost.commands.verify import command

    result = CliRunner().invoke(command, ["googlenet", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] and out["rows"] == []  # only differing rows without --all
    # 6,998,552 params and 1,582,671,872 MACs: GoogLeNet as archcost counts it (5x5 convs, LRN,
    # biases), equal to torch's numel and FlopCounterMode/2
    assert {k: out["static"][k] for k in ("params", "macs", "buffers")} == {
        "params": 6998552, "macs": 1582671872, "buffers": 0}
    assert out["torch"]["params"] == 6998552 and out["torch"]["macs"] == 1582671872
    assert out["torch"]["activations"] == out["static"]["activations"]


def test_verify_command_googlenet_train(needs_torch):
    from archcost.commands.verify import command

    result = CliRunner().invoke(command, ["googlenet", "--train", "--all", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    net = build("googlenet", train=True)
    assert out["ok"] and len(out["rows"]) == len(net.nodes)
    aux = [r for r in out["rows"] if r["row"] in ("aux 1", "aux 2")]
    # each aux head: conv 1x1 512|528 -> 128 (+128 bias), fc 2048 -> 1024, fc 1024 -> 1000
    assert sum(r["torch"]["params"] for r in aux) == (
        (512 * 128 + 128) + (528 * 128 + 128) + 2 * (2048 * 1024 + 1024 + 1024 * 1000 + 1000)
    )
    assert out["torch"]["params"] == 13378280 == net.total("params")


def test_verify_reports_a_difference(needs_torch, tmp_path, monkeypatch):
    from archcost import torch_backend
    from archcost.commands.verify import command

    spec = write(tmp_path, "mixed", MIXED)
    real = torch_backend.FACTORIES["conv"]
    # a deliberately wrong factory (no bias) must make verify fail with exit 1
    monkeypatch.setitem(
        torch_backend.FACTORIES,
        "conv",
        lambda node, inplace, shapes: real(
            type(node)(
                node.id,
                node.op,
                node.inputs,
                {**node.fields, "bias": False},
                L.Cost(node.shape),
                node.row,
                node.line,
            ),
            inplace,
            shapes,
        ),
    )
    result = CliRunner().invoke(command, [spec, "--format", "json"])
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert not out["ok"] and {r["node"] for r in out["rows"]} >= {"stem", "grp", "proj"}
    assert out["torch"]["params"] == MIXED_PARAMS - (8 + 16 + 16 + 4 + 16)  # conv biases gone


def test_verify_text_and_resolution_errors(needs_torch):
    from archcost.commands.verify import command

    result = CliRunner().invoke(command, ["googlenet"])
    assert result.exit_code == 0 and "OK" in result.stdout and "1,582,671,872" in result.stdout
    result = CliRunner().invoke(command, ["googlenet", "--resolution", "112"])
    assert result.exit_code == 2 and result.stderr.startswith("error: --resolution: googlenet")
    result = CliRunner().invoke(command, ["googlenet", "--set", "nope"])
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.stderr


def test_fold_bn_numerics_and_counts(needs_torch, tmp_path):
    torch = needs_torch
    from archcost.commands.verify import command
    from archcost.torch_backend import build_module, check_fold, fold_module, randomise_bn

    spec = write(tmp_path, "cbr", CBR)
    result = CliRunner().invoke(command, [spec, "--fold-bn", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["torch"]["params"] == CBR_PARAMS and out["torch"]["buffers"] == CBR_BUFFERS
    assert out["torch"]["num_batches_tracked"] == 3  # one int64 counter per BN, apart
    fold = out["fold_bn"]
    assert fold["ok"] and fold["folded"] == 3 and fold["outputs"]["ok"]
    assert {k: fold["static"][k] for k in ("params", "macs", "buffers")} == {
        "params": CBR_FOLDED_PARAMS, "macs": CBR_MACS, "buffers": 0}
    assert fold["torch"]["params"] == CBR_FOLDED_PARAMS and fold["torch"]["macs"] == CBR_MACS

    # the numerical check can fail: a fold that forgets the running mean disagrees
    net = build(spec)
    model = build_module(net)
    randomise_bn(model)
    _, folded = fold_module(model, net)
    assert check_fold(model, folded)["ok"]
    with torch.no_grad():
        bn = model.module_for("conv1/bn")
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        folded.module_for("conv1").bias.copy_(bn.bias)  # (0 - mean) * scale term left out
        assert scale.abs().min() > 0 and bn.running_mean.abs().max() > 0
    assert not check_fold(model, folded)["ok"]


@pytest.mark.parametrize("torch_missing", [False, True])
def test_commands_under_the_main_cli(monkeypatch, capsys, torch_missing):
    """Registered in archcost.cli.COMMANDS (as main's cli.py will), errors and exit codes
    come through the main CLI's handler."""
    from archcost import cli

    if not torch_missing:
        require_torch()
    monkeypatch.setitem(cli.COMMANDS, "verify", "archcost.commands.verify")
    monkeypatch.setitem(cli.COMMANDS, "bench", "archcost.commands.bench")
    if torch_missing:
        monkeypatch.setitem(sys.modules, "torch", None)
        with pytest.raises(SystemExit) as exit_:
            cli.main(["bench", "googlenet"])
        assert exit_.value.code == 2
        assert capsys.readouterr().err == f"error: {TORCH_MISSING}\n"
        return
    with pytest.raises(SystemExit) as exit_:
        cli.main(["verify", "googlenet", "--format", "json"])
    assert exit_.value.code == 0 and json.loads(capsys.readouterr().out)["ok"]
    with pytest.raises(SystemExit) as exit_:
        cli.main(["verify", "googlenet", "--resolution", "100"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.startswith("error: --resolution: googlenet has no")


def test_cuda_without_gpu_is_a_one_line_error(needs_torch, monkeypatch):
    torch = needs_torch
    from archcost.commands import bench, verify

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for cmd in (verify.command, bench.command):
        result = CliRunner().invoke(cmd, ["googlenet", "--device", "cuda"])
        assert result.exit_code == 2
        assert result.stderr.startswith("error: --device cuda: no CUDA GPU")
        assert result.stderr.count("\n") == 1


# ---------------------------------------------------------------- bench


def test_bench_smoke_json(needs_torch):
    from archcost.commands.bench import RESULT_KEYS, command

    args = ["googlenet", "--batch", "1", "--warmup", "1", "--repeat", "2", "--format", "json"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["network"] == "googlenet" and out["macs"] == 1582671872
    assert {"device_name", "torch", "threads", "memory_method"} <= set(out["environment"])
    (row,) = out["results"]
    assert set(RESULT_KEYS) <= set(row)
    assert (row["network"], row["device"], row["dtype"], row["batch"], row["status"]) == (
        "googlenet",
        "cpu",
        "float32",
        1,
        "ok",
    )
    assert row["min_ms"] <= row["median_ms"] <= row["p90_ms"]
    # throughput and TFLOP/s follow from the median: batch / s and 2 * MACs * batch / s
    seconds = row["median_ms"] / 1e3
    assert row["throughput"] == pytest.approx(1 / seconds)
    assert row["tflops"] == pytest.approx(2 * 1582671872 / seconds / 1e12)
    assert isinstance(row["peak_memory_bytes"], int) and row["peak_memory_bytes"] >= 0


def test_bench_oom_is_reported_and_the_next_batch_runs(needs_torch, monkeypatch, tmp_path):
    torch = needs_torch
    from archcost import torch_backend
    from archcost.commands.bench import command

    real = torch_backend._time_one

    def fake(runner, shape, dev, dtype, fmt, batch, *rest):
        if batch == 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 1 TiB")
        return real(runner, shape, dev, dtype, fmt, batch, *rest)

    monkeypatch.setattr(torch_backend, "_time_one", fake)
    spec = write(tmp_path, "mixed", MIXED)
    args = [spec, "--batch", "1,2,3", "--warmup", "0", "--repeat", "1", "--format", "json"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    assert [(r["batch"], r["status"]) for r in rows] == [(1, "ok"), (2, "oom"), (3, "ok")]
    assert rows[1]["median_ms"] is None and rows[2]["median_ms"] is not None


def test_percentile_interpolates():
    require_torch()
    from archcost.torch_backend import _percentile

    # ranks 0..4 of [1, 2, 3, 4, 10]: p90 sits at rank 3.6 -> 4 + 0.6 * (10 - 4) = 7.6
    assert _percentile([10, 1, 3, 2, 4], 0.9) == pytest.approx(7.6)
    assert _percentile([5.0], 0.9) == 5.0


# ---------------------------------------------------------------- every built-in spec

SMALL_RESOLUTIONS = (32, 64, 96, 128, 160, 192, 224)
# sequence lengths where length adds nothing to the check (every layer still runs)
SMALL_LENGTHS = {"seq_len": 32, "steps": 20}
# above this many params a real CPU module is gigabytes: verify on the meta device (torch's
# shapes and FlopCounterMode's counts, nothing computed)
META_ABOVE_PARAMS = 200_000_000


def _small(arg, train):
    """Build ``arg`` at the smallest listed resolution it accepts, when it has the parameter,
    and with short sequences (SMALL_LENGTHS)."""
    net = build(arg, train=train)
    params = dict(net.meta.get("params") or {})
    short = {k: v for k, v in SMALL_LENGTHS.items() if k in params and net.params[k] > v}
    if short:
        net = build(arg, params=short, train=train)
    if "resolution" not in params:
        return net
    for res in SMALL_RESOLUTIONS:
        if res >= net.params["resolution"]:
            break
        try:
            return build(arg, params={**short, "resolution": res}, train=train)
        except SpecError:
            continue
    return net


def _builtin_cases():
    """Every built-in spec and variant; a spec that does not build is a case too (it fails
    in the test, never silently drops out of the list)."""
    cases = []
    for name in builtin_names():
        try:
            variants = build(name).meta["variants"]
        except SpecError:
            variants = ()
        for arg in [name, *(f"{name}:{v}" for v in variants)]:
            cases.append(arg)
    return cases


@pytest.mark.parametrize("arg", _builtin_cases())
def test_verify_every_builtin_spec(needs_torch, arg):
    from archcost.commands.verify import run_verify

    for train in (False, True):
        net = _small(arg, train)
        if train and not any(r.train_only for r in net.rows):
            continue
        device = "meta" if net.total("params") > META_ABOVE_PARAMS else "cpu"
        # networks with batch norm also fold it (once): outputs and folded counts must agree
        fold = device == "cpu" and not train and any(n.op == "bn" for n in net.nodes)
        out = run_verify(net, device, fold_bn=fold)
        rows = out["rows"] + out.get("fold_bn", {}).get("rows", [])
        bad = [(r["node"], r["differs"], r["static"], r["torch"]) for r in rows
               if not r["ok"]][:5]  # fmt: skip
        assert out["ok"], (arg, train, out["static"], out["torch"], bad)


def test_bench_budget_times_one_pass_then_skips(needs_torch, tmp_path):
    from archcost.commands.bench import command

    spec = write(tmp_path, "mixed", MIXED)
    args = [spec, "--batch", "1,2", "--repeat", "5", "--budget", "0.000001", "--format", "json"]
    result = CliRunner().invoke(command, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["results"]
    # the budget is spent at once: batch 1 still times one pass, batch 2 never starts
    assert [(r["batch"], r["status"], r["passes"]) for r in rows] == [(1, "ok", 1),
                                                                       (2, "skipped", 0)]
    assert rows[0]["median_ms"] == rows[0]["min_ms"] and rows[1]["median_ms"] is None


def test_bench_cpu_defaults(needs_torch, tmp_path):
    from archcost.commands.bench import command

    result = CliRunner().invoke(command, [write(tmp_path, "mixed", MIXED), "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert (out["warmup"], out["repeat"], out["budget_s"]) == (1, 5, 45.0)
    assert [(r["batch"], r["passes"]) for r in out["results"]] == [(1, 5), (8, 5)]


USER_PRIM = """
    input: [3, 8, 8]
    primitives:
      mystery:
        args: [out]
        shape: [out, in_h, in_w]
        params: 1000
        macs: 5000
    layers:
      - conv1: {type: conv, out: 4, k: 3, p: 1}     # 3*3*3*4 + 4 = 112 params; 108 * 64 MACs
      - odd:   {type: mystery, out: 6}
      - head:  {type: linear, out: 2}               # 6*8*8*2 + 2 = 770 params; 768 MACs
"""


def test_verify_leaves_user_primitives_unchecked_and_says_so(needs_torch, tmp_path):
    from archcost.commands.verify import command

    spec = write(tmp_path, "user", USER_PRIM)
    result = CliRunner().invoke(command, [spec, "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["unchecked"] == ["odd"]
    # the declared 1,000 params and 5,000 MACs are left out of the compared totals
    assert out["static"]["params"] == out["torch"]["params"] == 112 + 770
    assert out["static"]["macs"] == out["torch"]["macs"] == 108 * 64 + 768
    text = CliRunner().invoke(command, [spec])
    assert text.exit_code == 0 and "not checked by torch" in text.stdout


TOKENS = """
    input: [3, 32, 32]
    layers:
      - patches: {type: patchify, p: 8}                 # (32/8)^2 = 16 tokens of 8*8*3 = 192
      - embed:   {type: linear, out: 24}                # per token: 192*24 + 24 = 4,632 params
      - cls:     {type: parameter, shape: [1, 24], layout: tokens}
      - seq:     {type: concat, in: [cls, embed]}       # 17 tokens
      - pos:     {type: parameter, shape: [17, 24], layout: tokens}
      - x:       {type: add, in: [seq, pos]}
      - ln:      {type: layernorm}                      # 2*24 = 48 params
      - attn:    {type: attention, heads: 4}            # 4*24*24 + 4*24 = 2,400 params
      - out:     {type: linear, out: 10}                # per token: 24*10 + 10 = 250
"""
# MACs by hand: embed 16*192*24 = 73,728; attention projections 4*17*24*24 = 39,168,
# QK^T and AV 2*17*17*24 = 13,872; out 17*24*10 = 4,080
TOKENS_MACS = 73728 + 39168 + 13872 + 4080
TOKENS_PARAMS = 4632 + 24 + 17 * 24 + 48 + 2400 + 250


def test_verify_tokens_attention_and_learned_tensors(needs_torch, tmp_path):
    from archcost.commands.verify import run_verify

    out = run_verify(build(write(tmp_path, "tokens", TOKENS)))
    assert out["ok"], [r for r in out["rows"] if not r["ok"]]
    assert out["torch"]["macs"] == TOKENS_MACS and out["torch"]["params"] == TOKENS_PARAMS
    shapes = {r["node"]: r["torch"]["shape"] for r in out["rows"]}
    assert shapes["seq"] == [17, 24] and shapes["attn"] == [17, 24]


def test_attention_module_counts_every_mac(needs_torch):
    """The explicit attention module against FlopCounterMode, by hand: projections
    4*L*D^2 and QK^T + AV 2*L^2*D (nn.MultiheadAttention's fused path would show none)."""
    torch = needs_torch
    from torch.utils.flop_counter import FlopCounterMode

    from archcost.torch_modules import Attention

    length, dim = 10, 16
    mod = Attention(dim, dim, 4, dim, dim, dim, True, True, causal=True).eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        mod(torch.randn(1, length, dim))
    assert counter.get_total_flops() == 2 * (4 * length * dim * dim + 2 * length * length * dim)

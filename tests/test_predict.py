"""Latency model (archcost.latency, `archcost predict`, `archcost calibrate`): roofline arithmetic
by hand, device profiles and their file:line errors, and a CPU smoke test against torch."""

import json
import os
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from archcost import latency as LT
from archcost.cli import cli
from archcost.errors import TORCH_MISSING, SpecError
from archcost.spec import build

from .conftest import ROOT, load_script, require_torch, run_cli

SPECS = os.path.join(ROOT, "tests", "specs")
MLP = os.path.join(SPECS, "mem_mlp.yaml")


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def write_profile(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


SIMPLE = """name: simple
kind: cpu
peak_macs_per_s: {float32: PEAK}
memory_bandwidth: 1.0e+9
"""


# ---------------------------------------------------------------- roofline by hand


def test_roofline_by_hand_memory_bound(tmp_path):
    # mem_mlp at batch 4, float32, on 1 GMAC/s and 1 GB/s (so bytes = nanoseconds):
    # fc1: 16*32*4 = 2048 MACs (2.048 us); bytes = input 16*4*4 + output 32*4*4 + 544 params*4
    #      = 256 + 512 + 2176 = 2944 (2.944 us) -> memory-bound, 2.944 us
    # relu: reads and writes 32*4 floats = 1024 B -> 1.024 us
    # fc2: 1024 MACs (1.024 us); bytes 512 + 128 + 264*4 = 1696 -> memory-bound, 1.696 us
    prof = LT.load_profile(write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9")))
    pred = LT.predict(build(MLP), prof, batch=4, dtype="float32")
    assert [t.macs for t in pred.layers] == [2048, 0, 1024]
    assert [t.bytes for t in pred.layers] == [2944, 1024, 1696]
    assert [t.bound for t in pred.layers] == ["memory", "memory", "memory"]
    assert pred.seconds == pytest.approx((2944 + 1024 + 1696) * 1e-9)
    assert pred.layers[0].intensity == pytest.approx(2048 / 2944)
    assert pred.tflops == pytest.approx(2 * 3072 / pred.seconds / 1e12)


def test_roofline_by_hand_compute_bound(tmp_path):
    # the same at 0.5 GMAC/s: fc1 2048 / 0.5e9 = 4.096 us > 2.944 -> compute-bound;
    # fc2 1024 / 0.5e9 = 2.048 us > 1.696 -> compute-bound; relu stays 1.024 us (memory).
    # With layer_overhead_s 1 us on a cpu profile every layer pays it once more.
    text = SIMPLE.replace("PEAK", "0.5e+9") + "layer_overhead_s: 1.0e-6\n"
    pred = LT.predict(build(MLP), LT.load_profile(write_profile(tmp_path, text)), 4, "float32")
    assert [t.bound for t in pred.layers] == ["compute", "memory", "compute"]
    assert pred.seconds == pytest.approx((4.096 + 1.024 + 2.048 + 3) * 1e-6)
    # a cuda profile queues kernels asynchronously: the host issues layer i at i us (1 us each),
    # the device starts it at max(end of the previous layer, i us): fc1 waits 1 us for its
    # launch and runs 1-5.096 us; relu and fc2 were issued at 2 and 3 us, long before the
    # device is free, so they follow back to back: 5.096 + 1.024 + 2.048 = 8.168 us
    cuda = LT.load_profile(write_profile(tmp_path, text.replace("kind: cpu", "kind: cuda")))
    pred = LT.predict(build(MLP), cuda, 4, "float32")
    assert pred.seconds == pytest.approx(8.168e-6)
    assert [t.idle_s for t in pred.layers] == pytest.approx([1e-6, 0, 0])


def test_efficiency_and_window_ops(tmp_path):
    # efficiency 0.5 halves both rates: fc1 compute 4.096 us, memory 5.888 us -> memory
    text = SIMPLE.replace("PEAK", "1.0e+9") + "efficiency: {compute: 0.5, memory: 0.5}\n"
    pred = LT.predict(build(MLP), LT.load_profile(write_profile(tmp_path, text)), 4, "float32")
    assert pred.layers[0].compute_s == pytest.approx(4.096e-6)
    assert pred.layers[0].memory_s == pytest.approx(5.888e-6)
    # window_ops_per_s: a max pool's comparisons bound its time when they are slower
    net = build(os.path.join(SPECS, "mem_branch.yaml"))
    slow = LT.load_profile(write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9")
                                         + "window_ops_per_s: 1.0e+6\n", "slow.yaml"))  # fmt: skip
    pool = next(t for t in LT.predict(net, slow, 1, "float32").layers if t.node.id == "b3")
    # 8 comparisons per output element, 512 outputs: 4096 ops / 1e6 per s
    assert pool.compute_s == pytest.approx(4096 / 1e6) and pool.bound == "compute"
    # maxpool bytes: input 512 + output 512 floats + int64 indices 512 * 8
    assert pool.bytes == (512 + 512) * 4 + 512 * 8


def test_grouped_convolutions_use_their_own_rate(tmp_path):
    # a depthwise 3x3 conv on 4x8x8: MACs = 9 * (4/4) * 4 * 64 = 2304 per sample. With
    # grouped_peak_macs_per_s 1e6 it takes 2.304 ms (compute-bound); without it, the dense
    # 1e9 MAC/s rate: 2.304 us, and the bytes (input 256 + output 256 floats + 36 weights and
    # 4 biases = 2208 B at 1 GB/s = 2.208 us) make it barely compute-bound too.
    path = tmp_path / "dw.yaml"
    path.write_text("input: [4, 8, 8]\nlayers:\n  - dw: {type: conv, out: 4, k: 3, p: 1, g: 4}\n")
    net = build(str(path))
    dense = LT.load_profile(write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9")))
    grouped = LT.load_profile(write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9")
                                            + "grouped_peak_macs_per_s: {float32: 1.0e+6}\n",
                                            "g.yaml"))  # fmt: skip
    assert LT.predict(net, dense, 1, "float32").layers[0].compute_s == pytest.approx(2.304e-6)
    t = LT.predict(net, grouped, 1, "float32").layers[0]
    assert t.compute_s == pytest.approx(2.304e-3) and t.bytes == 2208 and t.bound == "compute"
    # linear layers and dense convolutions keep the dense rate
    assert LT.predict(build(MLP), grouped, 4, "float32").layers[0].compute_s == \
        pytest.approx(2048 / 1e9)  # fmt: skip


def test_views_move_nothing():
    net = build("googlenet")
    pred = LT.predict(net, LT.load_profile("h100"), 8, "float32")
    dropout = next(t for t in pred.layers if t.node.op == "dropout")
    assert dropout.bytes == 0 and dropout.seconds == 0


# ---------------------------------------------------------------- shipped profiles


def test_datasheet_profiles():
    h100, a100 = LT.load_profile("h100"), LT.load_profile("a100")
    assert h100.kind == a100.kind == "cuda"
    # H100 SXM dense: BF16 989 TFLOP/s = 494.5 TMAC/s; TF32 494.5 TFLOP/s; FP32 67; 3.35 TB/s
    assert h100.macs_per_s("bfloat16", "conv") == 494.5e12
    assert h100.macs_per_s("float32", "conv") == 247.25e12
    assert h100.macs_per_s("float32", "linear") == 33.5e12
    assert h100.macs_per_s("bfloat16", "linear") == 494.5e12
    assert h100.bandwidth == 3.35e12
    # A100 SXM 80GB: BF16 312, TF32 156, FP32 19.5 TFLOP/s; 2,039 GB/s
    assert a100.macs_per_s("bfloat16", "conv") == 156e12
    assert a100.macs_per_s("float32", "conv") == 78e12
    assert a100.macs_per_s("float32", "linear") == 9.75e12
    assert a100.bandwidth == 2.039e12
    with pytest.raises(SpecError, match="no peak for dtype int8"):
        h100.macs_per_s("int8", "conv")


# ---------------------------------------------------------------- profile errors (file:line)


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("kind: cpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: 1.0e+9\nbandwith: 3\n",
         4, "unknown profile key 'bandwith'; did you mean 'memory_bandwidth'?"),
        ("kind: cpu\npeak_macs_per_s:\n  float32: 1.0e+9\n  fp8: 2.0e+9\nmemory_bandwidth: 1\n",
         4, "unknown dtype 'fp8'"),
        ("kind: cpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: -5\n",
         3, "memory_bandwidth must be greater than 0"),
        ("kind: cpu\npeak_macs_per_s: {float32: fast}\nmemory_bandwidth: 1\n",
         2, "peak_macs_per_s.float32: expected a number, got 'fast'"),
        ("kind: tpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: 1\n",
         1, "kind: expected one of cuda, cpu"),
        ("kind: cpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: 1\n"
         "efficiency:\n  compute: 1.5\n", 5, "efficiency.compute must be in (0, 1]"),
        ("kind: cpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: 1\nkind: cuda\n",
         4, "duplicate key 'kind' (first at line 1)"),
        ("# a comment\nkind: cpu\nmemory_bandwidth: 1\n", 2, "the profile needs 'peak_macs_per_s'"),
        ("kind: cpu\npeak_macs_per_s: [1, 2]\nmemory_bandwidth: 1\n",
         2, "'peak_macs_per_s' must be a mapping"),
        ("kind: cpu\npeak_macs_per_s: {float32: 1.0e+9}\nmemory_bandwidth: !!python/none 1\n",
         3, "is not allowed"),
    ],
)
def test_profile_errors_name_file_and_line(tmp_path, text, line, message):
    path = write_profile(tmp_path, text, "bad.yaml")
    with pytest.raises(SpecError) as info:
        LT.load_profile(path)
    err = info.value
    assert err.line == line, str(err)
    assert message in err.message
    assert str(err).startswith(f"{err.file}:{line}: ") and err.file.endswith("bad.yaml")


def test_profile_errors_on_the_command_line(tmp_path):
    path = write_profile(tmp_path, "kind: cpu\npeak_macs_per_s: {float32: 0}\nmemory_bandwidth: 1\n")
    result = run_cli("predict", "googlenet", "--profile", path)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and ":2: peak_macs_per_s.float32 must be" in result.stderr
    unknown = run_cli("predict", "googlenet", "--profile", "h10")
    assert unknown.returncode == 2 and "did you mean 'h100'?" in unknown.stderr
    nodtype = run_cli("predict", "googlenet", "--profile", "h100", "--dtype", "int8")
    assert nodtype.returncode == 2 and "no peak for dtype int8" in nodtype.stderr


# ---------------------------------------------------------------- predict CLI


def test_predict_json_keys():
    result = invoke("predict", "googlenet", "--profile", "h100", "--batch", "256", "--dtype",
                    "bfloat16", "--format", "json")  # fmt: skip
    data = json.loads(result.output)
    for key, kind in (("network", str), ("profile", str), ("batch", int), ("dtype", str),
                      ("total_ms", float), ("layers", list)):  # fmt: skip
        assert isinstance(data[key], kind), key
    assert (data["network"], data["profile"], data["batch"], data["dtype"]) == \
        ("googlenet", "h100", 256, "bfloat16")  # fmt: skip
    for layer in data["layers"]:
        assert isinstance(layer["name"], str) and isinstance(layer["ms"], float)
        assert layer["bound"] in ("compute", "memory")
    assert sum(x["ms"] for x in data["layers"]) == pytest.approx(data["total_ms"])
    assert data["tflops"] == pytest.approx(2 * data["macs"] / (data["total_ms"] / 1e3) / 1e12)
    expanded = json.loads(invoke("predict", "googlenet", "--expand", "--format", "json").output)
    assert len(expanded["layers"]) == len(build("googlenet").nodes)


def test_predict_text_and_subprocess():
    text = invoke("predict", "googlenet", "--profile", "a100", "--batch", "64").output
    assert "memory-bound" in text and "TFLOP/s" in text
    result = run_cli("predict", "googlenet", "--profile", "h100", "--format", "csv")
    assert result.returncode == 0 and result.stdout.startswith("layer,MACs,")


def test_static_commands_import_no_torch():
    code = ("import sys; from archcost.cli import main\n"
            "for args in (['memory', 'googlenet', '--train', '--format', 'json'],\n"
            "             ['predict', 'googlenet', '--format', 'json']):\n"
            "    try:\n        main(args)\n    except SystemExit as exc:\n"
            "        assert exc.code in (0, None), (args, exc.code)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'sympy'))\n"
            "sys.stderr.write('MODULES=%s' % bad)\n")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, env={"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"},
                            timeout=120)  # fmt: skip
    assert result.stderr.strip().endswith("MODULES=[]"), result.stderr[-500:]


# ---------------------------------------------------------------- calibrate


def test_calibrate_without_torch(monkeypatch, capsys):
    from archcost.cli import main

    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(SystemExit) as info:
        main(["calibrate", "--quick"])
    assert info.value.code == 2
    assert capsys.readouterr().err == f"error: {TORCH_MISSING}\n"


def test_calibrate_writes_a_profile_that_loads(tmp_path):
    require_torch()
    out = tmp_path / "cpu.yaml"
    result = run_cli("calibrate", "--quick", "--threads", "1", "--dtype", "float32", "-o",
                     str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    prof = LT.load_profile(str(out))
    assert prof.kind == "cpu" and prof.macs_per_s("float32", "conv") > 0
    assert prof.bandwidth > 0 and prof.ops_rate > 0 and prof.layer_overhead > 0


def test_cpu_prediction_vs_measurement_smoke():
    """Calibrate, predict and time one small network on this CPU: the comparison runs end to
    end and gives finite positive numbers. Nothing is asserted about speed or accuracy (the
    benchmark script reports those)."""
    torch = require_torch()
    bench = load_script("benchmarks", "memory_latency.py")
    net = build(os.path.join(SPECS, "mem_residual.yaml"))
    prof = LT.parse_profile(LT.calibrate("cpu", dtypes=("float32",), quick=True), "<calibrated>")
    model, _ = bench.build_module(net)
    x = torch.randn(2, *net.input.shape)
    measured, times, _ = bench.time_forward(model.eval(), x, repeat=3, warmup=1)
    predicted = LT.predict(net, prof, 2, "float32").seconds
    assert measured > 0 and predicted > 0 and len(times) == 3
    assert measured == sorted(times)[1]  # the median of three passes
    with torch.inference_mode():
        assert tuple(model(x).shape) == (2, *net.output_shape)
    # the prediction is per layer: on a CPU profile every node pays the calibrated overhead
    # once, and twice the batch cannot take less time
    assert predicted >= len(net.nodes) * prof.layer_overhead
    assert LT.predict(net, prof, 4, "float32").seconds >= predicted
    error = bench.err(predicted, measured)
    assert error == pytest.approx(predicted / measured - 1)  # > 0: predicted too slow


# ---------------------------------------------------------------- issue 18: the fuller model


CLASSES = SIMPLE.replace("PEAK", "1.0e+9") + """efficiency:
  compute: {gemm: {float32: 0.5}, "*": 0.25}
  memory: {elementwise: 0.5, "*": 0.8}
host: {module_s: 1.0e-6, kernel_s: 2.0e-6, compiled_kernel_s: 0.5e-6}
sources: {efficiency: written by hand for this test}
"""


def test_efficiency_by_op_class_and_host_time_by_hand(tmp_path):
    # mem_mlp at batch 4 (see above): fc1 2048 MACs / (1e9 x 0.5 gemm) = 4.096 us; bytes 2944
    # at 0.8 GB/s = 3.68 us -> compute-bound 4.096 us. relu: 1024 B at 0.5 GB/s = 2.048 us.
    # fc2: 1024 / 0.5e9 = 2.048 us vs 1696 / 0.8e9 = 2.12 us -> memory-bound 2.12 us.
    # Host: each layer is one module call (1 us) launching one kernel (2 us) = 3 us.
    # CPU: host and device in turn: 3 x 3 + 4.096 + 2.048 + 2.12 = 17.264 us.
    prof = LT.load_profile(write_profile(tmp_path, CLASSES))
    pred = LT.predict(build(MLP), prof, 4, "float32")
    assert [t.op_class for t in pred.layers] == ["gemm", "elementwise", "gemm"]
    assert [t.kernels for t in pred.layers] == [1, 1, 1]
    assert [t.host_s for t in pred.layers] == pytest.approx([3e-6] * 3)
    assert [t.device_s for t in pred.layers] == pytest.approx([4.096e-6, 2.048e-6, 2.12e-6])
    # bound: fc1 compute (4.096 > 3 us host); relu and fc2 take longer to launch than to run
    assert [t.bound for t in pred.layers] == ["compute", "host", "host"]
    assert pred.seconds == pytest.approx(17.264e-6)
    assert prof.sources == {"efficiency": "written by hand for this test"}


def test_gpu_overlap_queue_by_hand(tmp_path):
    # the same on a cuda profile: issued at 3, 6, 9 us; fc1 runs 3-7.096, relu 7.096-9.144,
    # fc2 (issued at 9 us, the device busy until 9.144) runs 9.144-11.264. Total 11.264 us = max over k of (H_k + device_k + ... + device_n):
    # k=1: 3 + 8.264 = 11.264; k=2: 6 + 4.168 = 10.168; k=3: 9 + 2.12 = 11.12
    prof = LT.load_profile(write_profile(tmp_path, CLASSES.replace("kind: cpu", "kind: cuda")))
    pred = LT.predict(build(MLP), prof, 4, "float32")
    assert pred.seconds == pytest.approx(11.264e-6)
    assert [t.idle_s for t in pred.layers] == pytest.approx([3e-6, 0, 0])
    # a slow host: 1 ms per kernel; the device waits before every layer: 3 ms + fc2's time
    slow = LT.load_profile(write_profile(
        tmp_path, CLASSES.replace("kind: cpu", "kind: cuda").replace("kernel_s: 2.0e-6",
                                                                     "kernel_s: 1.0e-3"), "s.yaml"))
    pred = LT.predict(build(MLP), slow, 4, "float32")
    assert pred.seconds == pytest.approx(3 * 1.001e-3 + 2.12e-6)
    assert [t.bound for t in pred.layers] == ["host", "host", "host"]


def test_compile_fuses_elementwise_chains_by_hand(tmp_path):
    # --compile on mem_branch-like chain: conv -> bn -> relu, each with one reader.
    # bn and relu fuse into one pointwise kernel: bn reads the conv's output (it must: the conv
    # is not fused), relu reads nothing from memory and bn writes nothing; kernels: conv 1,
    # bn 1, relu 0; no module calls, 0.5 us per kernel.
    path = tmp_path / "cbr.yaml"
    path.write_text("input: [2, 4, 4]\nlayers:\n  - c: {type: conv, out: 2, k: 1, bias: false}\n"
                    "  - b: {type: bn}\n  - r: {type: relu}\n")
    prof = LT.load_profile(write_profile(tmp_path, CLASSES))
    eager = LT.predict(build(str(path)), prof, 1, "float32")
    fused = LT.predict(build(str(path)), prof, 1, "float32", compile=True)
    t = 2 * 4 * 4 * 4  # bytes of one 2x4x4 float32 tensor = 128
    # eager: conv reads 128 + writes 128 + 4 weights x 4 B; bn reads 128, writes 128, 4 params
    # and 4 buffers (16 B + 16 B... 8 x 4 = 32 B); relu reads and writes 128
    assert [x.bytes for x in eager.layers] == [2 * t + 16, 2 * t + 32, 2 * t]
    assert [x.bytes for x in fused.layers] == [2 * t + 16, t + 32, t]
    assert [x.kernels for x in fused.layers] == [1, 1, 0]
    assert [x.host_s for x in fused.layers] == pytest.approx([0.5e-6, 0.5e-6, 0])


def test_autocast_weight_casts_and_types_by_hand(tmp_path):
    # --autocast --dtype bfloat16 on mem_mlp, batch 4: fc1 casts its float32 input (64 values:
    # read 4 + write 2 bytes each) and its weight and bias (544 params: 4 + 2 bytes each): three
    # cast kernels; then reads the bf16 input (128 B) and weights (1088 B), writes 128 x 2 B.
    # relu keeps its input's type (bf16): 2 x 256 B. fc2 casts weight and bias (264 x 6 B).
    text = CLASSES.replace("peak_macs_per_s: {float32: 1.0e+9}",
                           "peak_macs_per_s: {float32: 1.0e+9, bfloat16: 4.0e+9}")
    prof = LT.load_profile(write_profile(tmp_path, text))
    pred = LT.predict(build(MLP), prof, 4, "bfloat16", autocast=True)
    assert [t.kernels for t in pred.layers] == [4, 1, 3]
    assert pred.layers[0].bytes == 64 * 6 + 544 * 6 + 128 + 1088 + 256
    assert pred.layers[1].bytes == 2 * 256
    assert pred.layers[2].bytes == 264 * 6 + 256 + 528 + 64
    # compute at the bf16 peak x the "*" efficiency (gemm has only a float32 entry): 1e9
    assert pred.layers[0].compute_s == pytest.approx(2048 / 1e9)


def test_channels_last_efficiency(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("input: [4, 8, 8]\nlayers:\n  - c: {type: conv, out: 4, k: 3, p: 1}\n")
    prof = LT.load_profile(write_profile(tmp_path, CLASSES.replace(
        'memory: {elementwise: 0.5, "*": 0.8}\n',
        'memory: {elementwise: 0.5, "*": 0.8}\n  channels_last: {conv: 0.125}\n')))
    macs = 4 * 4 * 9 * 64
    nchw = LT.predict(build(str(path)), prof, 1, "float32").layers[0]
    nhwc = LT.predict(build(str(path)), prof, 1, "float32", channels_last=True).layers[0]
    assert nchw.compute_s == pytest.approx(macs / (1e9 * 0.25))
    assert nhwc.compute_s == pytest.approx(macs / (1e9 * 0.125))


@pytest.mark.parametrize("text,line,message", [
    ("efficiency:\n  compute: {dense: 0.5}\n", 6, "unknown op class 'dense'"),
    ("efficiency:\n  compute: {conv: {fp8: 0.5}}\n", 6, "unknown dtype 'fp8'"),
    ("efficiency:\n  memory: {elementwise: 2}\n", 6, "must be in (0, 1]"),
    ("host: {module: 1}\n", 5, "host: unknown key 'module'"),
    ("host: {module_s: -1}\n", 5, "must not be negative"),
    ("host: {module_s: 1}\nlayer_overhead_s: 1\n", 6, "not both"),
])
def test_new_profile_keys_errors(tmp_path, text, line, message):
    path = write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9") + text)
    with pytest.raises(SpecError) as err:
        LT.load_profile(path)
    assert message in err.value.message
    assert err.value.line == line


def test_predict_breakdown_cli(tmp_path):
    prof = write_profile(tmp_path, CLASSES)
    out = invoke("predict", MLP, "--profile", prof, "--batch", "4", "--breakdown")
    assert out.exit_code == 0, out.output
    assert "host ms" in out.output and "kernels" in out.output and "host-bound" in out.output
    data = json.loads(invoke("predict", MLP, "--profile", prof, "--batch", "4", "--format",
                             "json").output)
    assert data["host_ms"] == pytest.approx(9e-3)
    assert data["total_ms"] == pytest.approx(17.264e-3)
    # rows: fc1 with its relu (host 6 us < device 6.144 us; memory 5.728 > compute 4.096 us),
    # fc2 (host 3 us > device 2.12 us)
    assert [r["bound"] for r in data["layers"]] == ["memory", "host"]
    bad = invoke("predict", MLP, "--profile", prof, "--autocast")
    assert bad.exit_code == 2 and "--autocast needs --dtype" in bad.output


def test_fresh_pages_slow_large_new_tensors_by_hand(tmp_path):
    # fc1 of mem_mlp at batch 4 writes 512 B; with a 256-byte threshold at 0.1 GB/s, those
    # 512 B take 5.12 us instead of 0.512 us at 1 GB/s: memory 2.944 - 0.512 + 5.12 = 7.552 us.
    # The in-place relu allocates nothing; fc2 writes 128 B, under the threshold.
    text = SIMPLE.replace("PEAK", "1.0e+9") + \
        "fresh_pages: {threshold_bytes: 256, bandwidth: 1.0e+8}\n"  # fmt: skip
    pred = LT.predict(build(MLP), LT.load_profile(write_profile(tmp_path, text)), 4, "float32")
    assert [t.memory_s for t in pred.layers] == pytest.approx([7.552e-6, 1.024e-6, 1.696e-6])
    with pytest.raises(SpecError, match="needs both"):
        LT.load_profile(write_profile(tmp_path, SIMPLE.replace("PEAK", "1.0e+9")
                                      + "fresh_pages: {bandwidth: 1.0e+8}\n", "f.yaml"))


# ---------------------------------------------------------------- efficiency by GEMM rows


ROWS = SIMPLE.replace("PEAK", "1.0e+9") + """efficiency:
  compute: {conv: 0.5}
  by_rows: {conv: [[4, 0.25], [64, 1.0]]}
"""


def test_efficiency_by_rows_by_hand(tmp_path):
    # a 3x3 conv, 2 -> 2 channels, padding 1: 36 MACs per output position. On a 2x2 map at
    # batch 1 it is a 4-row GEMM: efficiency 0.25 (the curve's first point) -> 144 MACs at
    # 0.25 GMAC/s = 576 ns. On 4x4 at batch 1 (16 rows: log-halfway from 4 to 64) the
    # efficiency is 0.625: 576 MACs / 0.625e9 = 921.6 ns. On 4x4 at batch 8 (128 rows, past the
    # last point): 1.0, 4608 MACs / 1e9 = 4.608 us. The class's own 0.5 is not used.
    prof = LT.load_profile(write_profile(tmp_path, ROWS))
    small = tmp_path / "s.yaml"
    small.write_text("input: [2, 2, 2]\nlayers:\n  - c: {type: conv, out: 2, k: 3, p: 1, "
                     "bias: false}\n")
    big = tmp_path / "b.yaml"
    big.write_text(small.read_text().replace("[2, 2, 2]", "[2, 4, 4]"))
    assert LT.predict(build(str(small)), prof, 1, "float32").layers[0].compute_s == \
        pytest.approx(144 / 0.25e9)  # fmt: skip
    assert LT.predict(build(str(big)), prof, 1, "float32").layers[0].compute_s == \
        pytest.approx(576 / 0.625e9)  # fmt: skip
    assert LT.predict(build(str(big)), prof, 8, "float32").layers[0].compute_s == \
        pytest.approx(4608 / 1e9)  # fmt: skip


@pytest.mark.parametrize(("curve", "message"), [
    ("[[64, 0.5], [4, 0.25]]", "must increase"),
    ("[[4, 1.5]]", "(0, 1]"),
    ("[[0, 0.5]]", "rows"),
    ("[]", "1 to 32"),
    ("[[4]]", "[rows, efficiency]"),
    ("{float33: [[4, 0.5]]}", "unknown dtype"),
])  # fmt: skip
def test_efficiency_by_rows_is_validated(tmp_path, curve, message):
    text = ROWS.replace("[[4, 0.25], [64, 1.0]]", curve)
    with pytest.raises(SpecError, match=re.escape(message)):
        LT.load_profile(write_profile(tmp_path, text))

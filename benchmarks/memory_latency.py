"""Check archcost's memory and latency models against torch on this machine.

    PYTHONPATH=. python3 benchmarks/memory_latency.py [NETWORK ...] [--device cpu|cuda]

For each network (default: googlenet resnet50 vgg16 mobilenet_v2; a network whose spec is
missing is skipped with a message) it builds a torch module from the spec and measures:

CPU (default; float32, ``--threads`` torch threads, 1 by default):
  * latency at batch 8: the median of ``--repeat`` timed forward passes under
    torch.inference_mode (after warm-up) vs ``archcost predict`` on a profile calibrated on this
    machine first (``archcost.latency.calibrate``, written to results/cpu_profile.yaml);
    also the same split by layer type (forward hooks, a separate run). With one thread both
    are timed in process CPU time (``--clock cpu``; the wall clock is reported beside it),
    which leaves out the time other processes of a shared machine take.
  * peak memory at batch 64, in a fresh process per network: the growth of the process's peak
    RSS (VmHWM, reset through /proc/self/clear_refs) over its RSS before the module was built,
    during a forward pass (after one warm-up pass and malloc_trim), vs the predicted weights +
    BN buffers + peak activations (``archcost.memory.inference(..., device="cpu")``, input
    included); and torch's own allocation record (torch.profiler with profile_memory: the
    largest sum of live allocations during the pass) vs the predicted peak without the input.
  * training memory at batch 8 (``--train-batch``), same process: torch's allocation record
    over one forward + backward in training mode vs ``archcost.memory.training``.
CUDA (``--device cuda``; not run where there is no GPU):
  * memory at batch 64 and 256: torch.cuda.max_memory_allocated during the pass minus the
    memory allocated before it (weights and buffers), vs the predicted peak activations (input
    included, 512-byte blocks).
  * latency at batch 256 (CUDA events) vs a profile calibrated on the GPU, and vs the data-sheet
    profile ``--datasheet`` (h100 by default).

``--train-only [--independent]`` runs the training-memory check alone (one fresh process per
network, no calibration), with the module from benchmarks/_torch_models.py (``--independent``:
written apart from archcost's backend; ViT-B/16 and GPT-2 with nn.MultiheadAttention) or from
the spec; NAME=SPEC pairs a module with another spec. It writes
results/training_memory_cpu.md.

Writes results/memory_latency_{cpu,cuda}.md (and .json) next to this script. Targets: peak
memory within +-20 %, latency after calibration within +-30 %.

The module comes from ``archcost.torch_backend.build_module`` (one module per node,
intermediates dropped after their last reader, activations in place where safe).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from archcost import latency as LT  # noqa: E402
from archcost import memory as M  # noqa: E402
from archcost.errors import SpecError  # noqa: E402
from archcost.spec import build  # noqa: E402

DEFAULT_NETWORKS = ("googlenet", "resnet50", "vgg16", "mobilenet_v2")
MEMORY_TARGET = 0.20
LATENCY_TARGET = 0.30
MIB = 1 << 20
CLOCK_NOTE = {
    "cpu": "Times are the process's CPU time per pass (time.process_time; with one torch "
           "thread that is the pass's own compute), and the profile was calibrated with the "
           "same clock: on this shared machine the wall clock also counts the time other "
           "processes held the core (its column shows how much). On an idle machine the two "
           "agree.",
    "wall": "Times are wall-clock (time.perf_counter); the profile was calibrated with the "
            "same clock.",
}


# ---------------------------------------------------------------- module builder


def build_module(network):
    """(module, which builder): the real module archcost's torch backend builds from the spec."""
    from archcost.torch_backend import build_module as real

    return real(network), "archcost.torch_backend.build_module"


def node_modules(model, network) -> list:
    """The torch submodule of each node, in node order."""
    return [model.module_for(node.id) for node in network.nodes]


# ---------------------------------------------------------------- measuring


def _status_bytes(key):
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return None


def _trim():
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _alloc_peak(prof) -> int:
    """The largest sum of live allocations in a torch.profiler(profile_memory=True) record."""
    events = prof.profiler.kineto_results.events()
    live = peak = 0
    for _, nbytes in sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]"):
        live += nbytes
        peak = max(peak, live)
    return peak


def cpu_memory_child(name: str, batch: int, threads: int, train_batch: int) -> dict:
    """Run in a fresh process: peak RSS growth and torch's allocation peak for one inference
    pass at ``batch``; torch's allocation peak over one training forward + backward at
    ``train_batch`` (model.train(), loss = output.sum(), after one warm-up step and
    zero_grad(set_to_none=True))."""
    import torch

    torch.set_num_threads(threads)
    net = build(name)
    (torch.ones(64) + 1).sum()  # load torch's CPU kernels before the baseline
    _trim()
    base = _status_bytes("VmRSS")
    model, builder = build_module(net)
    model = model.eval()
    _trim()
    after_weights = _status_bytes("VmRSS")
    with torch.inference_mode():
        x = torch.randn(batch, *net.input.shape)
        model(x)  # warm-up: kernels, oneDNN primitive caches
        _trim()
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
            f.write("5")  # reset VmHWM to the current RSS
        start = _status_bytes("VmRSS")
        y = model(x)
        hwm = _status_bytes("VmHWM")
        del y
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            y = model(x)
        del y, x
    peak = _alloc_peak(prof)
    train_peak = None
    if train_batch:
        train_peak = _train_peak(torch, model, torch.randn(train_batch, *net.input.shape))
    return {"network": name, "batch": batch, "builder": builder, "rss_base": base,
            "rss_weights": after_weights - base, "rss_start": start - base,
            "rss_growth": hwm - base, "rss_forward_growth": hwm - start,
            "alloc_peak": peak, "train_batch": train_batch, "train_alloc_peak": train_peak}  # fmt: skip


def independent_module(name):
    """(module, builder) from benchmarks/_torch_models.py: written apart from archcost's backend
    (torchvision's layouts and forward code; nn.MultiheadAttention for ViT and GPT-2)."""
    import _torch_models as TM

    make = TM.BUILDERS.get(name) or TM.PEER_ONLY[name]
    return make(), "benchmarks/_torch_models.py"


def train_child(name: str, spec: str, train_batch: int, threads: int, independent: bool) -> dict:
    """Run in a fresh process: torch's allocation peak over one training forward + backward at
    ``train_batch`` (model.train(), loss = output.sum(), after one warm-up step and
    zero_grad(set_to_none=True)), the module from the spec or the independent one."""
    import torch

    torch.set_num_threads(threads)
    net = build(spec)
    model, builder = independent_module(name) if independent else build_module(net)
    peak = _train_peak(torch, model, torch.randn(train_batch, *net.input.shape))
    return {"network": name, "spec": spec, "builder": builder, "train_batch": train_batch,
            "train_alloc_peak": peak}


def _train_peak(torch, model, x) -> int:
    """torch's allocation peak over one training forward + backward (model.train(), loss =
    output.sum()), after one warm-up step and zero_grad(set_to_none=True)."""
    from torch.profiler import ProfilerActivity, profile

    model.train()
    model(x).sum().backward()
    model.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model(x).sum().backward()
    return _alloc_peak(prof)


def run_train_only(args) -> str:
    """``--train-only``: the training-memory check alone, one fresh process per network;
    NAME or NAME=SPEC (the module's name in _torch_models, the spec it is compared with)."""
    lines = ["# Training memory: archcost's model vs torch on CPU", "",
             f"Generated by `PYTHONPATH=. python3 benchmarks/memory_latency.py "
             f"{' '.join(args.networks)} --train-only"
             f"{' --independent' if args.independent else ''} --train-batch {args.train_batch}`;"
             " do not edit by hand.", "",
             f"torch's allocation record over `loss = model(x).sum(); loss.backward()` in "
             f"training mode (float32, {args.threads} thread(s)) vs "
             "`archcost.memory.training(..., device='cpu', optimizer='sgd')` peak minus the "
             "weights, buffers and input that exist before the step.", "",
             "| network | module | batch | torch allocations peak | predicted | error | "
             "saved for backward (model) | predicted peak at |",
             "|---|---|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for item in args.networks:
        name, _, spec = item.partition("=")
        spec = spec or name
        print(f"{name}: training memory at batch {args.train_batch} ...", file=sys.stderr)
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--child-train", name, "--spec", spec,
             "--threads", str(args.threads), "--train-batch", str(args.train_batch)]
            + (["--independent"] if args.independent else []),
            capture_output=True, text=True, check=False,
            env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + HERE},
        )  # fmt: skip
        if child.returncode != 0:
            lines.append(f"| {name} | error: {child.stderr.strip().splitlines()[-1:]} |")
            continue
        got = json.loads(child.stdout.strip().splitlines()[-1])
        net = build(spec)
        tr = M.training(net, args.train_batch, "float32", "cpu", "sgd")
        pred = tr.peak_bytes - tr.weights_bytes - tr.buffers_bytes - \
            M.inference(net, args.train_batch, "float32", "cpu").input_bytes  # fmt: skip
        lines.append(f"| {name} ({spec}) | {got['builder']} | {args.train_batch} | "
                     f"{got['train_alloc_peak'] / MIB:.1f} MiB | {pred / MIB:.1f} MiB | "
                     f"{pct(err(pred, got['train_alloc_peak']))} | {tr.saved_bytes / MIB:.1f} "
                     f"MiB | {tr.peak_phase} of {tr.peak_layer} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def time_forward(model, x, repeat, warmup=3, clock="wall"):
    """(median seconds, [seconds]) of ``repeat`` forward passes after ``warmup``; with
    clock="cpu" also the wall times: returns (median, times, wall_times)."""
    import torch

    times, walls = [], []
    with torch.inference_mode():
        for _ in range(warmup):
            model(x)
        for _ in range(repeat):
            w0, c0 = time.perf_counter(), time.process_time()
            model(x)
            c1, w1 = time.process_time(), time.perf_counter()
            walls.append(w1 - w0)
            times.append(c1 - c0 if clock == "cpu" else w1 - w0)
    return statistics.median(times), times, walls


def time_by_type(model, network, x, repeat=3, clock="wall") -> dict:
    """Median per-node forward time (forward hooks), summed by primitive type."""
    import torch

    tick = time.process_time if clock == "cpu" else time.perf_counter
    mods = node_modules(model, network)
    spans: dict = {}
    handles = []
    for node, mod in zip(network.nodes, mods, strict=True):
        def pre(m, args, key=node.id):
            spans.setdefault(key, []).append(-tick())

        def post(m, args, out, key=node.id):
            spans[key][-1] += tick()

        handles += [mod.register_forward_pre_hook(pre), mod.register_forward_hook(post)]
    try:
        with torch.inference_mode():
            for _ in range(repeat + 1):
                model(x)
    finally:
        for h in handles:
            h.remove()
    by_type: dict = {}
    for node in network.nodes:
        t = statistics.median(spans[node.id][1:])
        by_type[node.op] = by_type.get(node.op, 0.0) + t
    return by_type


def err(pred, meas):
    return (pred / meas - 1.0) if meas else None


def pct(x):
    return "-" if x is None else f"{100 * x:+.1f} %"


def ok(x, target):
    return "-" if x is None else ("yes" if abs(x) <= target else "**no**")


def environment(threads=None) -> dict:
    import torch

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": LT._cpu_name(), "torch": str(torch.__version__),
            "threads": threads or torch.get_num_threads(), "python": platform.python_version(),
            "load_average": [round(v, 2) for v in load] if load else None}  # fmt: skip


# ---------------------------------------------------------------- CPU run


def run_cpu(args) -> dict:
    import torch

    torch.set_num_threads(args.threads)
    env = environment(args.threads)
    clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    args.clock = clock
    if args.profile:
        profile = LT.load_profile(args.profile)
        profile_path = args.profile
    else:
        print(f"calibrating (cpu, {args.threads} thread(s)) ...", file=sys.stderr)
        doc = LT.calibrate("cpu", progress=lambda m: print("  " + m, file=sys.stderr),
                           clock=clock)
        profile_path = os.path.join(HERE, "results", "cpu_profile.yaml")
        with open(profile_path, "w", encoding="utf-8") as f:
            f.write("# written by benchmarks/memory_latency.py (archcost.latency.calibrate)\n")
            f.write(LT.profile_yaml(doc))
        profile = LT.load_profile(profile_path)
    results = {"device": "cpu", "env": env, "profile": _profile_summary(profile, profile_path),
               "networks": [], "skipped": []}  # fmt: skip
    for name in args.networks:
        try:
            net = build(name)
        except SpecError as exc:
            msg = f"{name}: skipped ({exc})"
            print(msg, file=sys.stderr)
            results["skipped"].append(msg)
            continue
        print(f"{name}: latency at batch {args.latency_batch} ...", file=sys.stderr)
        model, builder = build_module(net)
        model = model.eval()
        x = torch.randn(args.latency_batch, *net.input.shape)
        measured, times, walls = time_forward(model, x, args.repeat, clock=clock)
        pred = LT.predict(net, profile, args.latency_batch, "float32")
        types = time_by_type(model, net, x, clock=clock) if args.by_type else {}
        pred_types: dict = {}
        for t in pred.layers:
            pred_types[t.node.op] = pred_types.get(t.node.op, 0.0) + t.seconds
        del model, x
        _trim()
        rec = {"network": name, "builder": builder, "params": net.total("params"),
               "macs": net.total("macs"),
               "latency": {"batch": args.latency_batch, "clock": clock,
                           "measured_ms": measured * 1e3,
                           "min_ms": min(times) * 1e3, "max_ms": max(times) * 1e3,
                           "wall_ms": statistics.median(walls) * 1e3,
                           "wall_min_ms": min(walls) * 1e3, "wall_max_ms": max(walls) * 1e3,
                           "predicted_ms": pred.seconds * 1e3,
                           "error": err(pred.seconds, measured),
                           "wall_error": err(pred.seconds, statistics.median(walls)),
                           "by_type_measured_ms": {k: v * 1e3 for k, v in types.items()},
                           "by_type_predicted_ms": {k: v * 1e3 for k, v in pred_types.items()}},
               "memory": []}  # fmt: skip
        for batch in args.memory_batch:
            print(f"{name}: memory at batch {batch} (child process) ...", file=sys.stderr)
            child = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child-memory", name,
                 "--batch", str(batch), "--threads", str(args.threads),
                 "--train-batch", str(args.train_batch)],
                capture_output=True, text=True, check=False,
                env={**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")},
            )  # fmt: skip
            if child.returncode != 0:
                tail = child.stderr.strip().splitlines()[-1:] or ["?"]
                rec["memory"].append({"batch": batch, "error": tail[0]})
                continue
            got = json.loads(child.stdout.strip().splitlines()[-1])
            live = M.inference(net, batch, "float32", "cpu")
            if got.get("train_alloc_peak") is not None:
                tr = M.training(net, args.train_batch, "float32", "cpu", "sgd")
                # allocations during the step: everything but weights, buffers and the input
                pred_train = tr.peak_bytes - tr.weights_bytes - tr.buffers_bytes - \
                    M.inference(net, args.train_batch, "float32", "cpu").input_bytes  # fmt: skip
                got.update(predicted_train=pred_train, train_peak_phase=tr.peak_phase,
                           train_peak_layer=tr.peak_layer,
                           error_train=err(pred_train, got["train_alloc_peak"]))  # fmt: skip
            got.update(
                predicted_total=live.total_bytes, predicted_peak=live.peak_bytes,
                predicted_weights=live.weights_bytes + live.buffers_bytes,
                predicted_input=live.input_bytes, peak_layer=live.peak_layer,
                error_total=err(live.total_bytes, got["rss_growth"]),
                error_forward=err(live.peak_bytes - live.input_bytes, got["rss_forward_growth"]),
                error_alloc=err(live.peak_bytes - live.input_bytes, got["alloc_peak"]),
            )  # fmt: skip
            rec["memory"].append(got)
        results["networks"].append(rec)
    results["env_end"] = environment(args.threads)
    return results


def _profile_summary(profile, path) -> dict:
    return {"path": os.path.relpath(path, ROOT) if os.path.isabs(path) else path,
            "title": profile.title, "peak_macs_per_s": profile.peak_macs,
            "memory_bandwidth": profile.bandwidth, "window_ops_per_s": profile.ops_rate,
            "layer_overhead_s": profile.layer_overhead, "measured": profile.measured}  # fmt: skip


def cpu_markdown(res, args) -> str:
    env, prof = res["env"], res["profile"]
    lines = [
        "# Memory and latency: archcost's static model vs torch on CPU",
        "",
        "Generated by `PYTHONPATH=. python3 benchmarks/memory_latency.py "
        + " ".join(args.networks) + f" --threads {args.threads}`; do not edit by hand.",
        "",
        f"- machine: {env['cpu']}; torch {env['torch']}, {env['threads']} thread(s), "
        f"Python {env['python']}",
        f"- load average at start / end: {env['load_average']} / "
        f"{res['env_end']['load_average']} (a shared machine: other processes were running, "
        "so timings are noisy; one torch thread keeps OpenMP from stalling on busy cores)",
        f"- profile: `{prof['path']}` (calibrated just before the runs, {args.clock} clock): peak "
        + ", ".join(f"{k} {v / 1e9:.1f} GMAC/s" for k, v in prof["peak_macs_per_s"].items())
        + f"; copy bandwidth {prof['memory_bandwidth'] / 1e9:.1f} GB/s; window ops "
        f"{(prof['window_ops_per_s'] or 0) / 1e9:.2f} G/s; layer overhead "
        f"{prof['layer_overhead_s'] * 1e6:.1f} us",
        f"- targets: peak memory within +-{MEMORY_TARGET:.0%}, latency within "
        f"+-{LATENCY_TARGET:.0%} (error = predicted / measured - 1)",
        "",
        "## Latency (float32, inference_mode)",
        "",
        CLOCK_NOTE[args.clock],
        "",
        "| network | batch | measured median ms (min-max) | predicted ms | error | within +-30 % "
        "| wall-clock median ms (min-max) | error vs wall |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]
    for rec in res["networks"]:
        lat = rec["latency"]
        lines.append(f"| {rec['network']} | {lat['batch']} | {lat['measured_ms']:.1f} "
                     f"({lat['min_ms']:.1f}-{lat['max_ms']:.1f}) | {lat['predicted_ms']:.1f} | "
                     f"{pct(lat['error'])} | {ok(lat['error'], LATENCY_TARGET)} | "
                     f"{lat['wall_ms']:.1f} ({lat['wall_min_ms']:.1f}-{lat['wall_max_ms']:.1f}) | "
                     f"{pct(lat['wall_error'])} |")
    for rec in res["networks"]:
        lat = rec["latency"]
        if not lat["by_type_measured_ms"]:
            continue
        lines += ["", f"{rec['network']}, by layer type (per-node forward hooks, median of 3; "
                      "the hooks add a little time):", "",
                  "| type | measured ms | predicted ms | error |", "|---|---:|---:|---:|"]
        meas = lat["by_type_measured_ms"]
        for op in sorted(meas, key=lambda k: -meas[k]):
            p = lat["by_type_predicted_ms"].get(op, 0.0)
            lines.append(f"| {op} | {meas[op]:.2f} | {p:.2f} | {pct(err(p, meas[op]))} |")
    lines += [
        "",
        "## Peak memory (float32, inference_mode, a fresh process per network)",
        "",
        "Measured: growth of peak RSS over the RSS before the module was built (weights + "
        "activations + whatever torch/oneDNN keep); predicted: weights + BN buffers + peak "
        "activations (input included) from `archcost memory --device cpu`.",
        "",
        "| network | batch | measured RSS growth | predicted | error | within +-20 % | peak at |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for rec in res["networks"]:
        for m in rec["memory"]:
            if "error" in m:
                lines.append(f"| {rec['network']} | {m['batch']} | failed: {m['error']} | | | | |")
                continue
            lines.append(f"| {rec['network']} | {m['batch']} | {m['rss_growth'] / MIB:.1f} MiB | "
                         f"{m['predicted_total'] / MIB:.1f} MiB | {pct(m['error_total'])} | "
                         f"{ok(m['error_total'], MEMORY_TARGET)} | {m['peak_layer']} |")
    lines += [
        "",
        "The activation part alone: RSS growth during the measured pass (the input, weights "
        "and the warm-up's leftovers already resident) and torch's own allocation record "
        "(torch.profiler, profile_memory=True: the largest sum of live CPU allocations during "
        "the pass), both vs the predicted peak activations without the input:",
        "",
        "| network | batch | RSS growth in the pass | torch allocations peak | predicted | "
        "error (RSS) | error (allocations) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for rec in res["networks"]:
        for m in rec["memory"]:
            if "error" in m:
                continue
            pred = m["predicted_peak"] - m["predicted_input"]
            lines.append(f"| {rec['network']} | {m['batch']} | "
                         f"{m['rss_forward_growth'] / MIB:.1f} MiB | {m['alloc_peak'] / MIB:.1f} MiB | "
                         f"{pred / MIB:.1f} MiB | {pct(m['error_forward'])} | "
                         f"{pct(m['error_alloc'])} |")
    lines += [
        "",
        "## Training memory (float32, one SGD step's forward + backward, CPU)",
        "",
        f"torch's allocation record over `loss = model(x).sum(); loss.backward()` in training "
        f"mode at batch {args.train_batch} (after one warm-up step and zero_grad(set_to_none="
        "True)), vs `archcost.memory.training(..., device='cpu', optimizer='sgd')` peak minus "
        "the weights, buffers and input that exist before the step (parameter gradients are "
        "counted: they are allocated during backward). CPU dropout keeps a float mask (CUDA: "
        "a bool mask); the model's default is CUDA.",
        "",
        "| network | batch | torch allocations peak | predicted | error | predicted peak at |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for rec in res["networks"]:
        for m in rec["memory"]:
            if m.get("train_alloc_peak") is None:
                continue
            lines.append(f"| {rec['network']} | {m['train_batch']} | "
                         f"{m['train_alloc_peak'] / MIB:.1f} MiB | {m['predicted_train'] / MIB:.1f} "
                         f"MiB | {pct(m['error_train'])} | {m['train_peak_phase']} of "
                         f"{m['train_peak_layer']} |")
    builders = sorted({rec["builder"] for rec in res["networks"]})
    lines += [
        "",
        "Module builder: " + ", ".join(builders) if builders else "No network was measured.",
    ]
    if res["skipped"]:
        lines += ["", "Skipped:", ""] + [f"- {s}" for s in res["skipped"]]
    lines += [
        "",
        "## Not measured here",
        "",
        "The GPU side (`--device cuda`: torch.cuda.max_memory_allocated growth above the weights "
        "at batch 64 and 256, latency at batch 256 vs a GPU-calibrated profile and the data "
        "sheet) is implemented but was not run: this machine has no GPU.",
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- CUDA run


def run_cuda(args) -> dict:
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("error: --device cuda: torch sees no CUDA GPU")
    dev = torch.device("cuda")
    dtype = getattr(torch, args.dtype)
    print("calibrating (cuda) ...", file=sys.stderr)
    doc = LT.calibrate("cuda", progress=lambda m: print("  " + m, file=sys.stderr))
    profile_path = os.path.join(HERE, "results", "cuda_profile.yaml")
    with open(profile_path, "w", encoding="utf-8") as f:
        f.write(LT.profile_yaml(doc))
    calibrated = LT.load_profile(profile_path)
    sheet = LT.load_profile(args.datasheet)
    results = {"device": "cuda", "gpu": torch.cuda.get_device_name(dev), "dtype": args.dtype,
               "env": environment(), "networks": [], "skipped": []}  # fmt: skip
    for name in args.networks:
        try:
            net = build(name)
        except SpecError as exc:
            results["skipped"].append(f"{name}: skipped ({exc})")
            continue
        model, builder = build_module(net)
        model = model.eval().to(dev, dtype)
        rec = {"network": name, "builder": builder, "memory": [], "latency": None}
        for batch in args.memory_batch:
            torch.cuda.synchronize()
            torch.cuda.empty_cache()
            base = torch.cuda.memory_allocated(dev)
            torch.cuda.reset_peak_memory_stats(dev)
            with torch.inference_mode():
                x = torch.randn(batch, *net.input.shape, device=dev, dtype=dtype)
                y = model(x)
                torch.cuda.synchronize()
            peak = torch.cuda.max_memory_allocated(dev) - base
            del x, y
            live = M.inference(net, batch, args.dtype, "cuda")
            rec["memory"].append({"batch": batch, "measured": peak, "predicted": live.peak_bytes,
                                  "error": err(live.peak_bytes, peak),
                                  "peak_layer": live.peak_layer})  # fmt: skip
        batch = args.latency_batch
        x = torch.randn(batch, *net.input.shape, device=dev, dtype=dtype)
        with torch.inference_mode():
            for _ in range(3):
                model(x)
            torch.cuda.synchronize()
            times = []
            for _ in range(args.repeat):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                model(x)
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end) / 1e3)
        measured = statistics.median(times)
        p_cal = LT.predict(net, calibrated, batch, args.dtype).seconds
        p_sheet = LT.predict(net, sheet, batch, args.dtype).seconds
        rec["latency"] = {"batch": batch, "measured_ms": measured * 1e3,
                          "calibrated_ms": p_cal * 1e3, "error": err(p_cal, measured),
                          "datasheet": sheet.name, "datasheet_ms": p_sheet * 1e3,
                          "datasheet_error": err(p_sheet, measured)}  # fmt: skip
        results["networks"].append(rec)
        del model, x
        torch.cuda.empty_cache()
    return results


def cuda_markdown(res, args) -> str:
    lines = [f"# Memory and latency on {res['gpu']} ({res['dtype']})", "",
             "Generated by `benchmarks/memory_latency.py --device cuda`.", "",
             "| network | batch | max_memory_allocated growth | predicted peak activations | "
             "error | within +-20 % |", "|---|---:|---:|---:|---:|---|"]  # fmt: skip
    for rec in res["networks"]:
        for m in rec["memory"]:
            lines.append(f"| {rec['network']} | {m['batch']} | {m['measured'] / MIB:.1f} MiB | "
                         f"{m['predicted'] / MIB:.1f} MiB | {pct(m['error'])} | "
                         f"{ok(m['error'], MEMORY_TARGET)} |")
    lines += ["", "| network | batch | measured ms | calibrated prediction | error | "
              "data sheet prediction | error |", "|---|---:|---:|---:|---:|---:|---:|"]
    for rec in res["networks"]:
        lat = rec["latency"]
        lines.append(f"| {rec['network']} | {lat['batch']} | {lat['measured_ms']:.2f} | "
                     f"{lat['calibrated_ms']:.2f} | {pct(lat['error'])} | "
                     f"{lat['datasheet_ms']:.2f} ({lat['datasheet']}) | "
                     f"{pct(lat['datasheet_error'])} |")
    if res["skipped"]:
        lines += ["", "Skipped:", ""] + [f"- {s}" for s in res["skipped"]]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("networks", nargs="*", default=list(DEFAULT_NETWORKS))
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch threads on CPU (default 1)")
    ap.add_argument("--repeat", type=int, default=10, help="timed passes (median)")
    ap.add_argument("--latency-batch", type=int)
    ap.add_argument("--memory-batch", type=int, nargs="+")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"),
                    help="cuda only; the CPU side runs float32")
    ap.add_argument("--profile", help="CPU: use this profile instead of calibrating")
    ap.add_argument("--clock", choices=("cpu", "wall"),
                    help="CPU timing clock (default: cpu with --threads 1, else wall)")
    ap.add_argument("--datasheet", default="h100", help="cuda: data-sheet profile to compare")
    ap.add_argument("--no-by-type", dest="by_type", action="store_false")
    ap.add_argument("--out", help="markdown output (default results/memory_latency_DEVICE.md)")
    ap.add_argument("--child-memory", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--train-batch", type=int, default=8,
                    help="CPU: batch of the training-memory check (0: skip it)")
    ap.add_argument("--train-only", action="store_true",
                    help="CPU: only the training-memory check (no calibration, latency or "
                         "inference memory); writes results/training_memory_cpu.md")
    ap.add_argument("--independent", action="store_true",
                    help="with --train-only: the module from benchmarks/_torch_models.py (written "
                         "apart from archcost's backend) instead of archcost's torch backend")
    ap.add_argument("--child-train", help=argparse.SUPPRESS)
    ap.add_argument("--spec", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_train:
        print(json.dumps(train_child(args.child_train, args.spec, args.train_batch, args.threads,
                                     args.independent)))  # fmt: skip
        return 0
    if args.train_only:
        text = run_train_only(args)
        out = args.out or os.path.join(HERE, "results", "training_memory_cpu.md")
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
        print(text)
        return 0
    if args.child_memory:
        print(json.dumps(cpu_memory_child(args.child_memory, args.batch, args.threads,
                                          args.train_batch)))
        return 0
    try:
        import torch  # noqa: F401
    except ImportError:
        print("error: torch is not installed; pip install 'archcost[torch]'", file=sys.stderr)
        return 2
    cuda = args.device == "cuda"
    args.latency_batch = args.latency_batch or (256 if cuda else 8)
    args.memory_batch = args.memory_batch or ([64, 256] if cuda else [64])
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    res = run_cuda(args) if cuda else run_cpu(args)
    text = cuda_markdown(res, args) if cuda else cpu_markdown(res, args)
    out = args.out or os.path.join(HERE, "results", f"memory_latency_{args.device}.md")
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    with open(out[:-3] + ".json" if out.endswith(".md") else out + ".json", "w",
              encoding="utf-8") as f:
        json.dump(res, f, indent=2, default=str)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

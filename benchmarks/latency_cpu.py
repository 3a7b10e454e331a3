"""Predicted vs measured CPU latency on torch models written apart from archcost (issue 18).

    PYTHONPATH=. python3 benchmarks/latency_cpu.py [NETWORK ...] [--threads 1,2] [--batch 1,16]

For each thread count, the profile is calibrated first with ``archcost.latency.calibrate``
(microbenchmarks only: a GEMM, convolutions, batched matmuls, copies, a ReLU, a BN, a cat,
a pool and tiny-op calls; no network), written to results/cpu_profile_tN.yaml. Then each
network of ``benchmarks/_torch_models.py`` (torchvision's layouts and forward code, built
apart from archcost's backend) is timed: the median of ``--repeat`` forward passes under
torch.inference_mode after warm-up, against ``archcost.latency.predict`` for the matching
spec (``NAME:torchvision``) on that profile. error = predicted / measured - 1; target: median
|error| within 25 %. Writes results/latency_cpu.md and .json. With one thread the times are
process CPU time when ``--clock cpu`` (the default on a loaded machine leaves others out);
with more threads always wall clock.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

import _torch_models as TM  # noqa: E402
from _measure import write_results  # noqa: E402

from archcost import latency as LT  # noqa: E402
from archcost.spec import build  # noqa: E402

NETWORKS = ("alexnet", "squeezenet1_1", "vgg11", "vgg16", "resnet18", "resnet34", "resnet50",
            "resnet101", "resnext50_32x4d", "googlenet", "mobilenet_v2", "mobilenet",
            "vit_b_16")  # fmt: skip
SPECS = {"mobilenet": "mobilenet"}  # not in torchvision: the spec itself
TARGET = 0.25


def spec_name(name: str) -> str:
    return SPECS.get(name, f"{name}:torchvision")


def measure(torch, model, x, repeat, clock) -> float:
    tick = time.process_time if clock == "cpu" else time.perf_counter
    times = []
    with torch.inference_mode():
        model(x)
        model(x)
        for _ in range(repeat):
            t0 = tick()
            model(x)
            times.append(tick() - t0)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="*", default=list(NETWORKS))
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}")
    parser.add_argument("--batch", default="1,16")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="cpu",
                        help="clock for one thread (more threads: always wall)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "latency_cpu"))
    args = parser.parse_args(argv)
    import torch

    threads = [int(t) for t in args.threads.split(",")]
    batches = [int(b) for b in args.batch.split(",")]
    rows = []
    profiles = {}
    for n_threads in dict.fromkeys(threads):
        torch.set_num_threads(n_threads)
        clock = args.clock if n_threads == 1 else "wall"
        print(f"calibrating with {n_threads} thread(s), {clock} clock", file=sys.stderr)
        doc = LT.calibrate("cpu", dtypes=("float32",), clock=clock,
                           progress=lambda m: print("  " + m, file=sys.stderr))  # fmt: skip
        path = f"{os.path.join(HERE, 'results', 'cpu_profile')}_t{n_threads}.yaml"
        with open(path, "w", encoding="utf-8") as f:
            f.write("# written by benchmarks/latency_cpu.py (archcost.latency.calibrate)\n")
            f.write(LT.profile_yaml(doc))
        profile = LT.load_profile(path)
        profiles[n_threads] = {"path": os.path.relpath(path, ROOT), "clock": clock,
                               "peak": profile.peak_macs, "bandwidth": profile.bandwidth,
                               "efficiency": profile.compute_efficiency,
                               "memory_efficiency": profile.memory_efficiency,
                               "module_s": profile.layer_overhead,
                               "kernel_s": profile.kernel_overhead}  # fmt: skip
        for name in args.networks:
            net = build(spec_name(name))
            model = TM.build(name)
            for batch in batches:
                x = torch.randn(batch, *net.input.shape)
                measured = measure(torch, model, x, args.repeat, clock)
                predicted = LT.predict(net, profile, batch, "float32").seconds
                error = predicted / measured - 1
                rows.append({"network": name, "spec": spec_name(name), "threads": n_threads,
                             "batch": batch, "clock": clock, "measured_ms": measured * 1e3,
                             "predicted_ms": predicted * 1e3, "error": error})  # fmt: skip
                print(f"  {name:16s} t={n_threads} b={batch:3d}: measured {measured * 1e3:9.2f} "
                      f"ms, predicted {predicted * 1e3:9.2f} ms, {100 * error:+6.1f} %",
                      file=sys.stderr)  # fmt: skip
    errors = [abs(r["error"]) for r in rows]
    summary = {"cases": len(rows), "median_abs_error": statistics.median(errors),
               "within_target": sum(e <= TARGET for e in errors), "target": TARGET,
               "load_average": list(os.getloadavg()), "cpu": LT._cpu_name(),
               "torch": str(torch.__version__)}  # fmt: skip
    lines = [
        "# CPU latency: archcost predict vs torch, models written apart from archcost",
        "",
        f"`PYTHONPATH=. python3 benchmarks/latency_cpu.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        f"- machine: {summary['cpu']}, torch {summary['torch']}, load average at the end "
        f"{', '.join(f'{v:.1f}' for v in summary['load_average'])}",
        "- profiles: calibrated by microbenchmarks just before each thread count's runs "
        "(no network is used to calibrate): "
        + "; ".join(f"{t} thread(s): `{p['path']}` ({p['clock']} clock)"
                    for t, p in profiles.items()),
        f"- median |error| {100 * summary['median_abs_error']:.1f} % over {len(rows)} cases; "
        f"{summary['within_target']} of {len(rows)} within +-{TARGET:.0%} "
        "(error = predicted / measured - 1)",
        "",
        "| network | threads | batch | measured ms | predicted ms | error |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['network']} | {r['threads']} | {r['batch']} | "
                     f"{r['measured_ms']:.2f} | {r['predicted_ms']:.2f} | "
                     f"{100 * r['error']:+.1f} % |")  # fmt: skip
    write_results(args.out, {"summary": summary, "profiles": profiles, "rows": rows}, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Predicted vs measured inference peak memory on torch models written apart from archcost.

    PYTHONPATH=. python3 benchmarks/memory_cpu.py [NETWORK ...] [--batch 2,16]

For each network of ``benchmarks/_torch_models.py`` (torchvision's layouts and forward code,
not archcost's backend), torch's own allocation record of one inference pass on CPU
(torch.profiler with profile_memory: the largest sum of live allocations; the input exists
before the pass) against ``archcost.memory.inference(..., device="cpu")`` minus the input,
with the torch-eager liveness (a module's input lives until the module returns; the default)
and the ideal one (every tensor freed after its last reader). Writes results/memory_cpu.md
and .json (issue 18; target within +-20 %).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (ROOT, HERE):
    if path not in sys.path:
        sys.path.insert(0, path)

import _torch_models as TM  # noqa: E402
from _measure import alloc_peak, write_results  # noqa: E402
from latency_cpu import NETWORKS, spec_name  # noqa: E402

from archcost import memory as M  # noqa: E402
from archcost.spec import build  # noqa: E402

MIB = 1 << 20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", nargs="*", default=list(NETWORKS))
    parser.add_argument("--batch", default="2,16")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "memory_cpu"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    rows = []
    for name in args.networks:
        net = build(spec_name(name))
        model = TM.build(name)
        for batch in (int(b) for b in args.batch.split(",")):
            measured = alloc_peak(torch, model, torch.randn(batch, *net.input.shape))
            rec = {"network": name, "spec": spec_name(name), "batch": batch,
                   "measured": measured}  # fmt: skip
            for framework in M.FRAMEWORKS:
                live = M.inference(net, batch, "float32", "cpu", framework=framework)
                rec[framework] = live.peak_bytes - live.input_bytes
                rec[framework + "_error"] = rec[framework] / measured - 1
            rows.append(rec)
            print(f"  {name:16s} b={batch:3d}: measured {measured / MIB:8.1f} MiB, eager "
                  f"{100 * rec['torch-eager_error']:+6.1f} %, ideal "
                  f"{100 * rec['ideal_error']:+6.1f} %", file=sys.stderr)  # fmt: skip
    summary = {f: statistics.median(abs(r[f + "_error"]) for r in rows) for f in M.FRAMEWORKS}
    within = {f: sum(abs(r[f + "_error"]) <= 0.2 for r in rows) for f in M.FRAMEWORKS}
    lines = [
        "# CPU inference peak: archcost memory vs torch's allocation record",
        "",
        "`PYTHONPATH=. python3 benchmarks/memory_cpu.py`: models from "
        "benchmarks/_torch_models.py (written apart from archcost's backend), float32, one "
        "thread; predicted = peak activations minus the input (which exists before the pass).",
        "",
        "- median |error|: " + ", ".join(f"{f} {100 * v:.1f} %" for f, v in summary.items())
        + "; within +-20 %: " + ", ".join(f"{f} {v} of {len(rows)}" for f, v in within.items()),
        "",
        "| network | batch | torch allocations peak | torch-eager | error | ideal | error |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['network']} | {r['batch']} | {r['measured'] / MIB:.2f} MiB | "
                     f"{r['torch-eager'] / MIB:.2f} MiB | {100 * r['torch-eager_error']:+.1f} % | "
                     f"{r['ideal'] / MIB:.2f} MiB | {100 * r['ideal_error']:+.1f} % |")  # fmt: skip
    write_results(args.out, {"median_abs_error": summary, "within_20pct": within, "rows": rows},
                  lines)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

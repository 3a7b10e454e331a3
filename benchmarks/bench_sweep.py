"""Target 3: points per second of a parameter sweep, by the library route a sweep takes.

    python benchmarks/bench_sweep.py [--spec mobilenet] [--points 10000] [--jobs 1]

The spec is read and resolved once (``archcost.spec.effective``); each point is one
``archcost.spec.build_doc(doc, name, {param: value, ...})`` and the totals of the result,
exactly what a sweep over the grid must compute. The grid is 100 x 100 values of the spec's
two sweepable parameters: ``mobilenet``: alpha = 0.25 .. 1.24 (step 0.01) x resolution =
96 .. 294 (step 2); ``tests/specs/residual.yaml`` (the default while no mobilenet spec is in
the checkout): width = 8 .. 107 x resolution = 32 .. 230 (step 2). ``--jobs N`` splits the
points over N worker processes (the number a sweep command could use on this machine).

Timing is in process, around the loop only (imports and the one ``effective`` excluded;
wall and CPU). Results: benchmarks/results/sweep_SPEC.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import _bench as B

sys.path.insert(0, B.ROOT)

from archcost.spec import build_doc, display_name, effective, resolve  # noqa: E402

GRIDS = {
    "mobilenet": ("alpha", [Fraction(25 + i, 100) for i in range(100)],
                  "resolution", [96 + 2 * i for i in range(100)]),
    "residual": ("width", [8 + i for i in range(100)],
                 "resolution", [32 + 2 * i for i in range(100)]),
}  # fmt: skip
RESIDUAL = os.path.join(B.ROOT, "tests", "specs", "residual.yaml")


def grid_for(spec: str):
    key = "mobilenet" if os.path.basename(spec).split(".")[0].split(":")[0] == "mobilenet" \
        else "residual"  # fmt: skip
    p1, v1, p2, v2 = GRIDS[key]
    return [{p1: a, p2: b} for b in v2 for a in v1]


def _sweep(spec, points):
    path, variant = resolve(spec)
    doc = effective(path, variant)
    name = display_name(path, variant)
    out = []
    for point in points:
        net = build_doc(doc, name, point)
        out.append((net.total("params"), net.total("macs")))
    return out


def _worker(args):
    spec, points = args
    t0, c0 = time.perf_counter(), time.process_time()
    out = _sweep(spec, points)
    return out, time.perf_counter() - t0, time.process_time() - c0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = "mobilenet" if B.builtin_spec("mobilenet") else RESIDUAL
    ap.add_argument("--spec", default=default)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--jobs", type=int, default=1)
    args = ap.parse_args(argv)
    points = grid_for(args.spec)[: args.points]
    _sweep(args.spec, points[:5])  # warm: file cache, block library, expression cache

    t0, c0 = time.perf_counter(), time.process_time()
    if args.jobs == 1:
        results = _sweep(args.spec, points)
        cpu = time.process_time() - c0
    else:
        chunks = [points[i :: args.jobs] for i in range(args.jobs)]
        with ProcessPoolExecutor(args.jobs) as pool:
            parts = list(pool.map(_worker, [(args.spec, c) for c in chunks]))
        results = [r for part in parts for r in part[0]]
        cpu = sum(part[2] for part in parts)
    wall = time.perf_counter() - t0

    label = os.path.basename(args.spec).split(".")[0]
    res = {"machine": B.machine(), "spec": args.spec, "points": len(points), "jobs": args.jobs,
           "wall_s": wall, "cpu_s": cpu, "points_per_s": len(points) / wall,
           "ms_per_point_cpu": cpu / len(points) * 1000,
           "first": results[0], "last": results[-1]}  # fmt: skip
    B.write_json(f"sweep_{label}_j{args.jobs}.json", res)
    md = (f"{label}: {len(points):,} points ({', '.join(points[0])}) in {wall:.2f} s wall, "
          f"{cpu:.2f} s CPU, {args.jobs} process(es): {res['points_per_s']:,.0f} points/s, "
          f"{res['ms_per_point_cpu']:.2f} ms CPU per point\n")  # fmt: skip
    B.write_text(f"sweep_{label}_j{args.jobs}.md", md)
    print(md, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

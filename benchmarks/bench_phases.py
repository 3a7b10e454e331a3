"""Where one `archcost table --format json` spends its CPU time, phase by phase, in process.

    python benchmarks/bench_phases.py [--layers 100000] [--form flat] [--runs 3]
    python benchmarks/bench_phases.py --spec mobilenet --points 300 --profile

Default: a make_deep_spec.py spec; CPU time (time.process_time) of each phase the table
command goes through: imports, YAML parse + compose (libyaml, no construction), YAML load
(parse + construction), ``effective``, ``build_doc`` (expansion and costing), the JSON
records, the JSON text. Minimum over --runs. With --spec and --points: the sweep's loop
(``build_doc`` per point of bench_sweep.py's grid) under cProfile, top functions by own
time. Results: benchmarks/results/phases_*.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time

import _bench as B

t_start = time.process_time()
sys.path.insert(0, B.ROOT)
import yaml  # noqa: E402

from archcost.commands.table import network_json  # noqa: E402
from archcost.report import to_json  # noqa: E402
from archcost.spec import build_doc, display_name, effective, resolve  # noqa: E402
from archcost.yamlio import _Loader, gc_paused, read_text  # noqa: E402

t_imports = time.process_time() - t_start


def phases(path) -> dict:
    out = {}
    text = read_text(path)
    t = time.process_time()
    with gc_paused():
        yaml.compose(text, Loader=_Loader)
    out["yaml parse + compose (C)"] = time.process_time() - t
    t = time.process_time()
    p, v = resolve(path)
    doc = effective(p, v)
    out["effective: yaml load (parse + compose + construct)"] = time.process_time() - t
    t = time.process_time()
    net = build_doc(doc, display_name(p, v))
    out["build_doc (expand + cost)"] = time.process_time() - t
    t = time.process_time()
    with gc_paused():
        data = network_json(net, 1, "float32", False)
    out["JSON records"] = time.process_time() - t
    t = time.process_time()
    with gc_paused():
        to_json(data)
    out["JSON text"] = time.process_time() - t
    out["_nodes"] = len(net.nodes)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=100_000)
    ap.add_argument("--form", default="flat")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spec", help="profile a sweep over this spec instead")
    ap.add_argument("--points", type=int, default=300)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    if args.spec:
        from bench_sweep import _sweep, grid_for

        points = grid_for(args.spec)[: args.points]
        _sweep(args.spec, points[:5])
        prof = cProfile.Profile()
        prof.enable()
        _sweep(args.spec, points)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
        label = os.path.basename(args.spec).split(".")[0]
        report = B.relative_paths(text.getvalue())
        B.write_text(f"phases_sweep_{label}.md", "```\n" + report + "```\n")
        print(report)
        return 0
    from make_deep_spec import make_spec

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "deep.yaml")
        with open(path, "w") as handle:
            handle.write(make_spec(args.layers, args.form))
        runs = []
        for _ in range(args.runs):
            from archcost import spec as S

            S._load_cached.cache_clear()
            runs.append(phases(path))
    best = {k: min(r[k] for r in runs) for k in runs[0]}
    rows = [["imports (archcost, yaml)", f"{t_imports:.3f} s"]]
    rows += [[k, f"{v:.3f} s"] for k, v in best.items() if not k.startswith("_")]
    md = (f"{args.form} form, {best['_nodes']:,} layers, CPU time per phase (min of "
          f"{args.runs}); the first row is libyaml alone, measured apart:\n\n"
          + B.md_table(["phase", "CPU"], rows))  # fmt: skip
    B.write_text(f"phases_{args.form}_{args.layers}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

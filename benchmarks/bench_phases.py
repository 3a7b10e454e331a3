"""Where one `archcost table --format json` spends its CPU time, phase by phase, in process.

    python benchmarks/bench_phases.py [--layers 100000] [--form flat] [--runs 3]
    python benchmarks/bench_phases.py --spec mobilenet --points 300 --profile

Default: a make_deep_spec.py spec; CPU time (time.process_time) of each phase the table
command goes through: imports, libyaml's events alone (nothing built), the YAML load
(``effective``: events + the line-numbered tree), ``build_doc`` (expansion and costing), the
JSON records, the JSON text. Minimum over --runs. With --spec and --points: the sweep's loop
(``build_doc`` per point of bench_sweep.py's grid) under cProfile, top functions by own
time. Results: benchmarks/results/phases_*.md.

    python benchmarks/bench_phases.py --target [--layers 100000] [--runs 3] [--before REV]

Issue 13's target, every written form of 100,000 layers in <= 3 s: ``archcost table SPEC
--format json -o OUT`` as a whole process for each form of make_deep_spec.py (CPU = user +
sys, wall, peak RSS; CPU min and wall median of --runs), and with --before the same for the
archcost/ of commit REV (``git archive`` into a temporary folder), interleaved, checking that
both write the same JSON. Results: benchmarks/results/target_100000.{json,md}.

A flat spec of 100,000 rows was past the documented limits (MAX_ROWS, MAX_YAML_NODES;
docs/limits.md) before issue 13 raised them, so both modes raise those two limits in the
measured process only (see LIFTED), which a --before commit needs: the work measured is the
work the limits would allow, just more of it.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import statistics
import subprocess
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

LIFTED = ("MAX_ROWS", "MAX_YAML_NODES")  # what refuses a 100,000-row flat spec
_RUNNER = f"""
import sys
import archcost.cli, archcost.commands.table, archcost.spec.documents, archcost.spec.expand
for name, module in list(sys.modules.items()):
    if name.startswith("archcost"):
        for limit in {LIFTED!r}:
            if hasattr(module, limit):
                setattr(module, limit, 10 ** 7)
sys.argv = ["archcost", *sys.argv[1:]]
archcost.cli.main()
"""


def lift_limits() -> None:
    """Raise LIFTED in this process (measurement only; see the module docstring)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("archcost"):
            for limit in LIFTED:
                if hasattr(module, limit):
                    setattr(module, limit, 10**7)


def phases(path) -> dict:
    out = {}
    text = read_text(path)
    t = time.process_time()
    with gc_paused():  # what libyaml alone costs: its events as Python objects, nothing built
        loader = _Loader(text)
        while loader.get_event().__class__ is not yaml.StreamEndEvent:
            pass
        loader.dispose()
    out["libyaml events alone (C parser)"] = time.process_time() - t
    t = time.process_time()
    p, v = resolve(path)
    doc = effective(p, v)
    out["effective: YAML load (events + line-numbered dicts and lists)"] = time.process_time() - t
    t = time.process_time()
    net = build_doc(doc, display_name(p, v))
    out["build_doc (expand + cost)"] = time.process_time() - t
    t = time.process_time()
    with gc_paused():  # as `table --format json` makes them (text_only: since issue 13)
        try:
            data = network_json(net, 1, "float32", False, text_only=True)
        except TypeError:  # a --before commit's archcost
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
    ap.add_argument("--target", action="store_true", help="whole processes, every form")
    ap.add_argument("--before", metavar="REV", help="with --target: also this commit")
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
    if args.target:
        return target(args)
    from make_deep_spec import make_spec

    lift_limits()
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


def _run(root, args) -> dict:
    """One whole process of archcost in ``root``: CPU (user + sys), wall, peak RSS."""
    env = dict(os.environ, PYTHONPATH=root)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _RUNNER, *args], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"archcost {' '.join(args)} in {root}: {err[-500:]}")
    return {"cpu": usage.ru_utime + usage.ru_stime, "wall": wall,
            "rss_mib": usage.ru_maxrss / 1024}  # fmt: skip


def _summary(runs) -> dict:
    return {"cpu_min": min(r["cpu"] for r in runs),
            "wall_median": statistics.median(r["wall"] for r in runs),
            "rss_mib_max": max(r["rss_mib"] for r in runs), "runs": len(runs)}  # fmt: skip


def _cell(st) -> str:
    return f"{st['cpu_min']:.2f} s / {st['wall_median']:.2f} s / {st['rss_mib_max']:.0f} MiB"


def target(args) -> int:
    from make_deep_spec import layer_count, make_spec, units_for

    B.compile_bytecode()
    res = {"machine": B.machine(), "layers": args.layers, "runs": args.runs,
           "before": args.before, "lifted": list(LIFTED), "forms": {}}  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"after": B.ROOT}
        if args.before:
            before = os.path.join(tmp, "before")
            os.mkdir(before)
            archive = subprocess.run(["git", "archive", args.before, "archcost"], cwd=B.ROOT,
                                     check=True, capture_output=True).stdout  # fmt: skip
            subprocess.run(["tar", "-x", "-C", before], input=archive, check=True)
            subprocess.run([sys.executable, "-m", "compileall", "-q", "archcost"], cwd=before,
                           check=True)  # fmt: skip
            roots = {"before": before, "after": B.ROOT}
        for form in ("repeat", "rows", "flat"):
            path = os.path.join(tmp, f"deep_{form}.yaml")
            text = make_spec(args.layers, form)
            with open(path, "w") as handle:
                handle.write(text)
            runs: dict = {side: [] for side in roots}
            digests = {}
            for _ in range(args.runs):
                for side, root in roots.items():
                    out = os.path.join(tmp, f"{side}.json")
                    runs[side].append(_run(root, ["table", path, "--format", "json", "-o", out]))
                    with open(out, "rb") as handle:
                        digests[side] = hashlib.sha256(handle.read()).hexdigest()
            cell = {side: _summary(r) for side, r in runs.items()}
            cell["layers"] = layer_count(units_for(args.layers))
            cell["rows"] = text.count("\n  - ")
            cell["yaml_bytes"] = len(text.encode())
            cell["identical_json"] = len(set(digests.values())) == 1
            res["forms"][form] = cell
            row = [form, f"{cell['layers']:,}", f"{cell['rows']:,}"]
            if "before" in cell:
                row.append(_cell(cell["before"]))
            row.append(_cell(cell["after"]))
            if "before" in cell:
                row.append(f"{cell['before']['cpu_min'] / cell['after']['cpu_min']:.2f}x")
                row.append("yes" if cell["identical_json"] else "NO")
            rows.append(row)
            print(" | ".join(row), file=sys.stderr)
    heads = ["form", "layers", "rows"]
    heads += [f"before ({args.before}): CPU min / wall median / RSS"] if args.before else []
    heads += ["after: CPU min / wall median / RSS"]
    heads += ["CPU speed-up", "identical JSON"] if args.before else []
    md = (f"`archcost table SPEC --format json -o OUT`, {args.layers:,} layers, whole "
          f"processes, {args.runs} runs each (interleaved); CPU = user + sys. Limits raised in "
          f"the measured processes: {', '.join(LIFTED)}.\n\n" + B.md_table(heads, rows))
    B.write_json(f"target_{args.layers}.json", res)
    B.write_text(f"target_{args.layers}.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

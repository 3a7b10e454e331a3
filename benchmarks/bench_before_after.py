"""The engine change for depth, measured: this checkout against an earlier commit, side by side.

    python benchmarks/bench_before_after.py [--ref b3f6a5d] [--sizes 10000,100000] [--runs 3]

The earlier commit is checked out into a temporary git worktree (removed afterwards); for
each form of make_deep_spec.py and each size both run ``archcost table SPEC --format json``
as whole processes, interleaved. Both must print the same JSON (the change is speed only).
Then a cProfile of this checkout on the flat form at the largest size, top functions by own
time. Results: benchmarks/results/before_after.{json,md}, results/profile_flat.txt.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import subprocess
import sys
import tempfile

import _bench as B
from make_deep_spec import layer_count, make_spec, units_for

FORMS = ("repeat", "rows", "flat")


def run_in(root, cmd):
    env = dict(os.environ, PYTHONPATH=root)
    r = subprocess.run(cmd, cwd=root, env=env, capture_output=True, check=True)
    return hashlib.sha256(r.stdout).hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="b3f6a5d", help="the commit before the engine change")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    B.compile_bytecode()
    res = {"machine": B.machine(), "ref": args.ref, "runs": args.runs, "cells": []}
    with tempfile.TemporaryDirectory() as tmp:
        before = os.path.join(tmp, "before")
        subprocess.run(["git", "worktree", "add", "--detach", before, args.ref], cwd=B.ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            subprocess.run([B.PY, "-m", "compileall", "-q", "archcost"], cwd=before, check=True,
                           env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})  # fmt: skip
            for form in FORMS:
                for n in sizes:
                    path = os.path.join(tmp, f"deep_{form}_{n}.yaml")
                    with open(path, "w") as handle:
                        handle.write(make_spec(n, form))
                    cmd = [B.PY, "-m", "archcost", "table", path, "--format", "json"]
                    same = run_in(B.ROOT, cmd) == run_in(before, cmd)
                    runs = {"before": [], "after": []}
                    for _ in range(args.runs):
                        for which, root in (("before", before), ("after", B.ROOT)):
                            old = B.ROOT
                            B.ROOT = root  # run_once runs in B.ROOT with it on PYTHONPATH
                            try:
                                runs[which].append(B.run_once(cmd))
                            finally:
                                B.ROOT = old
                    cell = {"form": form, "layers": layer_count(units_for(n)),
                            "same_output": same,
                            "before": B.summarize(runs["before"]),
                            "after": B.summarize(runs["after"])}  # fmt: skip
                    res["cells"].append(cell)
                    print(f"{form} {n}: before {B.fmt_s(cell['before'].get('cpu_min'))} "
                          f"after {B.fmt_s(cell['after'].get('cpu_min'))} same={same}",
                          file=sys.stderr)  # fmt: skip
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", before], cwd=B.ROOT,
                           capture_output=True)  # fmt: skip
        prof_path = os.path.join(tmp, "deep_flat_prof.yaml")
        with open(prof_path, "w") as handle:
            handle.write(make_spec(sizes[-1], "flat"))
        res["profile"] = profile(prof_path)
    B.write_json("before_after.json", res)
    md = render(res)
    B.write_text("before_after.md", md)
    print(md)
    return 0


def profile(path) -> str:
    sys.path.insert(0, B.ROOT)
    from archcost.cli import main as cli_main

    prof = cProfile.Profile()
    out = io.StringIO()
    stdout, sys.stdout = sys.stdout, out
    try:
        prof.enable()
        try:
            cli_main(["table", path, "--format", "json"])
        except SystemExit:
            pass
        prof.disable()
    finally:
        sys.stdout = stdout
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(20)
    report = B.relative_paths(text.getvalue())
    B.write_text("profile_flat.txt", report)
    return report


def render(res) -> str:
    rows = []
    for c in res["cells"]:
        b, a = c["before"], c["after"]
        rows.append([c["form"], f"{c['layers']:,}",
                     f"{B.fmt_s(b['cpu_min'])} / {B.fmt_s(b['wall_median'])} / {b['rss_mib_max']:.0f} MiB",
                     f"{B.fmt_s(a['cpu_min'])} / {B.fmt_s(a['wall_median'])} / {a['rss_mib_max']:.0f} MiB",
                     f"{b['cpu_min'] / a['cpu_min']:.2f}x",
                     "yes" if c["same_output"] else "**NO**"])  # fmt: skip
    return (f"`archcost table SPEC --format json`, before ({res['ref']}) and after, "
            f"{res['runs']} interleaved runs each: CPU min / wall median / peak RSS.\n\n"
            + B.md_table(["form", "layers", "before", "after", "CPU speed-up",
                          "identical JSON"], rows))  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())

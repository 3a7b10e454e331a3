"""Target 2: time and memory against depth, 1,000 to 100,000 layers, with the peers alongside.

    python benchmarks/bench_scale.py [--runs 3] [--sizes 1000,10000,100000] [--peer-timeout 60]

For each form of benchmarks/make_deep_spec.py (``repeat``: one repeated row over a block;
``rows``: one explicit row per residual unit; ``flat``: one explicit row per primitive layer)
and each size, the spec is written to a temporary folder and ``archcost table SPEC --format
json`` runs as a whole process (stdout discarded): wall and CPU time, peak RSS. A 9-layer
spec of the same form gives the fixed cost (interpreter, imports); the time per layer is
(time - fixed) / layers, which is flat when the work is linear in depth.

The peers count the same network as a torch model (benchmarks/_torch_models.DeepStack, one
1 x 16 x 8 x 8 input), one run per size, each stopped after --peer-timeout seconds; a peer
that does not finish is not run on the larger sizes. Results:
benchmarks/results/scale.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import _bench as B
from make_deep_spec import layer_count, make_spec, units_for

FORMS = ("repeat", "rows", "flat")
PEERS = ("ptflops", "fvcore", "thop", "torchinfo", "torch")
BASE = 9  # layers of the fixed-cost spec (1 unit + pool + linear)


def archcost_totals(path) -> dict:
    out = subprocess.run([B.PY, "-m", "archcost", "table", path, "--format", "json"],
                         cwd=B.ROOT, env=B.env(), capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout)["total"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--forms", default=",".join(FORMS))
    ap.add_argument("--peers", default=",".join(PEERS))
    ap.add_argument("--peer-timeout", type=float, default=60.0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    forms = [f for f in args.forms.split(",") if f]
    peers = [p for p in args.peers.split(",") if p]
    B.compile_bytecode()

    res = {"machine": B.machine(), "runs": args.runs, "sizes": sizes, "archcost": {},
           "peers": {}, "peer_timeout_s": args.peer_timeout}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for form in forms:
            res["archcost"][form] = {}
            for n in [BASE, *sizes]:
                path = os.path.join(tmp, f"deep_{form}_{n}.yaml")
                with open(path, "w") as handle:
                    handle.write(make_spec(n, form))
                cmd = [B.PY, "-m", "archcost", "table", path, "--format", "json"]
                runs = [B.run_once(cmd) for _ in range(args.runs)]
                st = B.summarize(runs)
                st["layers"] = layer_count(units_for(n))
                st["yaml_bytes"] = os.path.getsize(path)
                if n == sizes[-1] or n == BASE:
                    st["total"] = archcost_totals(path)
                res["archcost"][form][str(n)] = st
                print(f"archcost {form} {n}: {B.fmt_s(st.get('wall_median'))}", file=sys.stderr)
            base = res["archcost"][form][str(BASE)]
            for n in sizes:
                st = res["archcost"][form][str(n)]
                if st.get("ok") and base.get("ok"):
                    extra = st["layers"] - base["layers"]
                    st["us_per_layer_wall"] = (st["wall_median"] - base["wall_median"]) / extra * 1e6
                    st["us_per_layer_cpu"] = (st["cpu_min"] - base["cpu_min"]) / extra * 1e6
                    st["us_per_layer_raw"] = st["wall_median"] / st["layers"] * 1e6
            per = [res["archcost"][form][str(n)].get("us_per_layer_cpu") for n in sizes]
            per = [p for p in per if p]
            res["archcost"][form]["flatness"] = max(per) / min(per) if per else None

        for peer in peers:
            res["peers"][peer] = {}
            for n in sizes:
                units = units_for(n)
                r = B.run_once([B.PY, "benchmarks/_peer_count.py", peer, f"deep:{units}"],
                               timeout=args.peer_timeout)  # fmt: skip
                st = B.summarize([r])
                st["layers"] = layer_count(units)
                res["peers"][peer][str(n)] = st
                print(f"{peer} {n}: {B.fmt_s(st.get('wall_median')) if st.get('ok') else 'timeout'}",
                      file=sys.stderr)  # fmt: skip
                if not st.get("ok"):
                    break

    B.write_json("scale.json", res)
    md = render(res, sizes, forms, peers)
    B.write_text("scale.md", md)
    plot(res, sizes, forms, peers)
    print(md)
    return 0


def render(res, sizes, forms, peers) -> str:
    head = ["layers"] + [f"archcost {f}" for f in forms] + peers
    rows = []
    for n in sizes:
        row = [f"{n:,}"]
        for f in forms:
            st = res["archcost"][f][str(n)]
            row.append(f"{B.fmt_s(st['wall_median'])} ({B.fmt_s(st['cpu_min'])} CPU, "
                       f"{st['rss_mib_max']:.0f} MiB)" if st.get("ok") else "failed")  # fmt: skip
        for p in peers:
            st = res["peers"][p].get(str(n))
            if st is None:
                row.append("not run")
            elif st.get("ok"):
                row.append(f"{B.fmt_s(st['wall_median'])} ({st['rss_mib_max']:.0f} MiB)")
            else:
                row.append(f"> {res['peer_timeout_s']:.0f} s" if st.get("timed_out") else "failed")
        rows.append(row)
    out = [f"Whole process, wall median of {res['runs']} runs (CPU min, peak RSS); peers one "
           f"run each, stopped at {res['peer_timeout_s']:.0f} s. Machine: "
           f"{res['machine']['cpu']}, {res['machine']['cores']} cores.\n\n",
           B.md_table(head, rows), "\n"]  # fmt: skip
    prow = []
    for f in forms:
        cells = [f]
        for n in sizes:
            st = res["archcost"][f][str(n)]
            cells.append(f"{st.get('us_per_layer_cpu', 0):.1f} us" if st.get("ok") else "-")
        fl = res["archcost"][f].get("flatness")
        cells.append(f"{fl:.2f}x" if fl else "-")
        prow.append(cells)
    out.append("CPU time per layer above the 9-layer spec's fixed cost:\n\n")
    out.append(B.md_table(["form"] + [f"{n:,}" for n in sizes] + ["max / min"], prow))
    return "".join(out)


def plot(res, sizes, forms, peers) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot", file=sys.stderr)
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for f in forms:
        pts = [(res["archcost"][f][str(n)]["layers"], res["archcost"][f][str(n)]["wall_median"])
               for n in sizes if res["archcost"][f][str(n)].get("ok")]  # fmt: skip
        ax1.plot(*zip(*pts, strict=True), "o-", label=f"archcost ({f} form)")
        per = [(res["archcost"][f][str(n)]["layers"], res["archcost"][f][str(n)]["us_per_layer_cpu"])
               for n in sizes if res["archcost"][f][str(n)].get("us_per_layer_cpu")]  # fmt: skip
        if per:
            ax2.plot(*zip(*per, strict=True), "o-", label=f"archcost ({f} form)")
    for p in peers:
        pts = [(st["layers"], st["wall_median"]) for st in res["peers"][p].values() if st.get("ok")]
        if pts:
            ax1.plot(*zip(*pts, strict=True), "s--", alpha=0.7, label=p)
    ax1.axhline(5, color="grey", lw=0.8, ls=":")
    ax1.text(sizes[0], 5.3, "5 s", color="grey", fontsize=8)
    ax1.axhline(res["peer_timeout_s"], color="grey", lw=0.8, ls=":")
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("primitive layers")
        ax.grid(True, which="both", alpha=0.3)
    ax1.set_yscale("log")
    ax1.set_ylabel("whole process, wall median (s)")
    ax1.set_title("archcost table --format json vs peers on the same network")
    ax2.set_ylabel("CPU microseconds per layer (fixed cost removed)")
    ax2.set_ylim(bottom=0)
    ax2.set_title("time per layer: flat = linear in depth")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(B.RESULTS, exist_ok=True)
    fig.savefig(os.path.join(B.RESULTS, "scale.png"), dpi=110)


if __name__ == "__main__":
    sys.exit(main())

"""Target 1 and 4: archcost as a whole process, side by side with the peers and the floor.

    python benchmarks/bench_process.py [--runs 20] [--peer-runs 10] [--quick]

Workloads (each a fresh process, as a user runs it):

* ``floor``: ``python -c "import click, yaml"``: the interpreter and archcost's two
  dependencies, nothing else: no program in this language doing this job can start faster.
* ``table googlenet``, ``table resnet50``: ``archcost table NAME --format json``.
* ``compare``: ``archcost compare vgg16 googlenet mobilenet --format json`` (reported as not
  available while the verb or a spec is missing from this checkout).
* ``check``: ``archcost check`` over every published table.
* each peer on the same networks, as a user would: ``python benchmarks/_peer_count.py PEER
  MODEL...``: import torch, build the torchvision model (benchmarks/_torch_models.py), count
  it. For the compare workload the peer counts torchvision's vgg16 and googlenet and a
  MobileNet v1 in one process.

Runs are interleaved (round robin over all workloads), so a change of machine load hits
every workload alike; each is summarised by min and median wall time and CPU time. Ratios:
fastest peer / archcost (min over min; median over median) and archcost / floor.

Then ``python -X importtime`` of each static command: the modules it imports (no torch,
sympy or numpy allowed) and the ten slowest. Results: benchmarks/results/process.{json,md}.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import _bench as B

PEERS = ("ptflops", "ptflops-aten", "fvcore", "thop", "torchinfo", "torch")
HEAVY = ("torch", "sympy", "numpy")

WORKLOADS = {
    # name: (archcost argv after `-m archcost`, peer models, verb and specs it needs)
    "table googlenet": (["table", "googlenet", "--format", "json"], ["googlenet"],
                        ("table", ["googlenet"])),
    "table resnet50": (["table", "resnet50", "--format", "json"], ["resnet50"],
                       ("table", ["resnet50"])),
    "compare vgg16 googlenet mobilenet": (
        ["compare", "vgg16", "googlenet", "mobilenet", "--format", "json"],
        ["vgg16", "googlenet", "mobilenet"], ("compare", ["vgg16", "googlenet", "mobilenet"])),
}  # fmt: skip


# While `compare` is missing but its specs exist: the same three networks' table JSON built
# in one process through click (what compare adds is a smaller table), a stand-in to rerun
PROXY_COMPARE = (
    "import sys; from archcost.cli import cli; "
    "[cli.main(['table', n, '--format', 'json'], standalone_mode=False) "
    "for n in ('vgg16', 'googlenet', 'mobilenet')]"
)


def available(need) -> str | None:
    verb, specs = need
    if not B.has_command(verb):
        return f"`archcost {verb}` is not in this checkout"
    missing = [s for s in specs if not B.builtin_spec(s)]
    if missing:
        return f"spec(s) not in this checkout: {', '.join(missing)}"
    return None


def importtime(argv) -> dict:
    r = subprocess.run([B.PY, "-X", "importtime", "-m", "archcost", *argv], cwd=B.ROOT,
                       env=B.env(), capture_output=True, text=True)  # fmt: skip
    rows = []
    for line in r.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)) // 2, m.group(4)))
    names = {name for _, _, _, name in rows}
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    top = sorted((r for r in rows if r[2] == 0), reverse=True)[:10]  # top-level imports
    return {"rc": r.returncode, "modules": len(names), "heavy": heavy,
            "top_cumulative_us": [{"module": n, "cumulative_us": c, "self_us": s}
                                  for c, s, _, n in top]}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="runs of archcost and the floor")
    ap.add_argument("--peer-runs", type=int, default=10, help="runs of each peer")
    ap.add_argument("--quick", action="store_true", help="3 runs each (a smoke test)")
    ap.add_argument("--peers", default=",".join(PEERS))
    args = ap.parse_args(argv)
    if args.quick:
        args.runs = args.peer_runs = 3
    peers = [p for p in args.peers.split(",") if p]
    machine = B.machine()  # before the runs: the load average at the start
    B.compile_bytecode()

    jobs = {"floor": ([B.PY, "-c", "import click, yaml"], args.runs)}
    skipped = {}
    for name, (cmd, models, need) in WORKLOADS.items():
        why = available(need)
        if why:
            skipped[name] = why
            if need[0] == "compare" and all(B.builtin_spec(x) for x in need[1]):
                jobs[f"proxy {name}"] = ([B.PY, "-c", PROXY_COMPARE], args.runs)
        else:
            jobs[f"archcost {name}"] = ([B.PY, "-m", "archcost", *cmd], args.runs)
        for peer in peers:  # the peers run whether or not archcost can yet
            jobs[f"{peer} {name}"] = ([B.PY, "benchmarks/_peer_count.py", peer, *models],
                                      args.peer_runs)  # fmt: skip
    jobs["archcost check"] = ([B.PY, "-m", "archcost", "check"], args.runs)

    runs = {k: [] for k in jobs}
    rounds = max(n for _, n in jobs.values())
    for i in range(rounds):
        for key, (cmd, n) in jobs.items():
            if i < n:
                r = B.run_once(cmd, timeout=300)
                runs[key].append(r)
                if r["rc"] != 0 and key.startswith("archcost check") and r["rc"] == 1:
                    pass  # check exits 1 on a mismatch: still a complete run, noted below
        print(f"round {i + 1}/{rounds} done", file=sys.stderr)
    stats = {k: B.summarize(v) for k, v in runs.items()}

    floor = stats["floor"]
    results = {"machine": machine, "runs": args.runs, "peer_runs": args.peer_runs,
               "stats": stats, "skipped": skipped, "workloads": {}}  # fmt: skip
    for name in WORKLOADS:
        a = stats.get(f"archcost {name}")
        peer_stats = {p: stats[f"{p} {name}"] for p in peers}
        ok_peers = {p: s for p, s in peer_stats.items() if s.get("ok")}
        best = min(ok_peers, key=lambda p: ok_peers[p]["wall_min"]) if ok_peers else None
        entry = {"archcost": a, "fastest_peer": best, "not_available": skipped.get(name)}
        if a is None and f"proxy {name}" in stats:
            a = stats[f"proxy {name}"]
            entry["proxy"] = True
        if a and a.get("ok") and best:
            b = ok_peers[best]
            entry.update(
                speedup_min=b["wall_min"] / a["wall_min"],
                speedup_median=b["wall_median"] / a["wall_median"],
                speedup_cpu=b["cpu_min"] / a["cpu_min"],
                over_floor_min=a["wall_min"] / floor["wall_min"],
                over_floor_median=a["wall_median"] / floor["wall_median"],
            )
        results["workloads"][name] = entry
    c = stats["archcost check"]
    results["check"] = {"stats": c, "over_floor_median": c["wall_median"] / floor["wall_median"]
                        if c.get("ok") else None}  # fmt: skip

    commands = {"table googlenet": ["table", "googlenet", "--format", "json"],
                "table resnet50": ["table", "resnet50", "--format", "json"],
                "check": ["check"]}
    if "compare vgg16 googlenet mobilenet" not in skipped:
        commands["compare"] = WORKLOADS["compare vgg16 googlenet mobilenet"][0]
    results["importtime"] = {k: importtime(v) for k, v in commands.items()}

    B.write_json("process.json", results)
    B.write_text("process.md", render(results, peers))
    print(render(results, peers))
    return 0


def render(res, peers) -> str:
    s = res["stats"]
    lines = [f"Machine: {res['machine']['cpu']}, {res['machine']['cores']} cores, Python "
             f"{res['machine']['versions']['python']}; load average at start "
             f"{res['machine']['loadavg_at_start']}. archcost and floor: {res['runs']} runs; "
             f"peers: {res['peer_runs']} runs; interleaved.\n"]  # fmt: skip
    rows = []

    def row(label, st):
        if not st or not st.get("ok"):
            why = "timed out" if st and st.get("timed_out") else "failed"
            rows.append([label, why, "", "", "", ""])
            return
        rows.append([label, B.fmt_s(st["wall_min"]), B.fmt_s(st["wall_median"]),
                     B.fmt_s(st["cpu_min"]), f"{st['rss_mib_max']:.0f} MiB", f"{st['ok']}"])  # fmt: skip

    row("floor: python -c 'import click, yaml'", s["floor"])
    for name, entry in res["workloads"].items():
        if entry["not_available"]:
            rows.append([f"archcost {name}", f"not available ({entry['not_available']})",
                         "", "", "", ""])  # fmt: skip
            if f"proxy {name}" in s:
                row("stand-in: the 3 tables' JSON in one process (click, no compare)",
                    s[f"proxy {name}"])  # fmt: skip
        else:
            row(f"**archcost {name}**", s[f"archcost {name}"])
        for p in peers:
            row(f"{p} ({name})", s[f"{p} {name}"])
    row("**archcost check**", s["archcost check"])
    out = lines + [B.md_table(["workload", "wall min", "wall median", "CPU min", "peak RSS",
                               "runs ok"], rows), "\n"]  # fmt: skip
    summary = []
    for name, e in res["workloads"].items():
        if "speedup_min" in e:
            summary.append([name + (" (stand-in)" if e.get("proxy") else ""), e["fastest_peer"],
                            f"{e['speedup_min']:.1f}x / {e['speedup_median']:.1f}x",
                            f"{e['speedup_cpu']:.1f}x",
                            f"{e['over_floor_min']:.2f}x / {e['over_floor_median']:.2f}x"])  # fmt: skip
        else:
            summary.append([name, e["fastest_peer"] or "-", "not available", "", ""])
    out.append(B.md_table(["workload", "fastest peer", "speed-up vs it (min / median wall)",
                           "speed-up (CPU)", "archcost / floor (min / median)"], summary))  # fmt: skip
    chk = res["check"]
    if chk["stats"].get("ok"):
        out.append(f"\n`archcost check`: median {B.fmt_s(chk['stats']['wall_median'])} "
                   f"(min {B.fmt_s(chk['stats']['wall_min'])}), "
                   f"{chk['over_floor_median']:.2f}x the floor.\n")  # fmt: skip
    out.append("\nImports of the static commands (`python -X importtime`):\n\n")
    for k, it in res["importtime"].items():
        top = ", ".join(f"{t['module']} {t['cumulative_us'] / 1000:.1f} ms"
                        for t in it["top_cumulative_us"][:6])  # fmt: skip
        heavy = ", ".join(it["heavy"]) or "none"
        out.append(f"- `{k}`: {it['modules']} modules; torch/sympy/numpy: **{heavy}**; "
                   f"slowest top-level: {top}\n")  # fmt: skip
    return "".join(out)


if __name__ == "__main__":
    sys.exit(main())

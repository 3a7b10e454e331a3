"""`archcost verify` for every built-in network and variant at its full (default) size, with and
without the training-only rows: torch's own counts, recorded as the independent oracle of the
pinned totals.

The torch module is built from the spec's fields and torch computes every shape
(archcost/torch_modules.py), so torch's numbers here do not come from archcost's arithmetic:
params = sum of parameter numel, buffers = BN running statistics, MACs = FlopCounterMode's
convolution and matmul FLOPs / 2 on one forward pass at batch 1, activations = the output numel
of every node archcost does not mark in place.

Writes tests/golden/torch_totals.json ({network [--train]: {params, buffers, macs,
activations}}: the *torch* column) and benchmarks/results/verify_full.md (static vs torch,
agreement, seconds). tests/test_all_specs.py::test_totals_equal_torch_at_full_size and the zoo
tests compare archcost's static totals with this record.

    python benchmarks/verify_full.py [--device meta|cpu|cuda] [NAME ...]

On the meta device (the default) the modules have no storage and nothing is computed:
torch's shape functions give every shape and FlopCounterMode counts from them exactly as in
a real pass (its counts depend on shapes only), so every network is checked at full size in
a few minutes on 2 CPU cores, GPT-2 XL included. ``--device cpu`` runs real passes (hours).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

KEYS = ("params", "buffers", "macs", "activations")
RECORD = os.path.join(ROOT, "tests", "golden", "torch_totals.json")
REPORT = os.path.join(ROOT, "benchmarks", "results", "verify_full.md")


def networks():
    from archcost.spec import builtin_variants

    return builtin_variants()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--device", default="meta",
                        help="meta (default): torch's shape functions and FlopCounterMode "
                             "without computing; cpu or cuda: a real forward pass")  # fmt: skip
    args = parser.parse_args(argv)

    import torch

    from archcost.commands.verify import run_verify
    from archcost.spec import build

    record = {}
    if os.path.exists(RECORD):
        with open(RECORD, encoding="utf-8") as handle:
            record = json.load(handle)
    lines = ["| network | params | MACs | activations | agree | s |", "|---|---:|---:|---:|---|---:|"]
    failed = []
    for name in args.names or networks():
        for train in (False, True):
            net = build(name, train=train)
            if train and not any(r.train_only for r in net.rows):
                continue
            key = name + (" --train" if train else "")
            t0 = time.perf_counter()
            try:
                out = run_verify(net, args.device)
            except Exception as err:  # noqa: BLE001 - reported per network
                failed.append((key, f"{type(err).__name__}: {err}"))
                print(f"{key}: CRASH {type(err).__name__}: {err}", flush=True)
                continue
            seconds = time.perf_counter() - t0
            if out["torch"] is None:
                failed.append((key, out["error"]))
                print(f"{key}: torch could not run it: {out['error']}", flush=True)
                continue
            record[key] = {k: out["torch"][k] for k in KEYS}
            if not out["ok"]:
                failed.append((key, "differs"))
            t = out["torch"]
            lines.append(f"| {key} | {t['params']:,} | {t['macs']:,} | {t['activations']:,} | "
                         f"{'yes' if out['ok'] else '**no**'} | {seconds:.1f} |")  # fmt: skip
            print(f"{key}: {'ok' if out['ok'] else 'DIFFERS'} ({seconds:.1f} s)", flush=True)
            del out
    with open(RECORD, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    with open(REPORT, "w", encoding="utf-8") as handle:
        handle.write(f"# verify at full size ({args.device}, torch {torch.__version__}, batch 1)\n\n"
                     "torch's numbers (numel, FlopCounterMode / 2, output numel); `agree`: "
                     "archcost's static totals and every node equal them.\n\n")  # fmt: skip
        handle.write("\n".join(lines) + "\n")
        if failed:
            handle.write("\nfailed: " + ", ".join(f"{k} ({why})" for k, why in failed) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""What each peer reports for torchvision's networks, next to archcost's presets of it.

    python benchmarks/peers.py [--no-probes]

For resnet50, googlenet, vgg16 and mobilenet_v2 (torchvision, 224 x 224), resnet18 and
MobileNet v1,
each peer (ptflops in both backends, fvcore, thop, torchinfo, torch's FlopCounterMode) counts
a fresh model from benchmarks/_torch_models.py; archcost builds the matching spec
(``NAME:torchvision`` where the spec has that variant) and computes the same tool's number
with ``archcost.conventions`` (no torch). The goal is equality, cell by cell; a difference is
printed with its size.

The op probes then check each preset's per-op rule on one-layer models, including ops none
of these networks has (sigmoid, GELU, average pooling, softmax, a grouped conv with bias,
...), each as a module and, where torch code calls it so, as a functional call.

Results: benchmarks/results/peers.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import _bench as B
import _peer_count as P
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, B.ROOT)

from archcost import conventions as C  # noqa: E402
from archcost.spec import build  # noqa: E402

NETWORKS = {  # torch model -> archcost spec (the :torchvision variant when there is one)
    "resnet18": "resnet18:torchvision",
    "resnet50": "resnet50:torchvision",
    "googlenet": "googlenet:torchvision",
    "vgg16": "vgg16:torchvision",
    "mobilenet_v2": "mobilenet_v2:torchvision",
    "mobilenet": "mobilenet",
}
PRESET_OF = {p: p for p in P.PEERS}  # each peer's preset has the peer's name


def archcost_net(spec):
    base, _, variant = spec.partition(":")
    if not B.builtin_spec(base):
        return None, f"no spec '{base}' in this checkout"
    try:
        return build(spec), None
    except Exception as err:  # noqa: BLE001 - a variant missing before a merge
        if variant:
            try:
                return build(base), f"no :{variant} variant; used {base}"
            except Exception as err2:  # noqa: BLE001
                return None, str(err2)
        return None, str(err)


def compare_networks() -> list[dict]:
    rows = []
    for model, spec in NETWORKS.items():
        net, note = archcost_net(spec)
        for peer in P.PEERS:
            torch_model, shape = P.model_and_input(model)
            got = P.count(peer, torch_model, shape)
            row = {"model": model, "spec": spec if net is not None else None, "peer": peer,
                   "peer_params": got["params"], "peer_count": got["count"], "note": note}  # fmt: skip
            if net is not None:
                t = C.totals(net, PRESET_OF[peer])
                row.update(archcost_params=t["params"], preset_count=t["count"],
                           archcost_macs=net.total("macs"), spec=net.name,
                           diff=None if t["count"] is None else got["count"] - t["count"])  # fmt: skip
            rows.append(row)
            print(f"{model:13s} {peer:13s} {got['count']:>15,} {row.get('preset_count')}",
                  file=sys.stderr)
    return rows


# ---------------------------------------------------------------- op probes


class Functional(nn.Module):
    """A model whose forward calls a torch.nn.functional op, looked up at call time (as
    torchvision's code does: ``F.relu(x)``), so tools that patch ``F`` see the call."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


PROBES = [
    # (label, input [C,H,W] or [N], archcost row, torch module, how torch calls it)
    ("conv 3x3, bias", [4, 10, 10], "conv: {out: 8, k: 3, p: 1}",
     lambda: nn.Conv2d(4, 8, 3, padding=1), "module"),
    ("conv 3x3/2, groups 4, no bias", [4, 11, 11], "conv: {out: 8, k: 3, s: 2, g: 4, bias: false}",
     lambda: nn.Conv2d(4, 8, 3, 2, groups=4, bias=False), "module"),
    ("linear, bias", [32], "linear: 10", lambda: nn.Linear(32, 10), "module"),
    ("linear, no bias", [32], "linear: {out: 10, bias: false}",
     lambda: nn.Linear(32, 10, bias=False), "module"),
    ("batch norm", [8, 6, 6], "bn", lambda: nn.BatchNorm2d(8), "module"),
    ("relu", [8, 6, 6], "relu", lambda: nn.ReLU(inplace=True), "module"),
    ("relu (F.relu)", [8, 6, 6], "relu", lambda: Functional(lambda x: F.relu(x)), "functional"),
    ("relu6", [8, 6, 6], "relu6", lambda: nn.ReLU6(inplace=True), "module"),
    ("relu6 (F.relu6)", [8, 6, 6], "relu6", lambda: Functional(lambda x: F.relu6(x)), "functional"),
    ("leaky relu", [8, 6, 6], "leaky_relu", lambda: nn.LeakyReLU(), "module"),
    ("elu", [8, 6, 6], "elu", lambda: nn.ELU(), "module"),
    ("gelu", [8, 6, 6], "gelu", lambda: nn.GELU(), "module"),
    ("silu", [8, 6, 6], "silu", lambda: nn.SiLU(), "module"),
    ("sigmoid", [8, 6, 6], "sigmoid", lambda: nn.Sigmoid(), "module"),
    ("tanh", [8, 6, 6], "tanh", lambda: nn.Tanh(), "module"),
    ("hardswish", [8, 6, 6], "hardswish", lambda: nn.Hardswish(), "module"),
    ("hardsigmoid", [8, 6, 6], "hardsigmoid", lambda: nn.Hardsigmoid(), "module"),
    ("max pool 3x3/2", [8, 9, 9], "maxpool: [3, 2]", lambda: nn.MaxPool2d(3, 2), "module"),
    ("max pool (F.max_pool2d)", [8, 9, 9], "maxpool: [3, 2]",
     lambda: Functional(lambda x: F.max_pool2d(x, 3, 2)), "functional"),
    ("avg pool 2x2/2", [8, 8, 8], "avgpool: [2, 2]", lambda: nn.AvgPool2d(2, 2), "module"),
    ("global avg pool", [8, 7, 7], "global_avgpool", lambda: nn.AdaptiveAvgPool2d(1), "module"),
    ("global avg pool (F.adaptive_avg_pool2d)", [8, 7, 7], "global_avgpool",
     lambda: Functional(lambda x: F.adaptive_avg_pool2d(x, (1, 1))), "functional"),
    ("adaptive avg pool 6->3", [8, 6, 6], "adaptive_avgpool: 3",
     lambda: nn.AdaptiveAvgPool2d(3), "module"),
    ("adaptive avg pool 7->7", [8, 7, 7], "adaptive_avgpool: 7",
     lambda: nn.AdaptiveAvgPool2d(7), "module"),
    ("softmax", [10], "softmax", lambda: nn.Softmax(dim=1), "module"),
    ("dropout", [8, 6, 6], "dropout", lambda: nn.Dropout(), "module"),
    ("LRN size 5", [8, 6, 6], "lrn: 5", lambda: nn.LocalResponseNorm(5), "module"),
    ("LRN size 4", [8, 6, 6], "lrn: 4", lambda: nn.LocalResponseNorm(4), "module"),
]  # fmt: skip


def run_probes() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, shape, layer, factory, how in PROBES:
            path = os.path.join(tmp, "probe.yaml")
            with open(path, "w") as handle:
                handle.write(f"input: {shape}\nlayers:\n  - {layer}\n")
            net = build(path)
            op = net.nodes[0].op
            for n in net.nodes:  # how the probe's torch code calls it: the spec's `call:`
                n.call = C.FUNCTIONAL if how == "functional" else C.MODULE
            for peer in P.PEERS:
                got = P.count(peer, factory().eval(), shape)
                preds = [C.PRESETS[PRESET_OF[peer]].node(n) for n in net.nodes]
                pred = None if any(p is None for p in preds) else sum(preds)
                rows.append({"probe": label, "op": op, "calls": how, "peer": peer,
                             "peer_count": got["count"], "preset_count": pred,
                             "peer_params": got["params"],
                             "archcost_params": net.total("params")})  # fmt: skip
    return rows


def render(net_rows, probe_rows) -> str:
    out = ["Each cell: the peer's own total for the torch model / archcost's preset of that "
           "peer, computed from the spec without torch. = means equal.\n\n"]  # fmt: skip
    models = list(dict.fromkeys(r["model"] for r in net_rows))
    head = ["network (archcost spec)", "params (every peer)", "archcost MACs"] + list(P.PEERS)
    table = []
    for m in models:
        rs = [r for r in net_rows if r["model"] == m]
        params = {r["peer_params"] for r in rs}
        first = rs[0]
        cells = [f"{m} ({first.get('spec') or 'no spec: ' + str(first['note'])})",
                 ", ".join(f"{p:,}" for p in sorted(params))
                 + ("" if first.get("archcost_params") is None
                    else (" =" if params == {first['archcost_params']}
                          else f" vs archcost {first['archcost_params']:,}")),
                 f"{first['archcost_macs']:,}" if first.get("archcost_macs") else "-"]  # fmt: skip
        for r in rs:
            if r.get("preset_count") is None and r.get("spec") is None:
                cells.append(f"{r['peer_count']:,}")
            elif r.get("diff") == 0:
                cells.append(f"{r['peer_count']:,} =")
            else:
                pc = r.get("preset_count")
                cells.append(f"{r['peer_count']:,} vs {pc:,} ({r['diff']:+,})" if pc is not None
                             else f"{r['peer_count']:,} vs unknown")  # fmt: skip
        table.append(cells)
    out.append(B.md_table(head, table))
    ok = sum(1 for r in net_rows if r.get("diff") == 0)
    have = sum(1 for r in net_rows if r.get("spec"))
    out.append(f"\n{ok} of {have} network cells equal "
               f"({len(net_rows) - have} without an archcost spec in this checkout).\n\n")  # fmt: skip
    if probe_rows:
        out.append("Op probes (one-layer models): peer total / preset, per peer.\n\n")
        probes = list(dict.fromkeys(r["probe"] for r in probe_rows))
        t2 = []
        for pr in probes:
            rs = [r for r in probe_rows if r["probe"] == pr]
            cells = [pr]
            for r in rs:
                if r["preset_count"] is None:
                    cells.append(f"{r['peer_count']:,} / unknown")
                elif r["preset_count"] == r["peer_count"]:
                    cells.append(f"{r['peer_count']:,} =")
                else:
                    cells.append(f"**{r['peer_count']:,} / {r['preset_count']:,}**")
            t2.append(cells)
        out.append(B.md_table(["probe"] + list(P.PEERS), t2))
        eq = sum(1 for r in probe_rows if r["preset_count"] == r["peer_count"])
        unk = sum(1 for r in probe_rows if r["preset_count"] is None)
        out.append(f"\n{eq} of {len(probe_rows)} probe cells equal; {unk} unknown by design "
                   f"(the preset says it cannot state that op); "
                   f"{len(probe_rows) - eq - unk} differ.\n")  # fmt: skip
    out.append("\nThe rules, per preset (archcost/conventions.py):\n\n")
    for name, conv in C.PRESETS.items():
        out.append(f"- `{name}` ({conv.label}): {conv.doc}\n")
    return "".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-probes", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    net_rows = compare_networks()
    probe_rows = [] if args.no_probes else run_probes()
    B.write_json("peers.json", {"machine": B.machine(), "networks": net_rows,
                                "probes": probe_rows})  # fmt: skip
    md = render(net_rows, probe_rows)
    B.write_text("peers.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

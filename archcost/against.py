"""``verify SPEC --against MODEL``: a spec's static counts beside a model archcost did not build.

``verify SPEC`` alone builds torch modules from the spec's own graph, so it proves archcost's
formulas but cannot catch a wrongly written spec: a mis-wired network is built mis-wired and
agrees with itself. Here the other side is a model the user already has (a torch factory
``package.module:fn`` / ``file.py:Net``, or an ``.onnx`` file), and two things are compared:

* totals: the spec's params with ``sum(p.numel())`` over the model's unique parameters, the
  spec's MACs with FlopCounterMode's FLOPs / 2 on one forward pass at batch 1 (ONNX: the
  initializers and the MACs of its Conv/Gemm/MatMul nodes);
* weight layers (conv and linear) in execution order: kernel, input and output channels,
  groups, stride and bias. The spec's layers are matched to the model's in order, allowing
  parallel branches to run in a different order (a window of a few layers), and the first
  layer without a partner is reported, with the spec's row and the model's module path.

What it cannot prove: layers without weights (pools, activations, adds) are checked only
through the totals and the shapes they give the weight layers after them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .layers import elements
from .shapes import layout_of

WINDOW = 8  # how far ahead a partner may be (branches of one block run in any order)


@dataclass
class Layer:
    kind: str  # conv | linear
    k: tuple
    c_in: int
    c_out: int
    g: int
    s: tuple
    bias: bool
    where: str  # spec: row 'x' (node y); model: the module path

    def key(self):
        return (self.kind, self.k, self.c_in, self.c_out, self.g, self.s, self.bias)

    def text(self, other=None) -> str:
        if self.kind == "linear":
            out = f"linear {self.c_in}->{self.c_out}"
        else:
            out = f"{self.k[0]}x{self.k[1]} conv {self.c_in}->{self.c_out}"
            if self.g != 1:
                out += f" groups={self.g}"
            if self.s != (1, 1) or (other is not None and other.s != self.s):
                out += f" stride {self.s[0]}" if self.s[0] == self.s[1] else f" stride {self.s}"
        if other is not None and other.bias != self.bias:
            out += " with bias" if self.bias else " without bias"
        return out


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def spec_layers(net) -> list[Layer]:
    out = []
    for n in net.nodes:
        if not n.weight or n.op not in ("conv", "linear"):
            continue
        src = n.inputs[0].shape if n.inputs else ()
        f = n.fields
        where = f"row '{n.row.id}'" + (f" (node '{n.id}')" if n.id != n.row.id else "")
        if n.op == "conv":
            out.append(Layer("conv", _pair(f["k"]), src[0], f["out"], f["g"], _pair(f["s"]),
                             bool(f["bias"]), where))  # fmt: skip
        else:  # in features as archcost.layers.linear reads them: the last axis of tokens,
            # a channels-last map or a vector; a channels-first map is flattened
            lay = layout_of(src)
            c_in = src[-1] if len(src) == 1 or lay[-1] in "CN" and \
                lay not in ("CHW", "CL", "CDHW") else elements(src)  # fmt: skip
            out.append(Layer("linear", (1, 1), c_in, f["out"], 1, (1, 1), bool(f["bias"]), where))
    return out


def torch_layers(model, input_shape) -> list[Layer]:
    """Conv2d and Linear calls in execution order, from forward hooks."""
    import torch
    from torch import nn

    names = {m: name for name, m in model.named_modules()}
    seen = []

    def hook(module, args, _output):
        x = args[0]
        path = names.get(module, type(module).__name__)
        if isinstance(module, nn.Conv2d):
            seen.append(Layer("conv", _pair(module.kernel_size), module.in_channels,
                              module.out_channels, module.groups, _pair(module.stride),
                              module.bias is not None, path))  # fmt: skip
        else:
            seen.append(Layer("linear", (1, 1), x.shape[-1], module.out_features, 1, (1, 1),
                              module.bias is not None, path))  # fmt: skip

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]  # fmt: skip
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in handles:
            h.remove()
    return seen


def imported_layers(imported) -> list[Layer]:
    """Weight layers of an imported graph (ONNX), in its order."""
    shapes = {"input": tuple(imported.input)}
    for op in imported.ops:
        shapes[op.id] = op.shape
    out = []
    for op in imported.ops:
        src = shapes.get(op.inputs[0], ()) if op.inputs else ()
        f = op.fields
        if op.type == "conv":
            out.append(Layer("conv", _pair(f["k"]), src[0], f["out"], f.get("g", 1),
                             _pair(f.get("s", 1)), bool(f.get("bias", True)), op.path))  # fmt: skip
        elif op.type == "linear":
            c_in = 1
            for d in src:
                c_in *= d
            out.append(Layer("linear", (1, 1), c_in, f["out"], 1, (1, 1),
                             bool(f.get("bias", True)), op.path))  # fmt: skip
    return out


def match(spec: list[Layer], model: list[Layer]) -> dict:
    """Pair the spec's layers with the model's in order; the first that has no partner."""
    used = [False] * len(model)
    first = 0  # the model's first unmatched layer
    matched = 0
    for layer in spec:
        while first < len(model) and used[first]:
            first += 1
        partner = None
        for j in range(first, min(len(model), first + WINDOW)):
            if not used[j] and model[j].key() == layer.key():
                partner = j
                break
        if partner is None:
            if first >= len(model):
                return {"ok": False, "matched": matched,
                        "divergence": f"{layer.where} {layer.kind}: {layer.text()} in spec; the "
                                      f"model has no more weight layers ({len(model)} in all)"}  # fmt: skip
            other = model[first]
            return {"ok": False, "matched": matched,
                    "divergence": f"{layer.where} {layer.kind}: {layer.text(other)} in spec; model "
                                  f"has {other.text(layer)} at {other.where}"}  # fmt: skip
        used[partner] = True
        matched += 1
    rest = [m for m, u in zip(model, used) if not u]
    if rest:
        return {"ok": False, "matched": matched,
                "divergence": f"the spec ends after {len(spec)} weight layers; model has "
                              f"{len(rest)} more, first {rest[0].text()} at {rest[0].where}"}  # fmt: skip
    return {"ok": True, "matched": matched, "divergence": None}


def against(net, target: str, kwargs: dict | None = None) -> dict:
    """The whole comparison as a JSON-ready dict."""
    static = net.totals()
    if target.endswith(".onnx"):
        from .importers.run import _need

        _need("onnx", "import")
        from .importers import onnx as onnx_import

        imported = onnx_import.read(target)
        model_totals = {"params": imported.params, "macs": imported.macs,
                        "buffers": imported.buffers}  # fmt: skip
        layers = imported_layers(imported)
        kind = "onnx"
    else:
        from .importers.factory import build_model
        from .importers.torch_fx import model_counts

        model = build_model(target, kwargs)
        model_totals = model_counts(model, net.input.shape)
        layers = torch_layers(model, net.input.shape)
        kind = "torch"
    result = match(spec_layers(net), layers)
    totals = {k: {"spec": static[k], "model": model_totals[k], "ok": static[k] == model_totals[k]}
              for k in ("params", "macs", "buffers")}  # fmt: skip
    ok = result["ok"] and all(t["ok"] for t in totals.values())
    return {"network": net.name, "against": target, "kind": kind, "ok": ok, "totals": totals,
            "weight_layers": {"spec": sum(1 for n in net.nodes if n.weight), "model": len(layers),
                              "matched": result["matched"]},
            "divergence": result["divergence"], "input": list(net.input.shape)}  # fmt: skip


def text(out: dict) -> str:
    lines = [f"{out['network']} against {out['against']} ({out['kind']}, batch 1, input "
             f"{'x'.join(str(d) for d in out['input'])})"]  # fmt: skip
    for key, label in (("params", "params (numel)"), ("macs", "MACs (FLOPs/2)"),
                       ("buffers", "BN running stats")):  # fmt: skip
        t = out["totals"][key]
        lines.append(f"  {label:<17} spec {t['spec']:>16,}   model {t['model']:>16,}   "
                     f"{'ok' if t['ok'] else 'DIFF'}")  # fmt: skip
    w = out["weight_layers"]
    lines.append(f"  weight layers     spec {w['spec']:>16,}   model {w['model']:>16,}   "
                 f"{w['matched']:,} matched in order")  # fmt: skip
    if out["divergence"]:
        lines.append(f"first divergence: {out['divergence']}")
    if out["ok"]:
        lines.append("OK: totals and every weight layer agree with the model")
    else:
        lines.append("FAILED: the spec does not describe this model")
    return "\n".join(lines)


def run_command(spec, target, kwargs_text, sets, train, fmt):
    """``verify SPEC --against MODEL``: print the comparison, exit 0 when it agrees, else 1."""
    import json

    import click

    from .importers.factory import parse_kwargs
    from .spec import build

    if not target.endswith(".onnx"):
        from .commands._common import torch_backend

        torch_backend()  # torch missing: the usual one-line error
    net = build(spec, params=dict(sets) or None, train=train)
    from .unknown import refuse

    refuse(net, "be verified")  # exit 2: unknown counts cannot be compared
    out = against(net, target, parse_kwargs(kwargs_text))
    click.echo(json.dumps(out, indent=2) if fmt == "json" else text(out))
    click.get_current_context().exit(0 if out["ok"] else 1)

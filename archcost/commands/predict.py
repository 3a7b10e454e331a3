"""``archcost predict SPEC --profile h100``: roofline time per layer and in total."""

from __future__ import annotations

import click

from ..latency import load_profile, predict
from ..options import (
    batch_option,
    dtype_option,
    fold_bn_option,
    format_option,
    maybe_fold,
    output_option,
    parse_sets,
    resolution_option,
    set_option,
    train_option,
)
from ..report import Column, emit, human, render, to_json
from ..spec import build


def _ms(seconds: float) -> float:
    return seconds * 1e3


def predict_json(net, profile, batch, dtype, expand) -> dict:
    pred = predict(net, profile, batch, dtype)
    if expand:
        layers = [{"name": t.node.id, "type": t.node.op, "macs": t.macs, "bytes": t.bytes,
                   "intensity": t.intensity, "compute_ms": _ms(t.compute_s),
                   "memory_ms": _ms(t.memory_s), "ms": _ms(t.seconds), "bound": t.bound}
                  for t in pred.layers]  # fmt: skip
    else:
        layers = [{"name": r["name"], "type": r["row"].type if r["row"] else None,
                   "macs": r["macs"], "bytes": r["bytes"], "intensity": r["intensity"],
                   "compute_ms": _ms(r["compute_s"]), "memory_ms": _ms(r["memory_s"]),
                   "ms": _ms(r["seconds"]), "bound": r["bound"]}
                  for r in pred.rows()]  # fmt: skip
    total = pred.seconds
    memory_bound = [t for t in pred.layers if t.bound == "memory" and t.seconds > 0]
    return {
        "network": net.name,
        "title": net.title,
        "profile": profile.name,
        "profile_title": profile.title,
        "device_kind": profile.kind,
        "batch": batch,
        "dtype": dtype,
        "total_ms": _ms(total),
        "throughput_per_s": batch / total if total else None,
        "macs": pred.macs,
        "bytes": sum(t.bytes for t in pred.layers),
        "tflops": pred.tflops,
        "peak_tflops": 2 * profile.macs_per_s(dtype, "conv") / 1e12,
        "ridge_macs_per_byte": profile.macs_per_s(dtype, "conv") / profile.bytes_per_s,
        "memory_bound_ms": _ms(sum(t.seconds for t in memory_bound)),
        "memory_bound_layers": len(memory_bound),
        "compute_bound_layers": sum(1 for t in pred.layers if t.bound == "compute"),
        "layers": layers,
    }


def _flops(tflops: float) -> str:
    return f"{tflops:.1f} TFLOP/s" if tflops >= 1 else f"{tflops * 1e3:.1f} GFLOP/s"


def render_predict(data, fmt) -> str:
    exact = fmt == "csv"
    num = (lambda v: v) if exact else human
    columns = [Column("name", "layer", numeric=False), Column("macs", "MACs"),
               Column("bytes", "bytes moved"), Column("ai", "MAC/byte"),
               Column("cms", "compute ms"), Column("mms", "memory ms"), Column("ms", "ms"),
               Column("bound", "bound", numeric=False)]  # fmt: skip

    def ms(v):
        return v if exact else f"{v:.4f}"

    rows = []
    for rec in data["layers"]:
        ai = rec["intensity"]
        rows.append({"name": rec["name"], "macs": num(rec["macs"]), "bytes": num(rec["bytes"]),
                     "ai": (ai if exact else f"{ai:.1f}") if ai is not None else None,
                     "cms": ms(rec["compute_ms"]), "mms": ms(rec["memory_ms"]),
                     "ms": ms(rec["ms"]), "bound": rec["bound"],
                     "_style": "yellow" if rec["bound"] == "memory" and rec["ms"] else None})  # fmt: skip
    footer = {"name": "total", "macs": num(data["macs"]), "bytes": num(data["bytes"]),
              "ms": ms(data["total_ms"])}  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        notes = [
            f"{data['title']} on {data['profile_title']}: batch {data['batch']}, {data['dtype']}: "
            f"{data['total_ms']:.3f} ms per batch, {data['throughput_per_s']:,.1f} samples/s, "
            f"{_flops(data['tflops'])} achieved of {_flops(data['peak_tflops'])} peak"
            if data["total_ms"] else f"{data['title']} on {data['profile_title']}: no layer "
            "takes time (views and identities only): 0 ms per batch",
            f"memory-bound: {data['memory_bound_layers']} layers, "
            f"{data['memory_bound_ms']:.3f} ms ({100 * data['memory_bound_ms'] / data['total_ms']:.0f}% "
            f"of the time); ridge point {data['ridge_macs_per_byte']:.0f} MAC/byte "
            "(layers below it are memory-bound)" if data["total_ms"] else "",
            "roofline: time = max(MACs / peak MAC/s, bytes moved / bandwidth) per layer, summed "
            "(+ the profile's per-layer overhead); layers without MACs are memory-bound (pooling "
            "and LRN are limited by window_ops_per_s where the profile sets it); no fusion, no "
            "overlap between layers.",
        ]
    title = f"{data['title']} ({data['network']}) on {data['profile']}"
    return render(columns, rows, fmt, title=title, footer=footer, notes=[n for n in notes if n])


@click.command("predict")
@click.argument("spec")
@click.option("--profile", default="h100", show_default=True,
              help="Device profile: a built-in name (h100, a100) or a profile YAML file "
              "(e.g. from `archcost calibrate`).")  # fmt: skip
@format_option()
@batch_option
@dtype_option
@train_option
@set_option
@resolution_option
@fold_bn_option
@click.option("--expand", is_flag=True, help="One row per primitive layer.")
@output_option
def command(spec, profile, fmt, batch, dtype, train, sets, fold_bn, expand, output):
    """Predicted forward time of SPEC on a device profile (roofline per layer): which layers are
    memory-bound, the total, and the achievable TFLOP/s."""
    prof = load_profile(profile)
    net = maybe_fold(build(spec, params=parse_sets(sets) or None, train=train), fold_bn)
    data = predict_json(net, prof, batch, dtype, expand)
    if fmt == "json":
        emit(to_json(data), output)
        return
    emit(render_predict(data, fmt), output)

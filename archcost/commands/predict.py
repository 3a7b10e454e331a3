"""``archcost predict SPEC --profile h100``: roofline time per layer and in total."""

from __future__ import annotations

import click

from .. import unknown
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
from ..yamlio import gc_paused


def _ms(seconds: float) -> float:
    return None if seconds is None else seconds * 1e3  # None: unknown (archcost.unknown)


def _layer(name, kind, op_cls, rec) -> dict:
    return {"name": name, "type": kind, "class": op_cls, "macs": rec["macs"],
            "bytes": rec["bytes"], "intensity": rec["intensity"], "kernels": rec["kernels"],
            "host_ms": _ms(rec["host_s"]), "compute_ms": _ms(rec["compute_s"]),
            "memory_ms": _ms(rec["memory_s"]), "device_ms": _ms(rec["device_s"]),
            "idle_ms": _ms(rec["idle_s"]), "ms": _ms(rec["seconds"]), "bound": rec["bound"]}


def predict_json(net, profile, batch, dtype, expand, autocast=False, channels_last=False,
                 compile=False) -> dict:  # noqa: A002
    pred = predict(net, profile, batch, dtype, autocast, channels_last, compile)
    if expand:
        keys = ("macs", "bytes", "intensity", "kernels", "host_s", "compute_s", "memory_s",
                "device_s", "idle_s", "seconds", "bound")  # fmt: skip
        layers = [_layer(t.node.id, t.node.op, t.op_class, {k: getattr(t, k) for k in keys})
                  for t in pred.layers]  # fmt: skip
    else:
        layers = [_layer(r["name"], r["row"].type if r["row"] else None, None, r)
                  for r in pred.rows()]  # fmt: skip
    total = pred.seconds
    memory_bound = [t for t in pred.layers if t.bound == "memory" and t.seconds]
    unknowns = [t.node.id for t in pred.layers if t.op_class == "unknown"]
    data = {
        "network": net.name,
        "title": net.title,
        "profile": profile.name,
        "profile_title": profile.title,
        "device_kind": profile.kind,
        "batch": batch,
        "dtype": dtype,
        "options": pred.options,
        "total_ms": _ms(total),
        "host_ms": _ms(pred.host_seconds),
        "device_ms": _ms(pred.device_seconds),
        "idle_ms": _ms(unknown.total(t.idle_s for t in pred.layers)),
        "kernels": unknown.total(t.kernels for t in pred.layers),
        "host_bound_layers": sum(1 for t in pred.layers if t.bound == "host"),
        "sources": {"profile": profile.source, **{str(k): str(v)
                                                  for k, v in profile.sources.items()}},
        "throughput_per_s": batch / total if total else None,
        "macs": pred.macs,
        "bytes": unknown.total(t.bytes for t in pred.layers),
        "tflops": pred.tflops,
        "peak_tflops": 2 * profile.peak_macs_per_s(dtype, "conv") / 1e12,
        "ridge_macs_per_byte": profile.macs_per_s(dtype, "conv") / profile.bytes_per_s,
        "memory_bound_ms": _ms(sum(t.seconds for t in memory_bound)),
        "memory_bound_layers": len(memory_bound),
        "compute_bound_layers": sum(1 for t in pred.layers if t.bound == "compute"),
        "layers": layers,
    }
    if unknowns:  # every total that includes an unknown layer's time is unknown
        data["unknown_rows"] = unknowns
        data["unknown_layers"] = len(unknowns)
    return data


def _flops(tflops: float) -> str:
    return f"{tflops:.1f} TFLOP/s" if tflops >= 1 else f"{tflops * 1e3:.1f} GFLOP/s"


def render_predict(data, fmt, breakdown=False) -> str:
    exact = fmt == "csv"
    columns = [Column("name", "layer", numeric=False), Column("macs", "MACs"),
               Column("bytes", "bytes moved"), Column("ai", "MAC/byte")]  # fmt: skip
    if breakdown:
        columns += [Column("cls", "class", numeric=False), Column("kernels", "kernels"),
                    Column("hms", "host ms")]  # fmt: skip
    columns += [Column("cms", "compute ms"), Column("mms", "memory ms")]
    if breakdown:
        columns.append(Column("ims", "device idle ms"))
    columns += [Column("ms", "ms"), Column("bound", "bound", numeric=False)]

    def ms(v):
        if v is None:
            return unknown.UNKNOWN
        return v if exact else f"{v:.4f}"

    def num(v):
        if v is None:
            return unknown.UNKNOWN
        return v if exact else human(v)

    rows = []
    for rec in data["layers"]:
        ai = rec["intensity"]
        rows.append({"name": rec["name"], "macs": num(rec["macs"]), "bytes": num(rec["bytes"]),
                     "ai": (ai if exact else f"{ai:.1f}") if ai is not None else None,
                     "cls": rec["class"] or rec["type"], "kernels": num(rec["kernels"]),
                     "hms": ms(rec["host_ms"]), "ims": ms(rec["idle_ms"]),
                     "cms": ms(rec["compute_ms"]), "mms": ms(rec["memory_ms"]),
                     "ms": ms(rec["ms"]), "bound": rec["bound"],
                     "_style": {"memory": "yellow", "host": "magenta"}.get(rec["bound"])
                     if rec["ms"] else None})  # fmt: skip
    footer = {"name": "total", "macs": num(data["macs"]), "bytes": num(data["bytes"]),
              "kernels": num(data["kernels"]), "hms": ms(data["host_ms"]),
              "ims": ms(data["idle_ms"]), "ms": ms(data["total_ms"])}  # fmt: skip
    notes = []
    if fmt in ("text", "md") and data.get("unknown_rows"):
        shown = ", ".join(data["unknown_rows"][:3]) + (", ..." if data["unknown_layers"] > 3
                                                       else "")  # fmt: skip
        notes = [f"{data['title']} on {data['profile_title']}: batch {data['batch']}, "
                 f"{data['dtype']}: total time unknown (?): {data['unknown_layers']} unknown "
                 f"layer(s) ({shown}) archcost has no formula for, so their time is unknown and "
                 "so is every total that includes it (archcost.unknown)"
                 + ("; on a GPU the layers after one wait for it, so their times are unknown "
                    "too" if data["device_kind"] != "cpu" else "")]
    elif fmt in ("text", "md"):
        opts = [k.replace("_", "-") for k, v in data["options"].items() if v]
        overlap = ("host and device in turn: total = sum of host + device per layer"
                   if data["device_kind"] == "cpu" else
                   "kernels queued asynchronously: layer i starts at max(end of layer i-1, "
                   "host time to issue layers 1..i); the device waited "
                   f"{data['idle_ms']:.3f} ms for the host")  # fmt: skip
        notes = [
            f"{data['title']} on {data['profile_title']}: batch {data['batch']}, {data['dtype']}"
            f"{' (' + ', '.join(opts) + ')' if opts else ''}: "
            f"{data['total_ms']:.3f} ms per batch, {data['throughput_per_s']:,.1f} samples/s, "
            f"{_flops(data['tflops'])} achieved of {_flops(data['peak_tflops'])} peak"
            if data["total_ms"] else f"{data['title']} on {data['profile_title']}: no layer "
            "takes time (views and identities only): 0 ms per batch",
            f"host {data['host_ms']:.3f} ms ({data['kernels']} kernels, "
            f"{data['host_bound_layers']} host-bound layers), device {data['device_ms']:.3f} ms; "
            + overlap,
            f"memory-bound: {data['memory_bound_layers']} layers, "
            f"{data['memory_bound_ms']:.3f} ms ({100 * data['memory_bound_ms'] / data['total_ms']:.0f}% "
            f"of the time); ridge point {data['ridge_macs_per_byte']:.0f} MAC/byte "
            "(layers below it are memory-bound)" if data["total_ms"] else "",
            "model: device time = max(MACs / (peak x efficiency[op class, dtype]), bytes / "
            "(bandwidth x efficiency)) per layer; host time = module call + kernels x launch "
            "overhead; see `archcost.latency` for the rules. Profile: " + data["sources"]["profile"],
        ]
        if not data["host_ms"] and data["sources"].get("efficiency", "").startswith("none"):
            notes.append("this profile has data-sheet peaks and no host overhead: the time is a "
                         "lower bound; `archcost calibrate --device cuda -o gpu.yaml` on the GPU "
                         "measures both (microbenchmarks) for --profile gpu.yaml")  # fmt: skip
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
@click.option("--breakdown", is_flag=True,
              help="Show each layer's op class, kernels, host time and the device's wait.")
@click.option("--autocast", is_flag=True,
              help="Model torch.autocast: float32 weights, convolutions/linear/attention at "
              "--dtype with a weight cast per call, norms and softmax in float32.")  # fmt: skip
@click.option("--channels-last", "channels_last", is_flag=True,
              help="Model channels-last convolutions (the profile's efficiency.channels_last).")
@click.option("--compile", "compiled", is_flag=True,
              help="Model torch.compile: no module calls, fused elementwise/norm chains.")
@output_option
def command(spec, profile, fmt, batch, dtype, train, sets, fold_bn, expand, breakdown, autocast,
            channels_last, compiled, output):  # fmt: skip
    """Predicted forward time of SPEC on a device profile: host overhead, compute and memory
    time per layer, their overlap, which layers are host-, compute- or memory-bound, the total
    and the achieved TFLOP/s.

    \b
    Examples:
      archcost predict resnet50 --profile h100 --batch 64 --dtype bfloat16 --autocast
      archcost predict googlenet --profile h100 --breakdown
    """
    if autocast and dtype not in ("bfloat16", "float16"):
        raise click.UsageError("--autocast needs --dtype bfloat16 or float16 (the dtype it "
                               "casts to)")  # fmt: skip
    prof = load_profile(profile)
    net = maybe_fold(build(spec, params=parse_sets(sets) or None, train=train), fold_bn)
    with gc_paused():  # a large network's records are many small objects that all stay alive
        data = predict_json(net, prof, batch, dtype, expand, autocast, channels_last, compiled)
        text = to_json(data) if fmt == "json" else render_predict(data, fmt, breakdown)
    emit(text, output)

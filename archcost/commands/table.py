"""``archcost table SPEC``: the network row by row, as the paper prints it, with exact costs."""

from __future__ import annotations

import click

from ..graph import Network
from ..layers import fmt_shape
from ..memory import inference
from ..options import (
    DTYPE_BYTES,
    batch_option,
    dtype_option,
    fold_bn_option,
    format_option,
    maybe_fold,
    output_option,
    parse_sets,
    set_option,
    train_option,
)
from ..report import Column, emit, human_bytes, render, to_json
from ..spec import build

CONVENTIONS = (
    "params: trainable weights + biases (BN running stats are buffers, apart). "
    "MACs: multiply-accumulates of conv and linear layers (FLOPs = 2 x MACs). "
    "other ops: pooling, BN, activations, adds, bias adds. "
    "activations: elements written per sample (in-place activations and dropout add none)."
)


def layer_record(row, batch, nbytes) -> dict:
    """One row of the table as plain data (the JSON interface)."""
    return {
        "name": row.id,
        "label": row.label,
        "type": row.type,
        "patch": row.patch,
        "output": list(row.shape),
        "depth": row.depth,
        "columns": dict(row.columns),
        "params": row.params,
        "weights": row.weights,
        "buffers": row.buffers,
        "macs": row.macs,
        "ops": row.ops,
        "activations": row.activations,
        "activation_bytes": row.activations * batch * nbytes,
        "train_only": row.train_only,
        "repeat": row.repeat,
    }


def node_record(node, batch, nbytes) -> dict:
    return {
        "name": node.id,
        "label": node.id,
        "type": node.op,
        "patch": "",
        "output": list(node.shape),
        "depth": node.depth,
        "columns": {},
        "params": node.params,
        "weights": node.params - node.bias,
        "buffers": node.buffers,
        "macs": node.macs,
        "ops": node.ops,
        "activations": node.activations,
        "activation_bytes": node.activations * batch * nbytes,
        "train_only": node.row.train_only if node.row else False,
        "repeat": 1,
    }


def network_json(net: Network, batch: int, dtype: str, expand: bool) -> dict:
    nbytes = DTYPE_BYTES[dtype]
    records = ([node_record(n, batch, nbytes) for n in net.nodes] if expand
               else [layer_record(r, batch, nbytes) for r in net.rows])  # fmt: skip
    totals = net.totals()
    totals["flops"] = 2 * totals["macs"]
    totals["activation_bytes"] = totals["activations"] * batch * nbytes
    totals["weight_bytes"] = totals["params"] * nbytes
    live = inference(net, batch, dtype)  # liveness peak (archcost memory has the details)
    totals["peak_activation_bytes"] = live.peak_bytes
    return {
        "network": net.name,
        "title": net.title,
        "input": list(net.input.shape),
        "batch": batch,
        "dtype": dtype,
        "train": net.train,
        "params_values": {k: _plain(v) for k, v in net.params.items()},
        "layers": records,
        "total": totals,
        "peak_activation_bytes": live.peak_bytes,
        "peak_layer": live.peak_layer,
        "conventions": CONVENTIONS,
    }


def _plain(value):
    from fractions import Fraction

    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def merge_orders(orders) -> list:
    """Merge column orders so each keeps its own sequence (#1x1 stays before #3x3 reduce)."""
    merged: list = []
    for order in dict.fromkeys(tuple(o) for o in orders):  # rows of one block share an order
        for i, header in enumerate(order):
            if header in merged:
                continue
            before = [h for h in order[:i] if h in merged]
            after = [h for h in order[i + 1 :] if h in merged]
            if before:
                merged.insert(merged.index(before[-1]) + 1, header)
            elif after:
                merged.insert(merged.index(after[0]), header)
            else:
                merged.append(header)
    return merged


def render_table(net: Network, fmt: str, batch: int, dtype: str, expand: bool) -> str:
    data = network_json(net, batch, dtype, expand)
    block_headers = merge_orders(list(rec["columns"]) for rec in data["layers"])
    columns = [Column("label", "layer", numeric=False)]
    if expand:
        columns.append(Column("type", "type", numeric=False))
    else:
        columns.append(Column("patch", "patch/stride", numeric=False))
    columns += [Column("out", "output", numeric=False), Column("depth", "depth")]
    columns += [Column("col:" + h, h) for h in block_headers]
    columns += [Column("params", "params"), Column("macs", "MACs"), Column("ops", "other ops"),
                Column("activations", "activations")]  # fmt: skip
    rows = []
    for rec in data["layers"]:
        row = dict(rec)
        row["out"] = fmt_shape(tuple(rec["output"]))
        for h in block_headers:
            row["col:" + h] = rec["columns"].get(h)
        if rec["train_only"]:
            row["label"] = rec["label"] + " (train)"
            row["_style"] = "dim"
        rows.append(row)
    total = data["total"]
    footer = {"label": "total", "params": total["params"], "macs": total["macs"],
              "ops": total["ops"], "activations": total["activations"]}  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        buffers = f", buffers {total['buffers']:,}" if total["buffers"] else ""
        notes = [
            f"{net.title}: input {fmt_shape(net.input.shape)}, {'training' if net.train else 'inference'}"
            f"; params {total['params']:,} (weights {total['weights']:,}{buffers}); "
            f"MACs {total['macs']:,} = {total['flops']:,} FLOPs",
            f"activations {total['activations']:,} elements/sample = "
            f"{human_bytes(total['activation_bytes'])} at {dtype}, batch {batch}; "
            f"weights {human_bytes(total['weight_bytes'])}; peak live activations "
            f"{human_bytes(total['peak_activation_bytes'])} at '{data['peak_layer']}' "
            "(`archcost memory` shows where)",
            CONVENTIONS,
        ]
    title = f"{net.title} ({net.name})"
    return render(columns, rows, fmt, title=title, footer=footer, notes=notes)


@click.command("table")
@click.argument("spec")
@format_option()
@batch_option
@dtype_option
@train_option
@set_option
@fold_bn_option
@click.option("--expand", is_flag=True, help="One row per primitive layer instead of per spec row.")
@click.option("--symbolic", is_flag=True, help="Show each layer's params and MACs formula (sympy).")
@click.option("--bars", is_flag=True, help="Per-layer MAC bars drawn in the terminal.")
@click.option("--plot", "plot_file", metavar="FILE.png|svg",
              help="Also draw per-layer bars of MACs and activation memory.")  # fmt: skip
@output_option
def command(spec, fmt, batch, dtype, train, sets, fold_bn, expand, symbolic, bars, plot_file,
            output):  # fmt: skip
    """Per-layer output shape, params, MACs, other ops and activations of SPEC.

    One row per row of the spec (which follows the paper's table); --expand shows every
    primitive layer. Totals are the sums of the rows.
    """
    if plot_file:
        from ..plot import check_plot_file

        check_plot_file(plot_file)
    net = maybe_fold(build(spec, params=parse_sets(sets) or None, train=train), fold_bn)
    if plot_file:
        from ..plot import plot_table

        plot_table(net, plot_file, batch=batch, nbytes=DTYPE_BYTES[dtype])
    if bars:
        from ..plot import mac_bars

        emit(mac_bars(net), output)
        return
    if symbolic:
        from ..symbolic import render_formulas

        emit(render_formulas(net, fmt), output)
        return
    if fmt == "json":
        emit(to_json(network_json(net, batch, dtype, expand)), output)
        return
    emit(render_table(net, fmt, batch, dtype, expand), output)

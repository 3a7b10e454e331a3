"""``archcost table SPEC``: the network row by row, as the paper prints it, with exact costs."""

from __future__ import annotations

import json

import click

from .. import conventions, unknown
from ..graph import Network
from ..layers import fmt_shape
from ..memory import peak_activations, peak_assumptions
from ..options import (
    DTYPE_BYTES,
    batch_option,
    convention_option,
    dtype_option,
    exact_always,
    fold_bn_option,
    format_option,
    maybe_fold,
    output_option,
    parse_sets,
    resolution_option,
    set_option,
    train_option,
)
from ..report import Column, emit, human_bytes, render, to_json
from ..shapes import layout_record
from ..spec import build
from ..yamlio import gc_paused

CONVENTIONS = (
    "params: trainable weights + biases (BN running stats are buffers, apart). "
    "MACs: multiply-accumulates of conv, linear and matrix-product (attention) layers "
    "(FLOPs = 2 x MACs). "
    "other ops: pooling, BN, activations, adds, bias adds. "
    "activations: elements written per sample (in-place activations and dropout add none)."
)


def layer_record(row, batch, nbytes) -> dict:
    """One row of the table as plain data (the JSON interface)."""
    sums = row.sums()
    shape = row.shape
    return {
        "name": row.id,
        "label": row.label,
        "type": row.type,
        "patch": row.patch,
        "output": list(shape),
        **layout_record(shape),
        "depth": row.depth,
        "columns": dict(row.columns),
        "params": sums["params"],
        "weights": sums["weights"],
        "buffers": sums["buffers"],
        "macs": sums["macs"],
        "ops": sums["ops"],
        "activations": sums["activations"],
        "activation_bytes": sums["activations"] * batch * nbytes,
        "train_only": row.train_only,
        "repeat": row.repeat,
    }


def _record_key(row):
    """What a row's record holds besides its name and label, hashable, or None (records with
    block columns, or values that are not plain ints, are written on their own)."""
    if row.columns:
        return None
    nodes = row.nodes
    shape = row.shape
    if len(nodes) == 1:
        n = nodes[0]
        values = (n.params, n.bias, n.buffers, n.macs, n.ops, n.extra, n.depth, row.repeat)
        if type(row.train_only) is not bool or type(n.inplace) is not bool:
            return None
        key = (row.type, row.patch, type(shape), shape, n.shape, n.inplace, row.train_only,
               *values)  # fmt: skip
    else:
        values = (*row.sums().values(), row.depth, row.repeat)
        if type(row.train_only) is not bool:
            return None
        key = (row.type, row.patch, type(shape), shape, row.train_only, *values)
    for v in values:
        if type(v) is not int:
            return None
    return key


def layers_text(rows, batch, nbytes):
    """``[layer_record(row, batch, nbytes) for row in rows]`` as :func:`~archcost.report.to_json`
    writes it, without the dicts: the text after a record's name and label is written once per
    distinct rest (a network written layer by layer has a few kinds of row; BENCHMARKS.md,
    "Issue 13's target"), from the record itself, so the text is the same."""
    from ..report import Encoded, encode_at

    escape = json.encoder.encode_basestring_ascii  # what to_json writes strings with

    def write(newline, parts):
        if not rows:
            parts.append("[]")
            return
        inner = newline + "  "
        field = inner + "  "
        head, mid = "{" + field + '"name": ', "," + field + '"label": '
        bodies: dict = {}
        add = parts.append
        add("[" + inner)
        sep = None
        for row in rows:
            key = _record_key(row)
            body = bodies.get(key) if key is not None else None
            if body is None:
                rec = layer_record(row, batch, nbytes)
                full = encode_at(rec, inner)
                prefix = head + escape(rec["name"]) + mid + escape(rec["label"])
                if not full.startswith(prefix):  # pragma: no cover - the record's first keys
                    raise AssertionError("layer_record: name and label come first")
                body = full[len(prefix):]
                if key is not None and len(bodies) < _MAX_BODIES:
                    bodies[key] = body
            name, label = row.id, row.label
            text = escape(name)
            if sep is None:
                sep = "," + inner + head
                add(head)
            else:
                add(sep)
            add(text)
            add(mid)
            add(text if label is name else escape(label))
            add(body)  # one shared string per kind of row: no per-record copy
        add(newline + "]")

    return Encoded(write)


_MAX_BODIES = 4096  # distinct record bodies kept by layers_text


def node_record(node, batch, nbytes) -> dict:
    return {
        "name": node.id,
        "label": node.id,
        "type": node.op,
        "patch": "",
        "output": list(node.shape),
        **layout_record(node.shape),
        "depth": node.depth,
        "columns": {},
        "params": node.params,
        "weights": None if node.bias is None else node.params - node.bias,  # None: unknown
        "buffers": node.buffers,
        "macs": node.macs,
        "ops": node.ops,
        "activations": node.activations,
        "activation_bytes": node.activations * batch * nbytes,
        "train_only": node.row.train_only if node.row else False,
        "repeat": 1,
    }


def network_json(net: Network, batch: int, dtype: str, expand: bool,
                 convention: str | None = None, text_only: bool = False) -> dict:
    """The table as data. With ``convention`` (archcost.conventions), every record and the
    total also carry ``count``: what that tool reports for the row (null where unknown).

    ``text_only``: the data is only written with :func:`~archcost.report.to_json`, so the
    spec rows' records may be an :class:`~archcost.report.Encoded` (:func:`layers_text`)."""
    nbytes = DTYPE_BYTES[dtype]
    if text_only and not expand and convention is None:
        records = layers_text(net.rows, batch, nbytes)
    else:
        records = ([node_record(n, batch, nbytes) for n in net.nodes] if expand
                   else [layer_record(r, batch, nbytes) for r in net.rows])  # fmt: skip
    totals = net.totals()
    totals["flops"] = unknown.mul(2, totals["macs"])  # None: unknown (archcost.unknown)
    totals["activation_bytes"] = totals["activations"] * batch * nbytes
    totals["weight_bytes"] = unknown.mul(totals["params"], nbytes)
    # the one inference peak (memory.peak_activations): compare and memory show the same number
    peak_bytes, peak_layer = peak_activations(net, batch, dtype)
    totals["peak_activation_bytes"] = peak_bytes
    extra = {}
    if convention is not None:
        counted = conventions.count(net, convention)
        per = counted.nodes if expand else counted.rows
        for rec in records:
            rec["count"] = per[rec["name"]]
        totals["count"] = counted.total
        extra["convention"] = {"name": convention, "label": counted.convention.label,
                               "unit": counted.convention.unit,
                               "rules": counted.convention.doc, "total": counted.total,
                               "params": counted.params,
                               "unknown_ops": list(counted.unknown_ops)}  # fmt: skip
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
        "peak_activation_bytes": peak_bytes,
        "peak_layer": peak_layer,
        "peak_assumptions": peak_assumptions(),
        "conventions": CONVENTIONS,
        **extra,
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


def render_table(net: Network, fmt: str, batch: int, dtype: str, expand: bool,
                 convention: str | None = None, units: str = "exact",
                 columns_text: str | None = None) -> str:
    data = network_json(net, batch, dtype, expand, convention)
    conv = data.get("convention")
    block_headers = merge_orders(list(rec["columns"]) for rec in data["layers"])
    columns = [Column("label", "layer", numeric=False)]
    if expand:
        columns.append(Column("type", "type", numeric=False))
    else:
        columns.append(Column("patch", "patch/stride", numeric=False))
    columns += [Column("out", "output", numeric=False), Column("depth", "depth")]
    columns += [Column("col:" + h, h) for h in block_headers]
    count_column = Column("count", conv["label"]) if conv else Column("macs", "MACs")
    columns += [Column("params", "params"), count_column, Column("ops", "other ops"),
                Column("activations", "activations")]  # fmt: skip
    if columns_text is not None:  # --columns (archcost.views)
        from ..views import resolve_columns, select_columns

        columns = select_columns(columns, resolve_columns(columns_text, block_headers))
    rows = []
    for rec in data["layers"]:
        row = dict(rec)
        row["out"] = fmt_shape(tuple(rec["output"]), rec.get("layout"))
        row["flops"] = None if rec["macs"] is None else 2 * rec["macs"]
        for h in block_headers:
            row["col:" + h] = rec["columns"].get(h)
        if rec["train_only"]:
            row["label"] = rec["label"] + " (train)"
            row["_style"] = "dim"
        if conv and row["count"] is None:
            row["count"] = "?"
        rows.append(row)
    total = data["total"]
    footer = {"label": "total", "params": total["params"], "macs": total["macs"],
              "ops": total["ops"], "activations": total["activations"]}  # fmt: skip
    footer.update({k: total[k] for k in ("weights", "buffers", "flops", "activation_bytes")})
    if conv:
        footer["count"] = "?" if total["count"] is None else total["count"]
    unknown_note = unknown.note(net) if None in (total["params"], total["macs"], total["ops"],
                                                 total["buffers"]) else None  # fmt: skip
    if unknown_note:  # '?' in text, empty in CSV (archcost.unknown)
        unknown.mark([*rows, footer])
    paper_notes = []
    if units == "paper":  # the published table's own units (archcost/paper_units.py)
        from ..paper_units import apply_paper_units

        columns, paper_notes = apply_paper_units(net.name, columns, rows, footer, total)
    notes = []
    if fmt in ("text", "md"):
        show = unknown.fmt
        buffers = f", buffers {show(total['buffers'])}" if total["buffers"] != 0 else ""
        notes = [
            f"{net.title}: input {fmt_shape(net.input.shape)}, {'training' if net.train else 'inference'}"
            f"; params {show(total['params'])} (weights {show(total['weights'])}{buffers}); "
            f"MACs {show(total['macs'])} = {show(total['flops'])} FLOPs",
            f"activations {total['activations']:,} elements/sample = "
            f"{human_bytes(total['activation_bytes'])} at {dtype}, batch {batch}; "
            f"weights {human_bytes(total['weight_bytes'])}; peak live activations "
            f"{human_bytes(total['peak_activation_bytes'])} at '{data['peak_layer']}' "
            "(`archcost memory` shows where)",
            peak_assumptions(),
            CONVENTIONS,
        ]
        if unknown_note:
            notes.append(unknown_note)
        if conv:
            shown = "unknown" if conv["total"] is None else f"{conv['total']:,}"
            notes.append(f"column '{conv['label']}' counts as {conv['name']} does: "
                         f"{conv['rules']}; total {shown}")  # fmt: skip
            if conv["unknown_ops"]:
                notes.append(f"? = {conv['name']}'s count of {', '.join(conv['unknown_ops'])} "
                             "is not modelled (archcost.conventions)")  # fmt: skip
    title = f"{net.title} ({net.name})"
    if conv:
        title += f", {conv['label']} as {conv['name']} counts"
    return render(columns, rows, fmt, title=title, footer=footer, notes=notes + paper_notes)


@click.command("table")
@click.argument("spec")
@format_option()
@batch_option
@dtype_option
@train_option
@set_option
@resolution_option
@exact_always
@fold_bn_option
@click.option("--expand", is_flag=True, help="One row per primitive layer instead of per spec row.")
@click.option("--symbolic", is_flag=True, help="Show each layer's params and MACs formula (sympy).")
@click.option("--bars", is_flag=True, help="Per-layer MAC bars drawn in the terminal.")
@click.option("--plot", "plot_file", metavar="FILE.png|svg",
              help="Also draw per-layer bars of MACs and activation memory.")  # fmt: skip
@convention_option
@click.option("--units", type=click.Choice(("exact", "paper")), default="exact",
              show_default=True, help="paper: params and MACs in the units, rounding and "
              "counting of the network's published table (GoogLeNet: weights in K = 1024, MACs "
              "in M).")  # fmt: skip
@click.option("--depth", type=click.IntRange(0, 64), default=None, metavar="N",
              help="Rows down to depth N of the block nesting, indented (0 = the spec's rows).")
@click.option("--by", "by", type=click.Choice(["type"]), default=None,
              help="Totals by primitive type with shares of params, MACs, activations.")
@click.option("--columns", metavar="A,B,...", default=None,
              help="Columns to show, in order (layer,type,output,params,MACs,FLOPs,...).")
@output_option
def command(spec, fmt, batch, dtype, train, sets, fold_bn, expand, symbolic, bars, plot_file,
            convention, units, depth, by, columns, output):  # fmt: skip
    """Per-layer output shape, params, MACs, other ops and activations of SPEC.

    One row per row of the spec (which follows the paper's table); --expand shows every
    primitive layer. Totals are the sums of the rows. --convention NAME replaces the MACs
    column by what that tool would report for the torchvision-style model.
    """
    if symbolic and convention:
        raise click.UsageError("--convention counts numbers; it does not apply to --symbolic")
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
    if depth is not None or by is not None:
        emit(_view(net, fmt, batch, dtype, depth, by, expand, convention, columns), output)
        return
    with gc_paused():  # a large network's records are many small objects that all stay alive
        if fmt == "json":
            data = network_json(net, batch, dtype, expand, convention, units != "paper")
            if units == "paper":  # each record's params and MACs as the published table prints
                from ..paper_units import paper_json

                paper_json(net.name, data)
            text = to_json(data)
        else:
            text = render_table(net, fmt, batch, dtype, expand, convention, units, columns)
    emit(text, output)


def _view(net, fmt, batch, dtype, depth, by, expand, convention, columns) -> str:
    """--depth N and --by type (archcost.views)."""
    from .. import views

    if depth is not None and (by is not None or expand):
        raise click.UsageError("--depth, --by and --expand are different views; give one")
    if convention:
        raise click.UsageError("--convention applies to the plain table, not --depth or --by")
    nbytes = DTYPE_BYTES[dtype]
    keys = views.resolve_columns(columns)
    if by == "type":
        if fmt == "json":
            return to_json(views.by_type_data(net, batch, nbytes))
        return views.render_by_type(net, fmt, batch, nbytes, keys)
    if fmt == "json":
        return to_json(views.depth_data(net, depth, batch, nbytes))
    return views.render_depth(net, depth, fmt, batch, nbytes, keys)

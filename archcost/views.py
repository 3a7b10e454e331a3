"""``table --depth N``, ``table --by type`` and ``table --columns``: the rendering side.

The numbers come from :mod:`archcost.nesting` (exact integers); this module only lays them
out through :func:`archcost.report.render` (text, Markdown, CSV, LaTeX) or as JSON data.
"""

from __future__ import annotations

import click

from . import unknown
from .layers import fmt_shape
from .nesting import at_depth, by_type
from .report import Column, human_bytes, render

# key -> (header, numeric): the columns `table --columns` can name
TABLE_COLUMNS = {
    "label": ("layer", False),
    "type": ("type", False),
    "patch": ("patch/stride", False),
    "out": ("output", False),
    "depth": ("depth", True),
    "params": ("params", True),
    "weights": ("weights", True),
    "buffers": ("buffers", True),
    "macs": ("MACs", True),
    "flops": ("FLOPs", True),
    "ops": ("other ops", True),
    "activations": ("activations", True),
    "activation_bytes": ("act. bytes", True),
    "count": ("count", True),
}
ALIASES = {"name": "label", "layer": "label", "output": "out", "shape": "out", "mac": "macs",
           "flop": "flops", "act": "activations", "other_ops": "ops", "memory": "activation_bytes",
           "act_bytes": "activation_bytes", "n": "count"}  # fmt: skip


def resolve_columns(text: str | None, block_headers=()) -> list[str] | None:
    """'name,macs,#1x1' -> ['label', 'macs', 'col:#1x1']; None when not given."""
    if text is None:
        return None
    keys = []
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        if name in block_headers:
            keys.append("col:" + name)
            continue
        key = name.lower().replace("-", "_").replace(" ", "_").replace(".", "")
        key = ALIASES.get(key, key)
        if key not in TABLE_COLUMNS:
            known = ", ".join(list(TABLE_COLUMNS) + list(block_headers))
            raise click.UsageError(f"unknown column {name!r}; columns: {known}")
        keys.append(key)
    if not keys:
        raise click.UsageError("--columns names no column")
    return keys


def select_columns(default: list[Column], keys: list[str] | None) -> list[Column]:
    """The table's columns in the order ``keys`` names them (new ones from TABLE_COLUMNS)."""
    if keys is None:
        return default
    have = {c.key: c for c in default}
    out = []
    for key in keys:
        if key in have:
            out.append(have[key])
        elif key.startswith("col:"):
            out.append(Column(key, key[4:]))
        else:
            header, numeric = TABLE_COLUMNS[key]
            out.append(Column(key, header, numeric))
    return out


def _with_derived(rec: dict, batch: int, nbytes: int) -> dict:
    row = dict(rec)
    row["flops"] = 2 * rec["macs"] if rec.get("macs") is not None else None
    row["activation_bytes"] = rec["activations"] * batch * nbytes
    return row


def depth_data(net, depth: int, batch: int, nbytes: int) -> dict:
    records = [_with_derived(r, batch, nbytes) for r in at_depth(net, depth)]
    totals = net.totals()
    return {"network": net.name, "title": net.title, "depth": depth, "batch": batch,
            "layers": records,
            "total": {**totals, "flops": unknown.mul(2, totals["macs"]),
                      "activation_bytes": totals["activations"] * batch * nbytes},
            "note": "an opened group (open: true) is followed by its children; its own cost "
                    "fields are 0 and 'subtotal' holds its sums, so the layers' costs add up "
                    "to the total"}  # fmt: skip


def render_depth(net, depth: int, fmt: str, batch: int, nbytes: int, keys=None) -> str:
    data = depth_data(net, depth, batch, nbytes)
    indent = "  " if fmt in ("text", "csv", "latex") else "\u00a0\u00a0"
    rows = []
    for rec in data["layers"]:
        row = dict(rec)
        row["label"] = indent * rec["level"] + rec["label"]
        row["out"] = fmt_shape(tuple(rec["output"]))
        if rec["open"]:  # a group header: its children carry the numbers
            for key in ("params", "weights", "buffers", "macs", "flops", "ops", "activations",
                        "activation_bytes"):  # fmt: skip
                row[key] = None
            row["_style"] = "bold"
        rows.append(row)
    default = [Column("label", "layer", numeric=False), Column("type", "type", numeric=False),
               Column("out", "output", numeric=False), Column("params", "params"),
               Column("macs", "MACs"), Column("ops", "other ops"),
               Column("activations", "activations")]  # fmt: skip
    columns = select_columns(default, keys)
    total = data["total"]
    footer = {"label": "total", **{k: total[k] for k in ("params", "weights", "buffers", "macs",
                                                          "flops", "ops", "activations",
                                                          "activation_bytes")}}  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        notes = [f"rows down to depth {depth} of the block nesting (0 = the spec's rows); a "
                 "group whose children are listed shows no numbers of its own, so the columns "
                 "add up to the total"]  # fmt: skip
    _mark_unknown(net, rows, footer, notes, fmt)
    return render(columns, rows, fmt, title=f"{net.title} ({net.name}), depth {depth}",
                  footer=footer, notes=notes)  # fmt: skip


def _mark_unknown(net, rows, footer, notes, fmt) -> None:
    """Unknown cells as ``?`` (empty in CSV) and the note that says why (archcost.unknown);
    nothing to do, at the cost of one look at the totals, for a network without unknowns."""
    if all(footer.get(k) is not None for k in ("params", "macs", "ops", "buffers")):
        return
    unknown.mark([*rows, footer], ("params", "weights", "buffers", "macs", "flops", "ops"))
    if fmt in ("text", "md"):
        notes.append(unknown.note(net))


def by_type_data(net, batch: int, nbytes: int) -> dict:
    totals = net.totals()
    return {"network": net.name, "title": net.title, "batch": batch,
            "types": [_with_derived(r, batch, nbytes) for r in by_type(net)],
            "total": {**totals, "flops": unknown.mul(2, totals["macs"]),
                      "activation_bytes": totals["activations"] * batch * nbytes}}  # fmt: skip


def render_by_type(net, fmt: str, batch: int, nbytes: int, keys=None) -> str:
    data = by_type_data(net, batch, nbytes)
    rows = []
    for rec in data["types"]:
        row = dict(rec)
        row["label"] = rec["type"]
        for key in ("params", "macs", "activations"):
            share = rec[key + "_share"]
            row[key + "_share"] = "-" if share is None else f"{share:.1f}%"
            if rec[key] is None or data["total"][key] is None:  # a share of an unknown
                row[key + "_share"] = unknown.UNKNOWN
        rows.append(row)
    default = [Column("label", "type", numeric=False), Column("count", "count"),
               Column("params", "params"), Column("params_share", "% params"),
               Column("macs", "MACs"), Column("macs_share", "% MACs"),
               Column("ops", "other ops"), Column("activations", "activations"),
               Column("activations_share", "% act.")]  # fmt: skip
    if keys is not None:
        keys = ["label" if k == "type" else k for k in keys]
    columns = select_columns(default, keys)
    total = data["total"]
    footer = {"label": "total", "count": len(net.nodes), "params_share": "100%",
              "macs_share": "100%", "activations_share": "100%",
              **{k: total[k] for k in ("params", "weights", "buffers", "macs", "flops", "ops",
                                       "activations", "activation_bytes")}}  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        notes = ["totals by primitive type (conv split into plain, grouped and depthwise); "
                 "shares of the network's params, MACs and activation memory; activation "
                 f"memory {human_bytes(total['activation_bytes'])} per batch of {batch}"]  # fmt: skip
    _mark_unknown(net, rows, footer, notes, fmt)
    for key in ("params", "macs", "activations"):
        if total[key] is None:
            footer[key + "_share"] = unknown.UNKNOWN
    return render(columns, rows, fmt, title=f"{net.title} ({net.name}) by primitive type",
                  footer=footer, notes=notes)  # fmt: skip

"""``archcost check [TABLE...]``: the published tables regenerated, cell by cell; exit 1 on any
mismatch or stale erratum.

With one table (``archcost check googlenet-table1``) the table is printed in the paper's row and
column layout: each cell is the computed value in the paper's units and rounding, with a mark
(match ✓, erratum † with a numbered footnote giving its reason and the convention it was judged
under, mismatch ✗ beside the published value). With none or several, a summary: one line per
table and the cells that differ (``--all``: every cell). ``--format json`` gives every cell's
exact computed value, unit, rounding rule, convention, network and status.
"""

from __future__ import annotations

import click

from ..options import format_option, output_option
from ..report import Column, emit, render, to_json
from ..tables import (
    MARKS,
    cell_record,
    check_table,
    find_table,
    published_text,
    table_data,
    table_files,
)

STATUS_STYLE = {"match": "green", "erratum": "yellow", "mismatch": "bold red"}
ASCII_MARKS = {"match": "(ok)", "erratum": "[{n}]", "mismatch": "MISMATCH [{n}]"}


def _mark(rec, fmt) -> str:
    n = rec.get("footnote", "")
    if fmt in ("csv", "latex"):
        return ASCII_MARKS[rec["status"]].format(n=n)
    return MARKS[rec["status"]] + (str(n) if n else "")


def _grouped(value, fmt):
    """Published and computed cells alike with thousands separators (290400 -> 290,400),
    except in CSV; decimals and units (2.7K, 34M) as printed."""
    import re

    if fmt == "csv" or not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    return re.sub(r"(?<![\d.,])\d{4,}", lambda m: f"{int(m.group()):,}", str(value))


def _cell_text(rec, fmt) -> str:
    published = published_text(rec["published"], rec["unit"] == "1")
    if rec["status"] == "match":
        return f"{rec['computed']} {_mark(rec, fmt)}"
    return f"{rec['computed']} (printed {published}) {_mark(rec, fmt)}"


def _layout(result, fmt, reasons):
    data = table_data(result)
    columns = [Column("_label", "row", numeric=False), Column("_network", "network", numeric=False)]
    columns += [Column(c["name"], c["header"]) for c in data["columns"]]
    rows = []
    for row in data["rows"]:
        out = {"_label": row["label"], "_network": row["network"]}
        worst = "match"
        for name, rec in row["cells"].items():
            out[name] = _cell_text(rec, fmt)
            if rec["status"] == "mismatch" or (rec["status"] == "erratum" and worst == "match"):
                worst = rec["status"]
        if fmt == "text" and worst != "match":
            out["_style"] = STATUS_STYLE[worst]
        rows.append(out)
    counts = data["counts"]
    notes = [f"{len(result.cells)} cells: {counts['match']} match, {counts['erratum']} errata, "
             f"{counts['mismatch']} mismatches.  Source: {data['source'].strip()}"]  # fmt: skip
    notes += [f"  {c['header']}: {c['convention']}" for c in data["columns"]]
    for fn in data["footnotes"]:
        mark = f"†{fn['n']}" if fn["status"] == "erratum" else f"✗ mismatch{fn['n']}"
        if fmt in ("csv", "latex"):
            mark = f"[{fn['n']}] " + ("erratum" if fn["status"] == "erratum" else "MISMATCH")
        text = fn["text"] if reasons or fn["status"] == "mismatch" else ""
        notes.append(f"{mark} {fn['row']} / {fn['column']} (judged under: "
                     f"{fn['convention']}){': ' + text if text else ''}")  # fmt: skip
    notes.append("ok: every cell matches or is a documented erratum" if result.ok
                 else "FAILED: a cell no longer reproduces (or an erratum is stale)")  # fmt: skip
    if fmt == "csv":
        notes = []  # a CSV file is the grid alone; --format json has the footnotes
    title = f"{result.title}  [{result.id}]: computed (paper's units and rounding) vs printed"
    text = render(columns, rows, fmt, title=title, notes=notes)
    if fmt == "latex":  # the tabular has no notes: the footnotes follow it as text
        from ..report import _latex_escape, printable

        text += "".join(f"\\par\\footnotesize {_latex_escape(printable(n))}\n" for n in notes)
    return text


def _summary(results, fmt, show_all, reasons):
    columns = [Column("table", "table", numeric=False), Column("row", "row", numeric=False),
               Column("network", "network", numeric=False),
               Column("column", "column", numeric=False),
               Column("published", "published"), Column("computed", "computed"),
               Column("status", "status", numeric=False)]  # fmt: skip
    rows, notes = [], []
    total = {"match": 0, "erratum": 0, "mismatch": 0}
    for r in results:
        counts = r.counts()
        for k, v in counts.items():
            total[k] += v
        notes.append(f"{r.id}: {len(r.cells)} cells, {counts['match']} match, "
                     f"{counts['erratum']} errata, {counts['mismatch']} mismatches  ({r.file})")  # fmt: skip
        for c in r.cells:
            if c.status == "match" and not show_all:
                continue
            status = c.status + (f" ({c.note})" if c.note else "")
            published = published_text(c.published, c.unit == "1")
            rows.append({"table": r.id, "row": c.row, "network": c.network, "column": c.column,
                         "published": _grouped(published, fmt),
                         "computed": _grouped(c.computed, fmt), "status": status,
                         "_style": STATUS_STYLE[c.status] if fmt == "text" else None})  # fmt: skip
            if reasons and c.reason and fmt in ("text", "md"):
                notes.append(f"  erratum {r.id} / {c.row} / {c.column} (judged under: "
                             f"{c.convention}): {c.reason}")  # fmt: skip
    cells = sum(total.values())
    notes.append(f"{len(results)} tables, {cells:,} cells: {total['match']:,} match, "
                 f"{total['erratum']:,} errata, {total['mismatch']:,} mismatches")  # fmt: skip
    ok = all(r.ok for r in results)
    notes.append("ok: every cell matches or is a documented erratum" if ok
                 else "FAILED: a cell no longer reproduces (or an erratum is stale)")  # fmt: skip
    title = ("Published tables: every cell" if show_all
             else "Published tables: cells that differ (--all for every cell)")  # fmt: skip
    return render(columns, rows, fmt, title=title, notes=notes)


@click.command("check")
@click.argument("tables", nargs=-1)
@format_option(("text", "json", "md", "csv", "latex"))
@click.option("--all", "show_all", is_flag=True, help="List matching cells too (summary).")
@click.option("--cells", "as_cells", is_flag=True,
              help="List cells (the summary form) even for a single table.")  # fmt: skip
@click.option("--reasons/--no-reasons", default=True, show_default=True,
              help="Print each erratum's reason.")  # fmt: skip
@output_option
def command(tables, fmt, show_all, as_cells, reasons, output):
    """Regenerate the published tables (specs/tables/*.yaml) and compare them cell by cell.

    Each printed number is compared with the engine's value in the column's stated
    conventions (what is counted, unit, rounding at the printed precision). One TABLE: the
    table in the paper's layout, computed beside published. Exit 0 when every cell matches or
    is a documented erratum; exit 1 on a mismatch or on a stale erratum (one that now matches).
    """
    paths = [find_table(t) for t in tables] if tables else table_files()
    results = [check_table(p) for p in paths]
    ok = all(r.ok for r in results)
    if fmt == "json":
        if len(results) == 1 and tables and not as_cells:
            layout = table_data(results[0])
        else:
            layout = None
        doc = {"ok": ok, "tables": [
            {"id": r.id, "title": r.title, "file": r.file, "ok": r.ok, "counts": r.counts(),
             "cells": [cell_record(c) for c in r.cells]} for r in results]}  # fmt: skip
        if layout is not None:
            doc["layout"] = layout
        emit(to_json(doc), output)
        return 0 if ok else 1
    if len(results) == 1 and tables and not as_cells:
        emit(_layout(results[0], fmt, reasons), output)
    else:
        emit(_summary(results, fmt, show_all, reasons), output)
    return 0 if ok else 1

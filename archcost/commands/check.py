"""``archcost check [TABLE...]``: every published table, cell by cell; exit 1 on any mismatch."""

from __future__ import annotations

import click

from ..options import format_option, output_option
from ..report import Column, emit, render, to_json
from ..tables import check_table, find_table, table_files

STATUS_STYLE = {"match": "green", "erratum": "yellow", "mismatch": "bold red"}


def _record(cell):
    rec = {"row": cell.row, "column": cell.column, "published": cell.published,
           "computed": cell.computed, "status": cell.status}  # fmt: skip
    if cell.reason:
        rec["reason"] = cell.reason
    if cell.note:
        rec["note"] = cell.note
    return rec


def _grouped(value, fmt):
    """Published and computed cells alike with thousands separators (290400 -> 290,400),
    except in CSV; decimals and units (2.7K, 34M) as printed."""
    import re

    if fmt == "csv" or not isinstance(value, (str, int)) or isinstance(value, bool):
        return value
    return re.sub(r"(?<![\d.,])\d{4,}", lambda m: f"{int(m.group()):,}", str(value))


@click.command("check")
@click.argument("tables", nargs=-1)
@format_option()
@click.option("--all", "show_all", is_flag=True, help="List matching cells too.")
@click.option("--reasons/--no-reasons", default=True, show_default=True,
              help="Print each erratum's reason.")  # fmt: skip
@output_option
def command(tables, fmt, show_all, reasons, output):
    """Reproduce the published tables (specs/tables/*.yaml) cell by cell.

    Each printed number is compared with the engine's value at the printed precision and in
    the table's own conventions. Exit 0 when every cell matches or is a documented erratum;
    exit 1 on a mismatch or on a stale erratum (one that now matches).
    """
    paths = [find_table(t) for t in tables] if tables else table_files()
    results = [check_table(p) for p in paths]
    ok = all(r.ok for r in results)
    if fmt == "json":
        emit(to_json({"ok": ok, "tables": [
            {"id": r.id, "title": r.title, "file": r.file, "ok": r.ok,
             "cells": [_record(c) for c in r.cells]} for r in results]}), output)  # fmt: skip
        return 0 if ok else 1
    columns = [Column("table", "table", numeric=False), Column("row", "row", numeric=False),
               Column("column", "column", numeric=False),
               Column("published", "published"), Column("computed", "computed"),
               Column("status", "status", numeric=False)]  # fmt: skip
    rows, notes = [], []
    for r in results:
        counts = {s: sum(1 for c in r.cells if c.status == s) for s in STATUS_STYLE}
        notes.append(f"{r.id}: {len(r.cells)} cells, {counts['match']} match, "
                     f"{counts['erratum']} errata, {counts['mismatch']} mismatches  ({r.file})")  # fmt: skip
        for c in r.cells:
            if c.status == "match" and not show_all:
                continue
            status = c.status + (f" ({c.note})" if c.note else "")
            rows.append({"table": r.id, "row": c.row, "column": c.column,
                         "published": _grouped(c.published, fmt),
                         "computed": _grouped(c.computed, fmt), "status": status,
                         "_style": STATUS_STYLE[c.status] if fmt == "text" else None})  # fmt: skip
            if reasons and c.reason and fmt in ("text", "md"):
                notes.append(f"  erratum {r.id} / {c.row} / {c.column}: {c.reason}")
    notes.append("ok: every cell matches or is a documented erratum" if ok
                 else "FAILED: a cell no longer reproduces (or an erratum is stale)")  # fmt: skip
    title = "Published tables: cells that differ (--all for every cell)"
    emit(render(columns, rows, fmt, title=title, notes=notes), output)
    return 0 if ok else 1

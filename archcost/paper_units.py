"""``archcost table --units paper``: params and MACs as a network's published table prints them.

The units, rounding and counting come from the table file (``specs/tables/*.yaml``) whose
table-level network is the network and that prints the most per-layer params/weights and
MACs/FLOPs cells (GoogLeNet: googlenet-table1, weights in K = 1024 truncated, MACs in M
rounded). The decimals are the ones the table prints below and from 10 units (2.7K, 112K).
A zero (a pooling row) is printed blank, as papers leave those cells empty.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

from .errors import SpecError
from .spec import _short
from .tables import _SUFFIX, ColumnDef, _column, _format_like, parse_printed, round_to, table_files
from .yamlio import load_file


@dataclass(frozen=True)
class PaperUnit:
    """How a published table prints one cost column: what it counts, its unit and suffix, its
    rounding, and the decimals it prints below and from 10 units (GoogLeNet's 2.7K / 112K)."""

    column: ColumnDef
    suffix: str
    decimals_small: int
    decimals_large: int
    table: str

    def format(self, node_values: int) -> str:
        if not node_values:
            return ""  # the paper leaves a cost cell blank where there is nothing to count
        value = Fraction(node_values) / self.column.unit
        decimals = self.decimals_small if value < 10 else self.decimals_large
        shown = round_to(value, Fraction(1, 10**decimals), self.column.rounding)
        return _format_like(shown, "", decimals, self.column.unit == 1) + self.suffix

    @property
    def header(self) -> str:
        what = {"weights": "weights", "params": "params", "macs": "MACs", "flops": "FLOPs"}
        unit = f", {self.column.unit_name}" if self.column.unit != 1 else ""
        return f"{self.column.header} ({what[self.column.quantity]}{unit})"


def paper_units(name: str) -> dict:
    """``{'params': PaperUnit, 'macs': PaperUnit}`` (either may be missing) for the network
    ``name`` (NAME or NAME:VARIANT), read from the published table (specs/tables) whose
    table-level network is ``name`` and that prints the most per-layer params/weights and
    MACs/FLOPs cells. Raises SpecError when no table prints any."""
    best, best_count = {}, 0
    for path in table_files():
        doc = load_file(path, _short(path))
        if not isinstance(doc, dict) or doc.get("network") != name:
            continue
        columns = doc.get("columns") or {}
        rows = [r for r in doc.get("rows") or [] if isinstance(r, dict) and "network" not in r
                and "count" not in r and r.get("row") != "total"]  # fmt: skip
        found, count = {}, 0
        for cname, cdef in columns.items():
            col = _column(cname, cdef, _short(path), None)
            kind = ("params" if col.quantity in ("weights", "params")
                    else "macs" if col.quantity in ("macs", "flops") else None)  # fmt: skip
            if kind is None or kind in found or col.count != "all" or col.share:
                continue
            small, large, suffix, printed = 0, 0, "", 0
            for r in rows:
                if cname not in r:
                    continue
                printed += 1
                number, decimals = parse_printed(r[cname], _short(path), None)
                m = _SUFFIX.match(str(r[cname]))
                suffix = suffix or (m.group(2) if m else "")
                if number < 10:
                    small = max(small, decimals)
                else:
                    large = max(large, decimals)
            if printed:  # a table that prints only totals says nothing of per-layer cells
                found[kind] = PaperUnit(col, suffix, small, large, os.path.basename(path)[:-5])
                count += printed
        if count > best_count:
            best, best_count = found, count
    if not best:
        raise SpecError(f"no published table in specs/tables prints per-layer params or MACs "
                        f"of '{name}' (as its table-level network); --units paper needs one")
    return best


def apply_paper_units(name: str, columns: list, rows: list, footer: dict, total: dict):
    """Rewrite ``archcost table``'s params and MACs columns in the units of the network's
    published table (:func:`paper_units`): rows are the table's records (with ``weights``,
    ``params``, ``macs``), ``total`` the network's totals. Returns (columns, notes)."""
    from .report import Column

    units = paper_units(name)
    notes = []
    for key, unit in units.items():
        source = {"weights": "weights", "params": "params", "macs": "macs",
                  "flops": "macs"}[unit.column.quantity]  # fmt: skip
        factor = 2 if unit.column.quantity == "flops" else 1
        for row in rows:
            row[key] = unit.format(factor * row[source])
        if footer is not None:
            footer[key] = unit.format(factor * total[source])
        columns = [Column(key, unit.header) if c.key == key else c for c in columns]
        notes.append(f"{unit.header}: {unit.column.convention}, as {unit.table} prints it "
                     f"(decimals: {unit.decimals_small} below 10, {unit.decimals_large} from 10)")
    return columns, notes


def paper_json(name: str, data: dict) -> None:
    """Add ``params_paper`` / ``macs_paper`` (the cells as the network's published table
    prints them) to ``archcost table --format json`` records and total, and the units used."""
    units = paper_units(name)
    for key, unit in units.items():
        source = {"weights": "weights", "params": "params", "macs": "macs",
                  "flops": "macs"}[unit.column.quantity]  # fmt: skip
        factor = 2 if unit.column.quantity == "flops" else 1
        for rec in data["layers"]:
            rec[f"{key}_paper"] = unit.format(factor * rec[source])
        data["total"][f"{key}_paper"] = unit.format(factor * data["total"][source])
    data["paper_units"] = {key: {"table": u.table, "header": u.header,
                                 "convention": u.column.convention}
                           for key, u in units.items()}  # fmt: skip

"""Published tables as data, compared cell by cell at the printed precision.

A table file (``specs/tables/ID.yaml``) keeps the table's own conventions: which quantity each
column counts (``weights`` = params without biases, ``macs``, ``flops`` = 2 x MACs, ...), its unit
(K = 1000 or 1024, millions, ...) and rounding. A printed number is compared with the computed
one rounded to as many decimals as were printed. A printed number that cannot follow from the
architecture is an **erratum**: listed in the file with the computed value and the reason.

Cell status: ``match``; ``erratum`` (differs, and documented); ``mismatch`` (differs and is
not documented, or is documented but now matches: a stale erratum, or the erratum's recorded
computed value is no longer what the engine computes).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .errors import SpecError
from .layers import fmt_shape
from .spec import _short, build, specs_dir
from .yamlio import load_file

QUANTITIES = ("params", "weights", "bias", "buffers", "macs", "flops", "ops", "activations",
              "output", "depth", "weight_layers")  # fmt: skip
TABLE_KEYS = {"id", "title", "source", "network", "conventions", "columns", "rows", "errata",
              "notes", "train"}  # fmt: skip
_SUFFIX = re.compile(r"^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z%]*)\s*$")


@dataclass
class Cell:
    row: str
    column: str
    published: object
    computed: object
    status: str
    reason: str = ""
    note: str = ""


@dataclass
class TableResult:
    id: str
    title: str
    file: str
    cells: list[Cell] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.status != "mismatch" for c in self.cells)


def table_files() -> list[str]:
    folder = os.path.join(specs_dir(), "tables")
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".yaml"))


def find_table(arg: str) -> str:
    if os.path.exists(arg):
        return arg
    for path in table_files():
        if os.path.basename(path)[:-5] == arg:
            return path
    import difflib

    ids = [os.path.basename(p)[:-5] for p in table_files()]
    close = difflib.get_close_matches(arg, ids, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else f" (tables: {', '.join(ids)})"
    raise SpecError(f"unknown table '{arg}'{hint}")


def parse_printed(value, file, line) -> tuple[Decimal, int]:
    """'2.7K' -> (2.7, 1 decimal); 1000 -> (1000, 0); '1,388' -> (1388, 0)."""
    text = value if isinstance(value, str) else repr(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"printed value {value!r} is not a number", file, line)
    m = _SUFFIX.match(text)
    if not m:
        raise SpecError(f"printed value {value!r} is not a number (optionally with a unit suffix)",
                        file, line)  # fmt: skip
    digits = m.group(1).replace(",", "")
    try:
        number = Decimal(digits)
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise SpecError(f"printed value {value!r} is not a number", file, line) from None
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return number, decimals


def _round_scaled(value: int, unit: Fraction, decimals: int, rounding: str) -> Decimal:
    q = Fraction(value) / unit * 10**decimals
    if rounding == "floor":
        n = math.floor(q)
    elif rounding == "ceil":
        n = math.ceil(q)
    else:  # nearest, half up
        n = math.floor(q + Fraction(1, 2))
    return Decimal(n) / (Decimal(10) ** decimals)


def _shape_text(shape) -> str:
    if len(shape) == 1:
        return f"1x1x{shape[0]}"
    return fmt_shape(shape)


def _norm_shape_text(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).replace("×", "x").replace("*", "x").lower()


def _quantity(net, row_name, quantity, file, line):
    if row_name == "total":
        if quantity == "flops":
            return 2 * net.total("macs")
        if quantity == "output":
            return net.output_shape
        if quantity in ("depth", "weight_layers"):
            return net.weight_layers
        return net.total(quantity)
    row = net.row(row_name)
    if row is None:
        import difflib

        close = difflib.get_close_matches(str(row_name), [r.id for r in net.rows], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SpecError(f"network {net.name} has no row '{row_name}'{hint}", file, line)
    if quantity == "flops":
        return 2 * row.macs
    if quantity == "output":
        return row.shape
    return getattr(row, quantity)


def check_table(path: str) -> TableResult:
    file = _short(path)
    doc = load_file(path, file)
    if not isinstance(doc, dict):
        raise SpecError("a table file must be a mapping (id, columns, rows, ...)", file)
    unknown = set(doc) - TABLE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(f"unknown key '{key}' in a table file", file, doc.key_line(key))
    table_id = str(doc.get("id") or os.path.basename(path)[:-5])
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise SpecError("'columns' must map column names to {quantity, unit, rounding}", file,
                        doc.line)  # fmt: skip
    for name, cdef in columns.items():
        if not isinstance(cdef, dict) or cdef.get("quantity") not in QUANTITIES:
            raise SpecError(f"column '{name}': quantity must be one of {', '.join(QUANTITIES)}",
                            file, columns.key_line(name))  # fmt: skip
        if cdef.get("rounding", "nearest") not in ("nearest", "floor", "ceil"):
            raise SpecError(f"column '{name}': rounding is nearest, floor or ceil", file,
                            columns.key_line(name))  # fmt: skip
    errata = {}
    for i, entry in enumerate(doc.get("errata") or []):
        line = doc["errata"].item_line(i)
        if not isinstance(entry, dict) or not {"column", "printed", "computed", "reason"} <= set(entry):
            raise SpecError("an erratum needs label (or row), column, printed, computed and reason",
                            file, line)  # fmt: skip
        label = entry.get("label", entry.get("row"))
        errata[(str(label), str(entry["column"]))] = (entry, line)
    result = TableResult(table_id, str(doc.get("title") or table_id), file)
    networks: dict = {}
    used_errata = set()
    for i, entry in enumerate(doc.get("rows") or []):
        line = doc["rows"].item_line(i)
        if not isinstance(entry, dict) or "row" not in entry:
            raise SpecError("a table row needs 'row' (a row name of the network, or total)", file,
                            line)  # fmt: skip
        net_name = entry.get("network", doc.get("network"))
        if not isinstance(net_name, str):
            raise SpecError("a table row needs a network (or a table-level 'network')", file, line)
        sets = entry.get("set") or {}
        train = bool(entry.get("train", doc.get("train", False)))
        key = (net_name, tuple(sorted((k, str(v)) for k, v in sets.items())), train)
        if key not in networks:
            try:
                networks[key] = build(net_name, params={k: str(v) for k, v in sets.items()} or None,
                                      train=train)  # fmt: skip
            except SpecError as err:
                raise SpecError(f"network {net_name}: {err}", file, line) from None
        net = networks[key]
        label = str(entry.get("label", entry["row"]))
        for col_name, cdef in columns.items():
            if col_name not in entry:
                continue
            printed = entry[col_name]
            quantity = cdef["quantity"]
            computed_raw = _quantity(net, entry["row"], quantity, file, line)
            if quantity == "output":
                computed = _shape_text(computed_raw)
                ok = _norm_shape_text(printed) in (_norm_shape_text(computed),
                                                   _norm_shape_text(fmt_shape(computed_raw)))  # fmt: skip
            else:
                number, decimals = parse_printed(printed, file, line)
                unit = Fraction(str(cdef.get("unit", 1)))
                rounded = _round_scaled(computed_raw, unit, decimals, cdef.get("rounding", "nearest"))
                computed = _format_like(rounded, printed, decimals)
                ok = rounded == number
            erratum = errata.get((label, col_name))
            if erratum:
                used_errata.add((label, col_name))
                entry_e, eline = erratum
                recorded = str(entry_e["computed"])
                if ok:
                    status, note = "mismatch", "stale erratum: the printed value now reproduces"
                elif _norm_shape_text(recorded) != _norm_shape_text(computed):
                    status, note = "mismatch", f"erratum records computed {recorded}, engine gives {computed}"
                elif str(entry_e["printed"]) != str(printed):
                    status, note = "mismatch", "erratum's printed value differs from the row's"
                else:
                    status, note = "erratum", ""
                result.cells.append(Cell(label, col_name, printed, computed, status,
                                         str(entry_e["reason"]), note))  # fmt: skip
            else:
                result.cells.append(Cell(label, col_name, printed, computed,
                                         "match" if ok else "mismatch"))  # fmt: skip
    for key, (_entry, line) in errata.items():
        if key not in used_errata:
            raise SpecError(f"erratum for row '{key[0]}', column '{key[1]}' names no printed cell",
                            file, line)  # fmt: skip
    return result


def _format_like(rounded: Decimal, printed, decimals: int) -> str:
    text = f"{rounded:.{decimals}f}"
    if isinstance(printed, str):
        m = _SUFFIX.match(printed)
        if m and m.group(2):
            text += m.group(2)
    return text

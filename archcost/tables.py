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

from .errors import SpecError, brief, did_you_mean
from .layers import fmt_shape
from .limits import MAX_COLUMNS, MAX_PRINTED_DIGITS, MAX_TABLE_NETWORKS, MAX_TABLE_WORK
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
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise SpecError(f"printed value {brief(value)} is not a number", file, line)
    text = value if isinstance(value, str) else repr(value)
    m = _SUFFIX.match(text) if len(text) <= 2 * MAX_PRINTED_DIGITS else None
    if not m:
        raise SpecError(f"printed value {brief(value)} is not a number (optionally with a unit "
                        f"suffix, at most {MAX_PRINTED_DIGITS} digits)", file, line)  # fmt: skip
    digits = m.group(1).replace(",", "")
    if len(digits) > MAX_PRINTED_DIGITS:  # 10**decimals of a 2 MB '1.000...' hung
        raise SpecError(f"printed value has more than {MAX_PRINTED_DIGITS} digits", file, line)
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
    return Decimal(f"{n}e-{decimals}")  # exact (a division would round to 28 digits)


def _shape_text(shape) -> str:
    if len(shape) == 1:
        return f"1x1x{shape[0]}"
    return fmt_shape(shape)


def _norm_shape_text(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).replace("×", "x").replace("*", "x").lower()


def _quantity(net, rows, row_name, quantity, file, line):
    if row_name == "total":
        if quantity == "flops":
            return 2 * net.total("macs")
        if quantity == "output":
            return net.output_shape
        if quantity in ("depth", "weight_layers"):
            return net.weight_layers
        return net.total(quantity)
    row = rows.get(row_name)  # a dict: Network.row() is a linear search, per cell
    if row is None:
        hint = did_you_mean(row_name, [r.id for r in net.rows])
        raise SpecError(f"network {net.name} has no row {brief(row_name)}{hint}", file, line)
    if quantity == "flops":
        return 2 * row.macs
    if quantity == "output":
        return row.shape
    return getattr(row, quantity)


def _text(value, what, file, line, required=True) -> str:
    """A label, row name, column, id or title: text or a number, never a list or mapping
    (str() of an aliased list could take forever)."""
    if value is None and not required:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise SpecError(f"{what} must be text, got {brief(value)}", file, line)
    return str(value)


def _list_of_mappings(doc, key, file, what):
    value = doc.get(key) or []
    if not isinstance(value, list):
        raise SpecError(f"'{key}' must be a list of {what}", file, doc.key_line(key))
    return value


def _unit(cdef, name, file, line) -> Fraction:
    unit = cdef.get("unit", 1)
    if isinstance(unit, str) and re.fullmatch(r"[0-9]{1,30}(\.[0-9]{1,30})?([eE]\+?[0-9]{1,2})?",
                                                 unit.strip()):
        unit = Fraction(unit.strip())
    elif isinstance(unit, float) and unit == unit and unit not in (float("inf"), float("-inf")):
        unit = Fraction(repr(unit))
    if isinstance(unit, bool) or not isinstance(unit, (int, Fraction)) or not 0 < unit < 10**30:
        raise SpecError(f"column '{name}': unit must be a positive number (1000, 1024, 1e9, ...), "
                        f"got {brief(cdef.get('unit'))}", file, line)  # fmt: skip
    return Fraction(unit)


def check_table(path: str) -> TableResult:
    file = _short(path)
    doc = load_file(path, file)
    if not isinstance(doc, dict):
        raise SpecError("a table file must be a mapping (id, columns, rows, ...)", file,
                        getattr(doc, "line", None))  # fmt: skip
    unknown = set(doc) - TABLE_KEYS
    if unknown:
        key = sorted(unknown, key=str)[0]
        raise SpecError(f"unknown key {brief(key)} in a table file{did_you_mean(key, TABLE_KEYS)}",
                        file, doc.key_line(key))  # fmt: skip
    table_id = _text(doc.get("id") or os.path.basename(path)[:-5], "'id'", file, doc.key_line("id"))
    title = _text(doc.get("title") or table_id, "'title'", file, doc.key_line("title"))
    default_train = doc.get("train", False)
    if not isinstance(default_train, bool):
        raise SpecError("'train' must be true or false", file, doc.key_line("train"))
    columns = doc.get("columns")
    if not isinstance(columns, dict) or not columns:
        raise SpecError("'columns' must map column names to {quantity, unit, rounding}", file,
                        doc.key_line("columns"))  # fmt: skip
    if len(columns) > MAX_COLUMNS:
        raise SpecError(f"more than {MAX_COLUMNS} columns", file, doc.key_line("columns"))
    units = {}
    for name, cdef in columns.items():
        cline = columns.key_line(name)
        if not isinstance(name, str):
            raise SpecError(f"a column name must be text, got {brief(name)}", file, cline)
        if not isinstance(cdef, dict) or cdef.get("quantity") not in QUANTITIES:
            raise SpecError(f"column '{name}': quantity must be one of {', '.join(QUANTITIES)}",
                            file, cline)  # fmt: skip
        if cdef.get("rounding", "nearest") not in ("nearest", "floor", "ceil"):
            raise SpecError(f"column '{name}': rounding is nearest, floor or ceil", file, cline)
        units[name] = _unit(cdef, name, file, cline)
    errata = {}
    errata_list = _list_of_mappings(doc, "errata", file, "errata")
    for i, entry in enumerate(errata_list):
        line = errata_list.item_line(i)
        if not isinstance(entry, dict) or not all(
            k in entry for k in ("column", "printed", "computed", "reason")
        ):
            raise SpecError("an erratum needs label (or row), column, printed, computed and reason",
                            file, line)  # fmt: skip
        label = _text(entry.get("label", entry.get("row")), "an erratum's label", file, line)
        for key in ("printed", "computed", "reason"):
            entry_line = entry.key_line(key) if hasattr(entry, "key_line") else line
            _text(entry[key], f"an erratum's {key}", file, entry_line)
        errata[(label, _text(entry["column"], "an erratum's column", file, line))] = (entry, line)
    result = TableResult(table_id, title, file)
    networks: dict = {}
    work = 0
    used_errata = set()
    rows = _list_of_mappings(doc, "rows", file, "rows")
    for i, entry in enumerate(rows):
        line = rows.item_line(i)
        if not isinstance(entry, dict) or "row" not in entry:
            raise SpecError("a table row needs 'row' (a row name of the network, or total)", file,
                            line)  # fmt: skip
        net_name = entry.get("network", doc.get("network"))
        if not isinstance(net_name, str):
            raise SpecError("a table row needs a network (or a table-level 'network')", file, line)
        base = net_name.split(":")[0]
        if base.endswith((".yaml", ".yml")):  # relative to the table file, confined to its folder
            from .safeio import confined_path

            try:
                where = confined_path(base, os.path.dirname(path), "network")
            except SpecError as err:
                raise err.located(file, line) from None
            net_name = where + net_name[len(base):]
        elif (
            "/" in base or os.sep in base or "\0" in base or os.path.exists(base)
        ):
            # like extends: a table file must not make archcost read /etc/passwd or a device
            raise SpecError(f"network {brief(net_name)}: name a built-in network or a .yaml file",
                            file, line)  # fmt: skip
        sets = entry.get("set") or {}
        if not isinstance(sets, dict) or not all(
            isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in sets.items()
        ):
            raise SpecError("'set' must map parameter names to numbers, e.g. {alpha: 0.5}", file,
                            line)  # fmt: skip
        train = entry.get("train", default_train)
        if not isinstance(train, bool):
            raise SpecError("'train' must be true or false", file, line)
        row_name = _text(entry["row"], "'row'", file, line)
        label = _text(entry.get("label", row_name), "'label'", file, line)
        # every row's own work counts too: aliases let 250,000 rows share one big 'set'
        work += 1 + len(sets) + len(columns)
        if work > MAX_TABLE_WORK:
            raise SpecError(f"this table's rows and networks take more than {MAX_TABLE_WORK:,} "
                            "steps (rows, cells, layers)", file, line)  # fmt: skip
        key = (net_name, tuple(sorted((k, str(v)) for k, v in sets.items())), train)
        if key not in networks and len(networks) >= MAX_TABLE_NETWORKS:
            raise SpecError(f"a table builds at most {MAX_TABLE_NETWORKS} networks (network, "
                            "set and train combinations)", file, line)  # fmt: skip
        if key not in networks:
            try:
                net = build(net_name, params={k: str(v) for k, v in sets.items()} or None,
                            train=train)  # fmt: skip
            except SpecError as err:
                raise SpecError(f"network {net_name}: {err}", file, line) from None
            # each network is built once, but a table naming many variants or parameter sets
            # could build without end: the work over all of them is bounded
            work += net.meta.get("work", len(net.nodes))
            if work > MAX_TABLE_WORK:
                raise SpecError(f"this table's rows and networks take more than {MAX_TABLE_WORK:,} "
                                "steps (rows, cells, layers)", file, line)  # fmt: skip
            networks[key] = (net, {r.id: r for r in net.rows})
        net, net_rows = networks[key]
        for col_name, cdef in columns.items():
            if col_name not in entry:
                continue
            printed = entry[col_name]
            pline = entry.key_line(col_name) if hasattr(entry, "key_line") else line
            quantity = cdef["quantity"]
            computed_raw = _quantity(net, net_rows, row_name, quantity, file, line)
            if quantity == "output":
                _text(printed, f"column '{col_name}'", file, pline)
                computed = _shape_text(computed_raw)
                ok = _norm_shape_text(printed) in (_norm_shape_text(computed),
                                                   _norm_shape_text(fmt_shape(computed_raw)))  # fmt: skip
            else:
                number, decimals = parse_printed(printed, file, pline)
                rounded = _round_scaled(computed_raw, units[col_name], decimals,
                                        cdef.get("rounding", "nearest"))  # fmt: skip
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

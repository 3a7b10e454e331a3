"""Published tables as data, regenerated in the paper's own conventions and compared cell by cell.

A table file (``specs/tables/ID.yaml``) states, per column, the conventions of the printed
numbers (:class:`ColumnDef`):

* ``quantity``: what is counted (``weights`` = params without biases, ``macs``, ``flops`` =
  2 x MACs, ``output`` shape, ``depth``, a block's filter column, a ``ratio`` of two cells ...);
* ``count``: a named counting preset (:data:`COUNTS`): ``all`` (archcost's count, default),
  ``conv-only`` (the convolutions alone, "MACs without the FC layers"), ``no-classifier``
  (without the network's last fully connected layer), ``pool-window`` (MACs + k*k per output
  element of each pooling window: the LeNet slide's "4 per pooled output");
* ``unit``: 1, 1000 or 1024 (K), 10^6 (M), 10^9 (G), ...;
* ``rounding``: ``nearest`` (half up), ``floor`` (truncate) or ``ceil``, applied at the
  ``precision`` of the printed number: ``decimals`` (as many decimals as printed, the default)
  or ``significant`` (the printed significant figures: the trailing zeros of a whole number
  are not significant, so 15300 is compared to the hundred and 60 to the ten).

A printed value is compared with the computed one rounded by its column's rule (never a rule
chosen per cell). A printed number that no stated convention explains is an **erratum**:
listed in the file with the computed value and the reason, and reported with the convention
it was judged under (the column's).

Cell status: ``match``; ``erratum`` (differs, and documented); ``mismatch`` (differs and is
not documented, or is documented but now matches: a stale erratum, or the erratum's recorded
computed value is no longer what the engine computes).

:func:`check_table` returns a :class:`TableResult`; :func:`table_data` turns it into the
table as the paper printed it (rows x columns, computed beside published), as plain data
for ``archcost check TABLE_ID`` and the HTML report.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from .errors import SpecError, brief, did_you_mean
from .layers import elements, fmt_shape
from .limits import MAX_COLUMNS, MAX_PRINTED_DIGITS, MAX_TABLE_NETWORKS, MAX_TABLE_WORK
from .spec import _short, build, specs_dir
from .yamlio import load_file

QUANTITIES = ("params", "weights", "bias", "buffers", "macs", "flops", "ops", "activations",
              "output", "input", "depth", "weight_layers", "layers", "repeat", "patch", "filters",
              "channels", "in_channels", "in_features", "type", "ratio")  # fmt: skip
SHAPES = ("output", "input", "patch", "type")  # compared as text (H x W x C, '7x7/2', type)
# a row's type as papers print it: a block's name, else its first layer's kind
TYPE_NAMES = {"conv": "convolution", "maxpool": "max pool", "avgpool": "avg pool",
              "global_avgpool": "avg pool", "adaptive_avgpool": "avg pool", "linear": "linear",
              "dropout": "dropout", "softmax": "softmax", "lrn": "lrn", "bn": "batch norm"}
BLOCK_TYPES = ("inception",)  # blocks that papers print as a type of their own
TABLE_KEYS = {"id", "title", "source", "network", "conventions", "columns", "rows", "errata",
              "notes", "train"}  # fmt: skip
COLUMN_KEYS = {"quantity", "unit", "rounding", "precision", "count", "header", "key", "basis",
               "share", "whole"}  # fmt: skip
ROW_KEYS = {"row", "label", "network", "set", "train", "of", "to", "count"}
ROUNDINGS = {"nearest": "rounded to nearest (half up)", "floor": "truncated",
             "ceil": "rounded up"}  # fmt: skip
PRECISIONS = {"decimals": "at the printed decimals",
              "significant": "at the printed significant figures"}  # fmt: skip
_SUFFIX = re.compile(r"^\s*([-+]?[0-9][0-9,]*(?:\.[0-9]+)?)\s*([A-Za-z%]*)\s*$")


def _node_value(node, quantity):
    if quantity == "weight_layers":
        return 1 if node.weight else 0
    if quantity == "weights":
        return node.params - node.bias
    if quantity == "flops":
        return 2 * node.macs
    return getattr(node, quantity)


def _pool_window(node) -> int:
    k = node.fields.get("k", 1)
    kh, kw = (k, k) if isinstance(k, int) else tuple(k)
    return kh * kw * elements(node.shape)


@dataclass(frozen=True)
class Count:
    """A counting preset: which nodes (and extra terms) a published column counts."""

    name: str
    doc: str
    quantities: tuple  # the quantities it applies to

    def value(self, net, nodes, quantity) -> int:
        if self.name == "conv-only":
            return sum(_node_value(n, quantity) for n in nodes if n.op == "conv")
        if self.name == "no-classifier":
            linear = [n for n in net.nodes if n.op == "linear"]
            skip = linear[-1] if linear else None
            return sum(_node_value(n, quantity) for n in nodes if n is not skip)
        if self.name == "kernels":
            return sum(_node_value(n, quantity) for n in nodes if n.op in ("conv", "linear"))
        if self.name in _KINDS:
            return sum(_node_value(n, quantity) for n in nodes if _KINDS[self.name](n))
        if self.name == "weight-outputs":
            return sum(elements(n.shape) for n in nodes if n.weight)
        if self.name == "pool-window":
            pools = sum(_pool_window(n) for n in nodes if n.op in ("maxpool", "avgpool"))
            return sum(_node_value(n, quantity) for n in nodes) + pools
        return sum(_node_value(n, quantity) for n in nodes)


def _groups(n) -> int:
    return n.fields.get("g", 1) if n.op == "conv" else 0


_KINDS = {  # layer kinds of a "resource per layer type" table (MobileNet's Table 2)
    "pointwise": lambda n: n.op == "conv" and n.fields.get("k") == (1, 1) and _groups(n) == 1,
    "depthwise": lambda n: n.op == "conv" and _groups(n) > 1
    and _groups(n) == n.inputs[0].shape[0],
    "full-conv": lambda n: n.op == "conv" and n.fields.get("k") != (1, 1) and _groups(n) == 1,
    "fc": lambda n: n.op == "linear",
}
_COUNTABLE = ("params", "weights", "bias", "macs", "flops", "weight_layers")
COUNTS = {c.name: c for c in (
    Count("all", "archcost's count", QUANTITIES),
    Count("conv-only", "the convolutions only (no fully connected layer)", _COUNTABLE),
    Count("no-classifier", "without the classifier (the network's last fully connected layer)",
          _COUNTABLE),
    Count("pool-window", "MACs + k*k per output element of each max/avg pool (the reads of "
          "each pooling window, e.g. 4 per pooled output of a 2x2 pool)", ("macs", "flops")),
    Count("pointwise", "1x1 convolutions only", _COUNTABLE),
    Count("depthwise", "depthwise convolutions only (one filter per input channel)",
          _COUNTABLE),
    Count("full-conv", "full (not depthwise) convolutions with a window larger than 1x1 only",
          _COUNTABLE),
    Count("fc", "fully connected layers only", _COUNTABLE),
    Count("kernels", "the kernels of the convolutions and FC layers (no batch-norm scale and "
          "shift)", _COUNTABLE),
    Count("weight-outputs", "outputs of the weight layers (conv, linear) only: their 'neurons'",
          ("activations",)),
)}  # fmt: skip


@dataclass(frozen=True)
class ColumnDef:
    name: str
    quantity: str
    unit: Fraction = Fraction(1)
    rounding: str = "nearest"
    precision: str = "decimals"
    count: str = "all"
    header: str = ""
    key: str = ""  # the block column a 'filters' column reads ('#3x3 reduce')
    basis: str = "exact"  # a ratio of the exact values, or of the values as shown
    share: bool = False  # the counted value as a fraction of the column's whole count
    share_of: str = "all"  # how the whole of a share is counted (column key 'whole')

    @property
    def unit_name(self) -> str:
        return unit_name(self.unit)

    @property
    def rule(self) -> str:
        if self.quantity == "patch":
            return "compared as printed (k x k/stride)"
        if self.quantity == "type":
            return "compared as printed (a block's name, else the first layer's kind)"
        if self.quantity in SHAPES:
            return "compared as printed (H x W x C)"
        if self.unit == 1 and self.quantity != "ratio" and self.precision == "decimals":
            return "exact"
        return f"{ROUNDINGS[self.rounding]} {PRECISIONS[self.precision]}"

    @property
    def convention(self) -> str:
        what = self.quantity if self.quantity != "filters" else f"filters '{self.key}'"
        if self.quantity == "ratio":
            what = f"ratio of the {'shown' if self.basis == 'shown' else 'exact'} values"
        parts = [what]
        if self.count != "all":
            parts.append(COUNTS[self.count].doc)
        if self.share:
            whole = "" if self.share_of == "all" else f" ({COUNTS[self.share_of].doc})"
            parts.append(f"as a share of the network's (or row's) whole count{whole}")
        if self.quantity not in SHAPES:
            parts.append(f"unit {self.unit_name}")
        parts.append(self.rule)
        return "; ".join(parts)


def unit_name(unit: Fraction) -> str:
    names = {1: "1", 1000: "K = 1000", 1024: "K = 1024", 10**6: "M = 10^6",
             1 << 20: "M = 2^20", 10**9: "G = 10^9", Fraction(1, 100): "% (1/100)"}  # fmt: skip
    if unit in names:
        return names[unit]
    if unit.denominator == 1 and unit > 1:
        n = unit.numerator
        e = len(str(n)) - 1
        if n == 10**e:
            return f"10^{e}"
    return str(unit)


@dataclass
class Cell:
    row: str
    column: str
    published: object
    computed: object
    status: str
    reason: str = ""
    note: str = ""
    network: str = ""
    exact: object = None  # the computed value before units and rounding (int, or shape text)
    convention: str = ""
    unit: str = ""
    rule: str = ""
    index: int = -1  # the row's position in the table file (labels may repeat)


@dataclass
class TableResult:
    id: str
    title: str
    file: str
    cells: list[Cell] = field(default_factory=list)
    columns: list[ColumnDef] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)  # (label, network) in the file's order
    source: str = ""
    conventions: str = ""

    @property
    def ok(self) -> bool:
        return all(c.status != "mismatch" for c in self.cells)

    def counts(self) -> dict:
        out = {"match": 0, "erratum": 0, "mismatch": 0}
        for c in self.cells:
            out[c.status] += 1
        return out


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


def quantum(number: Decimal, decimals: int, precision: str) -> Fraction:
    """The place of the printed number's last significant digit: 10^-decimals, or for a whole
    number at ``significant`` precision 10^(its trailing zeros) (15300 -> 100, 60 -> 10)."""
    if precision == "significant" and decimals == 0 and number != 0:
        digits = str(abs(int(number)))
        return Fraction(10 ** (len(digits) - len(digits.rstrip("0"))))
    return Fraction(1, 10**decimals)


def round_to(value: Fraction, step: Fraction, rounding: str) -> Fraction:
    q = value / step
    if rounding == "floor":
        n = math.floor(q)
    elif rounding == "ceil":
        n = math.ceil(q)
    else:  # nearest, half up
        n = math.floor(q + Fraction(1, 2))
    return n * step


def _shape_text(shape) -> str:
    if len(shape) == 1:
        return f"1x1x{shape[0]}"
    return fmt_shape(shape)


def _norm_shape_text(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).replace("×", "x").replace("*", "x").lower()


def _group_value(net, nodes, cdef: ColumnDef, name, file, line):
    """A counted quantity over a group of nodes ('ROW.1/*': one unit of a repeated row)."""
    if cdef.quantity not in _COUNTABLE + ("activations", "ops"):
        raise SpecError(f"column '{cdef.name}': a node group {brief(name)} has no "
                        f"{cdef.quantity}", file, line)  # fmt: skip
    return COUNTS[cdef.count].value(net, nodes, cdef.quantity)


class _NodeRow:
    """One node of a network addressed as a table row ('dw separable (s1, 64)/conv pw'): a
    published table may print the layers that archcost groups into one block row."""

    def __init__(self, node):
        self.nodes = [node]
        self.node = node
        self.columns = {}
        self.shape = node.shape
        self.params, self.bias, self.macs, self.ops = node.params, node.bias, node.macs, node.ops
        self.weights = node.params - node.bias
        self.buffers, self.activations, self.depth = node.buffers, node.activations, node.depth
        self.weight_layers = 1 if node.weight else 0
        self.repeat = 1
        self.type = node.op
        k, s = node.fields.get("k"), node.fields.get("s")
        if isinstance(k, tuple) and isinstance(s, tuple):
            self.patch = f"{k[0]}x{k[1]}/{s[0]}" if s[0] == s[1] else f"{k[0]}x{k[1]}/{s}"
        else:
            self.patch = ""


def _row_input(row):
    if not row.nodes or not row.nodes[0].inputs:
        return ()
    return row.nodes[0].inputs[0].shape


def _quantity(net, rows, row_name, cdef: ColumnDef, file, line):
    unknown = net.__dict__.get("_unknown_rows")
    if unknown is None:  # looked up once per network
        unknown = net.__dict__["_unknown_rows"] = [n.id for n in net.nodes if n.op == "unknown"]
    if unknown:  # a published number cannot be checked against an unknown (archcost.unknown)
        raise SpecError(f"network {net.name} has {len(unknown)} row(s) of type unknown "
                        f"({', '.join(unknown[:3])}) archcost has no formula for; its cells "
                        "cannot be checked", file, line)  # fmt: skip
    value = _counted(net, rows, row_name, cdef, file, line)
    if not cdef.share:
        return value
    # the whole is counted as the column's 'whole' says (all, kernels ...), whatever is selected
    whole = _counted(net, rows, row_name, ColumnDef(cdef.name, cdef.quantity,
                                                    count=cdef.share_of), file, line)  # fmt: skip
    return Fraction(value, whole) if whole else Fraction(0)


def _counted(net, rows, row_name, cdef: ColumnDef, file, line):
    quantity = cdef.quantity
    count = COUNTS[cdef.count]
    if row_name == "total":
        if cdef.count != "all":
            return count.value(net, net.nodes, quantity)
        if quantity == "flops":
            return 2 * net.total("macs")
        if quantity == "output":
            return net.output_shape
        if quantity in ("depth", "weight_layers"):
            return net.weight_layers
        if quantity == "layers":  # the weight layers on the path through the rows, in order
            return sum(r.depth for r in net.rows if not r.train_only)
        if quantity in ("input", "patch", "filters", "repeat", "channels", "in_channels",
                        "in_features", "type"):
            raise SpecError(f"column '{cdef.name}': {quantity} is a row's, not a total", file,
                            line)  # fmt: skip
        return net.total(quantity)
    row = rows.get(row_name)  # a dict: Network.row() is a linear search, per cell
    if row is None:
        node = rows.get(("node", row_name))
        if node is None and row_name.endswith("/*") and len(row_name) > 2:
            # a group of nodes: every node whose id starts with the prefix ('... .1/*')
            prefix = row_name[:-2]
            group = [n for n in net.nodes if n.id == prefix or n.id.startswith(prefix + "/")]
            if group:
                return _group_value(net, group, cdef, row_name, file, line)
        if node is None:
            hint = did_you_mean(row_name, [r.id for r in net.rows])
            raise SpecError(f"network {net.name} has no row {brief(row_name)}{hint}", file,
                            line)  # fmt: skip
        row = _NodeRow(node)
    if cdef.count != "all":
        return count.value(net, row.nodes, quantity)
    if quantity == "flops":
        return 2 * row.macs
    if quantity == "output":
        return row.shape
    if quantity == "input":
        return _row_input(row)
    if quantity == "layers":
        return row.depth
    if quantity == "channels":  # C of the row's output (a flat vector's length)
        return row.shape[0]
    if quantity in ("in_channels", "in_features"):
        shape = _row_input(row)
        return shape[0] if quantity == "in_channels" else elements(shape)
    if quantity == "repeat":
        return getattr(row, "repeat", 1)
    if quantity == "patch":
        return row.patch
    if quantity == "type":
        if getattr(row, "type", "") in BLOCK_TYPES:
            return row.type
        first = row.nodes[0].op if row.nodes else ""
        return TYPE_NAMES.get(first, first)
    if quantity == "filters":
        if cdef.key not in row.columns:
            raise SpecError(f"row {brief(row_name)} of {net.name} has no column "
                            f"{brief(cdef.key)}", file, line)  # fmt: skip
        return row.columns[cdef.key]
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


def _column(name, cdef, file, line) -> ColumnDef:
    if not isinstance(name, str):
        raise SpecError(f"a column name must be text, got {brief(name)}", file, line)
    if not isinstance(cdef, dict) or cdef.get("quantity") not in QUANTITIES:
        raise SpecError(f"column '{name}': quantity must be one of {', '.join(QUANTITIES)}",
                        file, line)  # fmt: skip
    unknown = set(cdef) - COLUMN_KEYS
    if unknown:
        key = sorted(unknown, key=str)[0]
        raise SpecError(f"column '{name}': unknown key {brief(key)}"
                        f"{did_you_mean(key, COLUMN_KEYS)}", file, line)  # fmt: skip
    choices = {"rounding": ROUNDINGS, "precision": PRECISIONS, "count": COUNTS,
               "basis": ("exact", "shown"), "whole": COUNTS}  # fmt: skip
    for key, allowed in choices.items():
        if key in cdef and not (isinstance(cdef[key], str) and cdef[key] in allowed):
            raise SpecError(f"column '{name}': {key} is one of {', '.join(allowed)}", file, line)
    quantity = cdef["quantity"]
    count = cdef.get("count", "all")
    if quantity not in COUNTS[count].quantities:
        raise SpecError(f"column '{name}': count {count} does not apply to {quantity}", file,
                        line)  # fmt: skip
    key = _text(cdef.get("key"), f"column '{name}': key", file, line, required=False)
    if quantity == "filters" and not key:
        raise SpecError(f"column '{name}': a filters column names its block column (key)", file,
                        line)  # fmt: skip
    header = _text(cdef.get("header"), f"column '{name}': header", file, line, required=False)
    share = cdef.get("share", False)
    if not isinstance(share, bool) or (share and quantity not in _COUNTABLE):
        raise SpecError(f"column '{name}': share is true or false, for a counted quantity", file,
                        line)  # fmt: skip
    return ColumnDef(name, quantity, _unit(cdef, name, file, line),
                     cdef.get("rounding", "nearest"), cdef.get("precision", "decimals"), count,
                     header or name, key, cdef.get("basis", "exact"), share,
                     cdef.get("whole", "all"))  # fmt: skip


def _network_label(net_name, sets) -> str:
    if not sets:
        return net_name
    return f"{net_name} [{', '.join(f'{k}={v}' for k, v in sets.items())}]"


def _group(text: str) -> str:
    """Thousands separators in the whole part of a number as printed ('433800' -> '433,800')."""
    m = re.fullmatch(r"([-+]?)([0-9]+)((?:\.[0-9]+)?[A-Za-z%]*)", text)
    if not m:
        return text
    return f"{m.group(1)}{int(m.group(2)):,}{m.group(3)}"


def published_text(value, group: bool = True) -> str:
    """A printed value as text; whole numbers of an exact column (unit 1) get thousands
    separators."""
    if isinstance(value, str):
        return value
    text = repr(value) if isinstance(value, float) else str(value)
    return _group(text) if group else text


def _format_like(rounded: Fraction, printed, decimals: int, group: bool = True) -> str:
    """The computed value written like the printed one (its decimals and unit suffix), with
    thousands separators for exact counts (unit 1)."""
    text = f"{Decimal(rounded.numerator) / Decimal(rounded.denominator):.{decimals}f}"
    text = _group(text) if group else text
    if isinstance(printed, str):
        m = _SUFFIX.match(printed)
        if m and m.group(2):
            text += m.group(2)
    return text


_SUFFIX_UNITS = {"K": (1000, 1024), "M": (10**6, 1 << 20), "G": (10**9, 1 << 30)}


def _check_suffix(cdef: ColumnDef, printed, file, line):
    """A printed '1.2M' in a column of K: the cell is in the wrong column (it would compare
    1.2 thousand)."""
    m = _SUFFIX.match(printed) if isinstance(printed, str) else None
    suffix = m.group(2) if m else ""
    if suffix in _SUFFIX_UNITS and cdef.unit not in _SUFFIX_UNITS[suffix]:
        raise SpecError(f"column '{cdef.name}' counts in units of {cdef.unit_name}, but the "
                        f"printed {brief(printed)} says {suffix}", file, line)  # fmt: skip


def _exact(value):
    """An int as is; a fraction (a share, a ratio) exactly, as 'numerator/denominator'."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else str(value)
    return value


def _compare(cdef: ColumnDef, raw, printed, file, line):
    """(computed text, exact value, shown value as an absolute Fraction or None, ok)."""
    if cdef.quantity in SHAPES:
        _text(printed, f"column '{cdef.name}'", file, line)
        if cdef.quantity in ("patch", "type"):
            computed = str(raw)
            return computed, computed, None, _norm_shape_text(printed) == _norm_shape_text(raw)
        computed = _shape_text(raw)
        ok = _norm_shape_text(printed) in (_norm_shape_text(computed),
                                           _norm_shape_text(fmt_shape(raw)))  # fmt: skip
        if ok and _norm_shape_text(printed) == _norm_shape_text(fmt_shape(raw)):
            computed = fmt_shape(raw)  # shown as printed: a flat '400', not '1x1x400'
        return computed, computed, None, ok
    number, decimals = parse_printed(printed, file, line)
    _check_suffix(cdef, printed, file, line)
    step = quantum(number, decimals, cdef.precision)
    rounded = round_to(Fraction(raw) / cdef.unit, step, cdef.rounding)
    computed = _format_like(rounded, printed, decimals, cdef.unit == 1)
    exact = _exact(raw)
    return computed, exact, rounded * cdef.unit, Fraction(number) == rounded


def _status(entry_e, ok, computed, printed):
    recorded = str(entry_e["computed"])
    if ok:
        return "mismatch", "stale erratum: the printed value now reproduces"
    if _norm_shape_text(recorded).replace(",", "") != _norm_shape_text(computed).replace(",", ""):
        return "mismatch", f"erratum records computed {recorded}, engine gives {computed}"
    if str(entry_e["printed"]) != str(printed):
        return "mismatch", "erratum's printed value differs from the row's"
    return "erratum", ""


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
    cdefs = {name: _column(name, cdef, file, columns.key_line(name))
             for name, cdef in columns.items()}  # fmt: skip
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
    result = TableResult(table_id, title, file, columns=list(cdefs.values()),
                         source=str(doc.get("source") or ""),
                         conventions=str(doc.get("conventions") or ""))  # fmt: skip
    networks: dict = {}
    work = 0
    used_errata = set()
    shown: dict = {}  # (label, column) -> (exact, shown) for ratio cells
    contexts: dict = {}  # label -> (network, its rows, row name, shown name)
    ratios = []
    rows = _list_of_mappings(doc, "rows", file, "rows")
    for i, entry in enumerate(rows):
        line = rows.item_line(i)
        if not isinstance(entry, dict) or ("row" not in entry and "of" not in entry):
            raise SpecError("a table row needs 'row' (a row name of the network, or total), or "
                            "'of' and 'to' for a ratio", file, line)  # fmt: skip
        extra = [k for k in entry if k not in ROW_KEYS and k not in cdefs]
        if extra:
            raise SpecError(f"row key {brief(extra[0])} is neither a column nor one of "
                            f"{', '.join(sorted(ROW_KEYS))}"
                            f"{did_you_mean(str(extra[0]), list(cdefs) + sorted(ROW_KEYS))}",
                            file, line)  # fmt: skip
        if "of" in entry:
            label = _text(entry.get("label"), "a ratio row's 'label'", file, line)
            ratios.append((entry, line, label, len(result.rows)))
            result.rows.append((label, "ratio"))
            work += 1 + len(cdefs)
            continue
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
        row_count = entry.get("count")
        if row_count is not None and not (isinstance(row_count, str) and row_count in COUNTS):
            raise SpecError(f"'count' is one of {', '.join(COUNTS)}", file, line)
        # every row's own work counts too: aliases let 250,000 rows share one big 'set'
        work += 1 + len(sets) + len(cdefs)
        if work > MAX_TABLE_WORK:
            raise SpecError(f"this table's rows and networks take more than {MAX_TABLE_WORK:,} "
                            "steps (rows, cells, layers)", file, line)  # fmt: skip
        key = (net_name, tuple(sorted((k, str(v)) for k, v in sets.items())), train)
        if key not in networks and len(networks) >= MAX_TABLE_NETWORKS:
            raise SpecError(f"a table builds at most {MAX_TABLE_NETWORKS} networks (network, "
                            "set and train combinations)", file, line)  # fmt: skip
        if key not in networks:
            target = net_name
            if base.endswith((".yaml", ".yml")) and not os.path.isabs(base):
                # relative to the table file, else to specs/tables (a copied table file still
                # finds the example networks of specs/tables/nets/), else to the working folder
                for folder in (os.path.dirname(os.path.abspath(path)),
                               os.path.join(specs_dir(), "tables")):  # fmt: skip
                    if os.path.exists(os.path.join(folder, base)):
                        target = os.path.join(folder, net_name)
                        break
            try:
                net = build(target, params={k: str(v) for k, v in sets.items()} or None,
                            train=train)  # fmt: skip
            except SpecError as err:
                raise SpecError(f"network {net_name}: {err}", file, line) from None
            # each network is built once, but a table naming many variants or parameter sets
            # could build without end: the work over all of them is bounded
            work += net.meta.get("work", len(net.nodes))
            if work > MAX_TABLE_WORK:
                raise SpecError(f"this table's rows and networks take more than {MAX_TABLE_WORK:,} "
                                "steps (rows, cells, layers)", file, line)  # fmt: skip
            index = {("node", n.id): n for n in net.nodes}
            index.update({r.id: r for r in net.rows})
            networks[key] = (net, index)
        net, net_rows = networks[key]
        shown_net = _network_label(net_name, sets) + (" (training)" if train else "")
        result.rows.append((label, shown_net))
        contexts.setdefault(label, (net, net_rows, row_name, shown_net))
        for cdef in cdefs.values():
            if cdef.name not in entry:
                continue
            if cdef.quantity == "ratio":
                raise SpecError(f"column '{cdef.name}' is a ratio: give it on a row with 'of' "
                                "and 'to'", file, line)  # fmt: skip
            printed = entry[cdef.name]
            pline = entry.key_line(cdef.name) if hasattr(entry, "key_line") else line
            if row_count is not None:  # a row that selects layers by kind (Table 2's rows)
                if cdef.quantity not in COUNTS[row_count].quantities:
                    raise SpecError(f"count {row_count} does not apply to column "
                                    f"'{cdef.name}' ({cdef.quantity})", file, line)  # fmt: skip
                cdef = replace(cdef, count=row_count)
            raw = _quantity(net, net_rows, row_name, cdef, file, line)
            computed, exact, value, ok = _compare(cdef, raw, printed, file, pline)
            if value is not None:
                shown.setdefault((label, cdef.name), (exact, value))
            _add_cell(result, errata, used_errata, label, cdef, printed, computed, ok, shown_net,
                      exact, len(result.rows) - 1)  # fmt: skip
    for entry, line, label, index in ratios:
        of, to = (_ratio_ref(entry, k, file, line) for k in ("of", "to"))
        for ref in (of, to):
            if ref not in shown and ref[0] in contexts and ref[1] in cdefs:
                # a reference row: the quantity of a row the table does not print itself
                net, net_rows, row_name, _shown = contexts[ref[0]]
                raw = _quantity(net, net_rows, row_name, cdefs[ref[1]], file, line)
                if isinstance(raw, (int, Fraction)):
                    shown[ref] = (raw, None)
            if ref not in shown:
                raise SpecError(f"ratio {brief(label)}: no numeric cell {brief(ref[0])} / "
                                f"{brief(ref[1])} in this table", file, line)  # fmt: skip
        for cdef in cdefs.values():
            if cdef.name not in entry:
                continue
            if cdef.quantity != "ratio":
                raise SpecError(f"a ratio row prints only ratio columns, not '{cdef.name}'", file,
                                line)  # fmt: skip
            index = 0 if cdef.basis == "exact" else 1
            if shown[of][index] is None or shown[to][index] is None:
                raise SpecError(f"ratio {brief(label)}: a ratio of shown values needs printed "
                                "cells on both sides", file, line)  # fmt: skip
            a, b = Fraction(shown[of][index]), Fraction(shown[to][index])
            if b == 0:
                raise SpecError(f"ratio {brief(label)}: the 'to' cell is zero", file, line)
            printed = entry[cdef.name]
            number, decimals = parse_printed(printed, file, line)
            step = quantum(number, decimals, cdef.precision)
            rounded = round_to(a / b / cdef.unit, step, cdef.rounding)
            computed = _format_like(rounded, printed, decimals, cdef.unit == 1)
            exact = _exact(a / b)
            _add_cell(result, errata, used_errata, label, cdef, printed, computed,
                      Fraction(number) == rounded,
                      f"{of[0]} / {of[1]} over {to[0]} / {to[1]}", exact, index)  # fmt: skip
    for key, (_entry, line) in errata.items():
        if key not in used_errata:
            raise SpecError(f"erratum for row '{key[0]}', column '{key[1]}' names no printed cell",
                            file, line)  # fmt: skip
    return result


def _ratio_ref(entry, key, file, line) -> tuple:
    ref = entry.get(key)
    if not isinstance(ref, list) or len(ref) != 2:
        raise SpecError(f"a ratio's '{key}' is [LABEL, COLUMN], a cell of this table", file, line)
    return (_text(ref[0], f"'{key}' label", file, line), _text(ref[1], f"'{key}' column", file,
                                                               line))  # fmt: skip


def _add_cell(result, errata, used_errata, label, cdef, printed, computed, ok, network, exact,
              index):  # fmt: skip
    common = {"network": network, "exact": exact, "convention": cdef.convention,
              "unit": cdef.unit_name, "rule": cdef.rule, "index": index}  # fmt: skip
    erratum = errata.get((label, cdef.name))
    if erratum:
        used_errata.add((label, cdef.name))
        entry_e, _eline = erratum
        status, note = _status(entry_e, ok, computed, printed)
        result.cells.append(Cell(label, cdef.name, printed, computed, status,
                                 str(entry_e["reason"]), note, **common))  # fmt: skip
    else:
        result.cells.append(Cell(label, cdef.name, printed, computed,
                                 "match" if ok else "mismatch", **common))  # fmt: skip


MARKS = {"match": "✓", "erratum": "†", "mismatch": "✗"}


def cell_record(cell: Cell) -> dict:
    """One cell as plain data: published, computed (in the paper's units and rounding), the
    exact value, unit, rounding rule, convention, network and status."""
    rec = {"row": cell.row, "column": cell.column, "published": cell.published,
           "computed": cell.computed, "exact": cell.exact, "unit": cell.unit,
           "rounding": cell.rule, "convention": cell.convention, "network": cell.network,
           "status": cell.status}  # fmt: skip
    if cell.reason:
        rec["reason"] = cell.reason
    if cell.note:
        rec["note"] = cell.note
    return rec


def table_data(result: TableResult) -> dict:
    """The table as the paper printed it, as data: its columns (with their conventions), its
    rows in the paper's order (label, network, and per column the cell's record), numbered
    footnotes for the errata and mismatches, the status counts and ``ok``."""
    by_row: dict = {}
    for cell in result.cells:
        by_row.setdefault(cell.index, {})[cell.column] = cell
    footnotes, rows = [], []
    for index, (label, network) in enumerate(result.rows):
        cells = {}
        for name, cell in by_row.get(index, {}).items():
            rec = cell_record(cell)
            if cell.status != "match":
                footnotes.append({"n": len(footnotes) + 1, "row": label, "column": name,
                                  "status": cell.status, "convention": cell.convention,
                                  "text": cell.note or cell.reason,
                                  "reason": cell.reason})  # fmt: skip
                rec["footnote"] = len(footnotes)
            cells[name] = rec
        rows.append({"label": label, "network": network, "cells": cells})
    return {"id": result.id, "title": result.title, "file": result.file,
            "source": result.source, "ok": result.ok, "counts": result.counts(),
            "columns": [{"name": c.name, "header": c.header, "quantity": c.quantity,
                         "count": c.count, "unit": c.unit_name, "rounding": c.rule,
                         "convention": c.convention} for c in result.columns],
            "rows": rows, "footnotes": footnotes}  # fmt: skip


def regenerate(table_id: str) -> dict:
    """``table_data`` of the table named ``table_id`` (an id in specs/tables or a path)."""
    return table_data(check_table(find_table(table_id)))

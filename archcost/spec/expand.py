"""Expansion: one pass over the rows that expands blocks into primitive nodes and computes every
shape and cost, and the entry points ``build_doc``, ``load`` and ``build``."""

from __future__ import annotations

from fractions import Fraction

from .. import layers as L
from ..errors import SpecError, brief, did_you_mean, field_hint
from ..expr import evaluate
from ..graph import Network, Node, Row
from ..limits import (
    MAX_BLOCK_DEPTH,
    MAX_COLUMN_CELLS,
    MAX_COLUMNS,
    MAX_COUNT,
    MAX_DIM,
    MAX_EXPR_WORK,
    MAX_NODES,
    MAX_REPEAT,
    MAX_ROW_EXPANSIONS,  # fmt: skip
    MAX_ROWS,
    MAX_VALUES,
)
from ..shapes import layout_of, parse_layout, shaped
from ..yamlio import LineDict, LineList, gc_paused
from .documents import (
    ACT_CHOICES,
    ROW_KEYS,
    WEIGHT_SUGAR,
    _check_block,
    _check_block_name,
    _key_file,
    _mapping,
    _name,
    display_name,
    effective,
    resolve,
    row_ids_and_keys,
    row_key,
)
from .fields import (
    _CONST,
    _MISSING,
    _NAME,
    _RAW,
    _all_types,
    _block_def,
    _classify,
    _constant,
    _is_ident,
    _named_fields,
    _resolve_type,
    _static_for,
    _to_int,
    _type_exists,
)

_MAX_COSTS = 4096  # distinct (primitive, input shapes, fields) whose Cost one doc keeps
_MAX_SHAPES = 4096  # row shapes whose primitive plans one doc keeps (see _shape_of)


def _shape_of(op, fields, symbolic):
    """A hashable key for a primitive row's plan: the type, the field names in order, and each
    field value with its type (``k: 1`` and ``k: true`` differ); None when a value is not a
    plain scalar or a list of them (such rows keep a plan of their own). The values of row
    keys (``in``, ``id``, ...) play no part in the plan, only their names: the add rows of a
    network written layer by layer, each naming other inputs, share one plan."""
    items = []
    prim = L.PRIMITIVES[op]
    for key, value in fields.items():
        if key in ROW_KEYS and key not in prim.field_map and key not in WEIGHT_SUGAR:
            items.append((key, None, None))
            continue
        if isinstance(value, list):
            if not all(v is None or type(v) in _PLAIN for v in value):
                return None
            value = tuple((type(v), v) for v in value)
        elif value is not None and type(value) not in _PLAIN:
            return None
        items.append((key, type(value), value))
    return ("shape", op, symbolic, tuple(items))


_PLAIN = {str, int, float, bool}
_ABSENT = object()
# row keys that change how a row is expanded (a row with none of them takes the short path)
_ROW_FLOW = frozenset({"train", "when", "else", "repeat", "first", "call"})


# field kinds of window sizes: how many axes each takes (an int fills them all)
_SIZES = {"pair": 2, "padding": 2, "triple": 3, "padding3": 3, "padding1": 1}


class _Expander:
    """One pass over the rows: expand blocks into primitives, compute shapes and costs."""

    def __init__(self, doc, env, train, evaluator=evaluate, symbolic=False):
        self.doc = doc
        self.file = doc["_file"]
        self.static = _static_for(doc)
        self.defaults = _mapping(doc, "defaults", self.file)
        self.expanded = 0  # rows expanded, skipped ones included (see MAX_ROW_EXPANSIONS)
        self.values_read = 0  # fields, list items, inputs and block arguments (MAX_VALUES)
        self.headers: set = set()  # block columns shown in the table (MAX_COLUMNS)
        self.column_cells = 0  # cells of those columns, over the rows (MAX_COLUMN_CELLS)
        self.env = env
        self.train = train
        self.evaluate = evaluator
        self.work_before = evaluator.spent  # see MAX_EXPR_WORK
        self.symbolic = symbolic
        self.nodes: list[Node] = []
        self.rows: list[Row] = []
        self.row = None  # the top-level row being expanded
        self.calls: list = []  # `call:` of the rows being expanded, innermost last
        self.spans: list = []  # (id, type, first node index, end index): rows at every depth
        self.ids: dict = {}  # node id -> (op, file, line): explicit and generated ids are unique
        self.default_calls: dict = {}  # op -> its `defaults: {op: {call:}}` (None: none)
        self.block_defs: dict = {}  # type -> its block definition (None: a primitive)
        if self.static.blocks is not None:
            self.blocks = self.static.blocks
            return
        self.blocks = {}
        blocks = _mapping(doc, "blocks", self.file)
        for name, bdef in blocks.items():
            line = blocks.key_line(name) if hasattr(blocks, "key_line") else None
            bfile = _key_file(blocks, name, getattr(bdef, "file", None) or self.file)
            _check_block_name(name, bfile, line)
            self.blocks[name] = _check_block(name, bdef, bfile, line)
        for type_name, fields in self.defaults.items():
            dfile = _key_file(self.defaults, type_name, getattr(fields, "file", None) or self.file)
            dline = (self.defaults.key_line(type_name) if hasattr(self.defaults, "key_line")
                     else getattr(fields, "line", None))  # fmt: skip
            if not isinstance(type_name, str) or not _type_exists(type_name, self.blocks):
                hint = did_you_mean(type_name, _all_types(self.blocks), digits=True)
                raise SpecError(f"defaults: unknown layer type {brief(type_name)}{hint}", dfile,
                                dline)  # fmt: skip
            if fields is not None and not isinstance(fields, dict):
                raise SpecError(f"defaults for '{type_name}' must be a mapping of fields", dfile,
                                dline)  # fmt: skip
        self.static.blocks = self.blocks

    # -- values

    def _spend(self, n, file, line):
        """Count values read. YAML aliases let every row of a small file share one list or
        mapping of 100,000 items; rows are bounded, so the items they read must be too."""
        self.values_read += n
        if self.values_read > MAX_VALUES:
            raise SpecError(f"the network reads more than {MAX_VALUES:,} values (fields, list "
                            "items, inputs, block arguments)", file, line)  # fmt: skip

    def value(self, raw, env, file, line, what):
        """Evaluate a YAML value: expressions in strings, exact numbers otherwise."""
        if isinstance(raw, str):
            kind, text = _classify(raw)
            if kind == "name":
                # a name in scope, else a word such as 'relu' (numeric fields reject it)
                return env[text] if text in env else text
            if kind == "word":
                return text
            try:
                result = self.evaluate(text, env)
            except SpecError as err:
                raise SpecError(f"{what}: {err.message}", file, line) from None
            if self.evaluate.spent - self.work_before > MAX_EXPR_WORK:
                raise SpecError(f"the network's expressions take more than {MAX_EXPR_WORK:,} "
                                "units of work (characters compiled plus operators evaluated; "
                                "MAX_EXPR_WORK)", file, line)  # fmt: skip
            return result
        if isinstance(raw, float):
            if raw != raw or raw in (float("inf"), float("-inf")):
                raise SpecError(f"{what}: {raw} is not a number", file, line)
            return Fraction(repr(raw))
        if isinstance(raw, list):
            self._spend(len(raw), file, line)
            # one level only: YAML aliases can make a small file hold a list of lists whose
            # full expansion has billions of items, and no field takes nested lists
            if any(isinstance(v, (list, dict)) for v in raw):
                raise SpecError(f"{what}: expected a value or a list of values, got a nested "
                                f"list {brief(raw)}", file, line)  # fmt: skip
            return [self.value(v, env, file, line, what) for v in raw]
        return raw

    def convert(self, fdef: L.Field, raw, env, file, line, owner):
        what = f"{owner}: '{fdef.name}'"
        value = self.value(raw, env, file, line, what)
        kind = fdef.kind
        if value is None and fdef.default is None:
            return None
        if kind == "int":
            if isinstance(value, str) and _is_ident(value) and not self.symbolic:
                raise SpecError(f"{what}: unknown name '{value}'", file, line)
            return _to_int(value, what, file, line, fdef.minimum, self.symbolic,
                           fdef.maximum or MAX_DIM)  # fmt: skip
        if kind in _SIZES:
            n = _SIZES[kind]
            if kind.startswith("padding") and isinstance(value, str) and \
                    value.lower() in ("same", "valid"):  # fmt: skip
                return value.lower()
            if isinstance(value, list):
                if len(value) != n or n == 1:
                    shape = "[h, w]" if n == 2 else "[d, h, w]"
                    raise SpecError(f"{what}: expected one number" +
                                    (f" or {shape}" if n > 1 else ""), file, line)  # fmt: skip
                return tuple(_to_int(v, what, file, line, fdef.minimum, self.symbolic)
                             for v in value)  # fmt: skip
            if isinstance(value, str) and _is_ident(value) and not self.symbolic:
                raise SpecError(f"{what}: unknown name '{value}'", file, line)
            v = _to_int(value, what, file, line, fdef.minimum, self.symbolic)
            return v if n == 1 else (v,) * n
        if kind == "bool":
            if self.symbolic and not isinstance(value, bool):
                value = self.structural(value, raw)  # a symbol: taken at the decision point
            if isinstance(value, bool):
                return value
            raise SpecError(f"{what}: expected true or false, got {brief(value)}", file, line)
        if kind == "number":
            if isinstance(value, str):
                try:
                    value = Fraction(value)
                except ValueError:
                    raise SpecError(
                        f"{what}: expected a number, got {brief(value)}", file, line
                    ) from None
            if type(value) is bool or not isinstance(value, (int, Fraction)):
                if self.symbolic and not isinstance(value, (list, dict, bool)):
                    return value
                raise SpecError(f"{what}: expected a number, got {brief(value)}", file, line)
            if value < fdef.minimum and fdef.minimum == 0:
                raise SpecError(f"{what} must not be negative", file, line)
            return value
        if kind == "ints":
            values = value if isinstance(value, list) else [value]
            if not values:
                raise SpecError(f"{what}: expected a list of whole numbers", file, line)
            out = []
            for v in values:
                if isinstance(v, str) and _is_ident(v) and not self.symbolic:
                    raise SpecError(f"{what}: unknown name '{v}'", file, line)
                out.append(_to_int(v, what, file, line, fdef.minimum, self.symbolic))
            return out
        if kind == "text":
            if not isinstance(value, str):
                raise SpecError(f"{what}: expected a word, got {brief(value)}", file, line)
            return value
        if kind == "choice":
            choices = fdef.choices or ACT_CHOICES
            if not isinstance(value, str) or value.lower() not in choices:
                hint = did_you_mean(value, list(choices), digits=True)
                raise SpecError(f"{what}: unknown value {brief(value)}{hint}", file, line)
            return L.ALIASES.get(value.lower(), value.lower())
        raise AssertionError(kind)  # pragma: no cover

    # -- rows

    def expand_rows(self, rows, scope, env, prefix, top, depth, list_file):
        if not isinstance(rows, list):
            raise SpecError("'layers' must be a list of rows", list_file,
                            getattr(rows, "line", None))  # fmt: skip
        if len(rows) > MAX_ROWS:
            raise SpecError(f"more than {MAX_ROWS:,} rows in one list (use repeat:)", list_file,
                            getattr(rows, "line", None))  # fmt: skip
        current = scope["input"]
        static = self.static
        cached = static.rows.get(id(rows))
        keys = None
        if cached is None or cached[0] is not rows:
            ids, keys = row_ids_and_keys(rows, list_file)
            cached = static.rows[id(rows)] = (rows, ids, [None] * len(rows))
        ids, infos = cached[1], cached[2]
        lined = isinstance(rows, LineList)
        if lined:  # LineList.item_line and item_file, inlined
            row_lines, row_files = rows.lines, getattr(rows, "files", None)
            nlines, nfiles = len(row_lines), len(row_files) if row_files else 0
            own_file = getattr(rows, "file", None) or list_file
        for i, raw in enumerate(rows):
            info = infos[i]
            self.expanded += 1
            if info is None:  # first build: the row's label, named fields, line and file, kept
                if lined:
                    line = row_lines[i] if i < nlines else rows.line
                    # rows inserted or overridden by an 'extends' file or a variant come from
                    # that file
                    file = row_files[i] if i < nfiles and row_files[i] else own_file
                else:
                    line, file = None, list_file
                if self.expanded > MAX_ROW_EXPANSIONS:
                    self._count_row(file, line)
                label, value = keys[i] if keys is not None else row_key(raw, file, line)
                cost = 1 + (len(value) if isinstance(value, (dict, list)) else 0)
                self.values_read += cost
                if self.values_read > MAX_VALUES:
                    self._spend(0, file, line)
                if type(value) is LineDict and hasattr(value, "lines") and hasattr(value, "line"):
                    fields = value  # as _named_fields_for returns it
                else:
                    fields = _named_fields_for(self, label, value, file, line)
                # + resolved type, first-merged fields, whether any of _ROW_FLOW is given
                info = infos[i] = [label, fields, line, None, None, file, cost,
                                   not _ROW_FLOW.isdisjoint(fields)]  # fmt: skip
            else:
                if self.expanded > MAX_ROW_EXPANSIONS:
                    self._count_row(info[5], info[2])
                self.values_read += info[6]
                if self.values_read > MAX_VALUES:
                    self._spend(0, info[5], info[2])
            label, fields, line, file = info[0], info[1], info[2], info[5]
            row_id = ids[i]
            if not info[7]:  # none of train, when, else, repeat, first, call: a plain row
                inputs = self._inputs(fields, scope, current, file, line, row_id) \
                    if "in" in fields else [current]  # fmt: skip
                type_name = info[3]
                if type_name is None:
                    type_name = info[3] = self._row_type(fields, label, file, line)
                node_id = prefix + row_id
                row = None
                if top:
                    row = Row(row_id, label, type_name, line, False)
                    self.rows.append(row)
                    self.row = row
                start = len(self.nodes)
                bdef = self.block_defs.get(type_name, _ABSENT)
                if bdef is _ABSENT:
                    bdef = self.block_defs[type_name] = _block_def(type_name, self.blocks)
                if bdef is not None:
                    out = self.expand_block(type_name, bdef, fields, inputs, node_id, env, file,
                                            line, depth, row)  # fmt: skip
                else:
                    out = self.expand_primitive(type_name, fields, inputs, node_id, env, file,
                                                line, row)  # fmt: skip
                self.spans.append((node_id, type_name, start, len(self.nodes)))
                scope[row_id] = current = out
                if row is not None:
                    row.output = out
                    if not row.patch and len(row.block_patches) == 1:
                        row.patch = next(iter(row.block_patches))
                continue
            train_only = self._flag(fields, "train", env, file) if "train" in fields else False
            if train_only and not self.train:
                scope[row_id] = None  # referencing it at inference is an error
                continue
            inputs = self._inputs(fields, scope, current, file, line, row_id)
            if "else" in fields and "when" not in fields:
                raise SpecError(f"row '{row_id}': 'else' says what stands in for the row when "
                                "its 'when' is false; this row has no 'when'",
                                fields.key_file("else", file), fields.key_line("else"))  # fmt: skip
            if "when" in fields:
                wfile = fields.key_file("when", file)
                cond = self.value(fields["when"], env, wfile, fields.key_line("when"), "when")
                cond = self.structural(cond, fields["when"])
                if not isinstance(cond, bool):
                    raise SpecError(f"'when' must be a condition, got {brief(cond)}", wfile,
                                    fields.key_line("when"))  # fmt: skip
                if not cond:
                    scope[row_id] = self._skipped(fields, scope, inputs[0], wfile, row_id)
                    if not train_only:
                        current = inputs[0]
                    continue
            type_name = info[3]
            if type_name is None:
                type_name = info[3] = self._row_type(fields, label, file, line)
            repeat = 1
            if "repeat" in fields:
                rfile, rline = fields.key_file("repeat", file), fields.key_line("repeat")
                repeat = self.value(fields["repeat"], env, rfile, rline, "repeat")
                repeat = self.structural(repeat, fields["repeat"])
                repeat = _to_int(repeat, "repeat", rfile, rline, maximum=MAX_REPEAT)
            first = fields.get("first") or {}
            if not isinstance(first, dict):
                raise SpecError("'first' must be a mapping of fields for the first repetition",
                                fields.key_file("first", file), fields.key_line("first"))  # fmt: skip
            row = None
            if top:
                row = Row(row_id, label, type_name, line, train_only, repeat=repeat)
                self.rows.append(row)
                self.row = row
            out = inputs
            if "call" in fields:
                self.calls.append(_call_style(fields["call"], fields.key_file("call", file),
                                              fields.key_line("call")))  # fmt: skip
            start = end = len(self.nodes)
            for r in range(repeat):
                this = fields
                if r == 0 and first:
                    self._spend(len(first), file, line)
                    this = info[4]
                    if this is None:
                        this = LineDict({**fields, **first})
                        this.line, this.lines = (
                            fields.line,
                            {**fields.lines, **getattr(first, "lines", {})},
                        )
                        this.files = {**{k: fields.key_file(k, file) for k in fields},
                                      **{k: fields.key_file("first", file) for k in first}}  # fmt: skip
                        info[4] = this
                node_id = prefix + row_id + (f".{r + 1}" if repeat > 1 else "")
                out = [self.expand_one(type_name, this, out, node_id, env, file, line, depth,
                                       row if r == 0 else None)]  # fmt: skip
                rstart, end = end, len(self.nodes)
                if repeat > 1:
                    self.spans.append((node_id, type_name, rstart, end))
            if "call" in fields:
                self.calls.pop()
            self.spans.append((prefix + row_id, type_name, start, end))
            scope[row_id] = out[0]
            if row is not None:
                row.output = out[0]
                if not row.patch and len(row.block_patches) == 1:
                    row.patch = next(iter(row.block_patches))
            if not train_only:
                current = out[0]
        return current

    def _row_type(self, fields, label, file, line):
        """The layer type or block a row names (by ``type:`` or its label)."""
        explicit = fields.get("type")
        static = self.static
        # an explicit type resolves the same on every row (the label plays no part)
        type_name = static.types.get(explicit) if type(explicit) is str else None
        if type_name is None:
            type_name = _resolve_type(label, explicit, self.blocks, file, line)
            if type(explicit) is str:
                static.types[explicit] = type_name
        return type_name

    def _count_row(self, file, line):
        """Rows skipped by 'when: false' or 'train: true' emit no node, so MAX_NODES alone would
        not stop blocks of 10 rows nested 16 deep (10**16 rows)."""
        if self.expanded > MAX_ROW_EXPANSIONS:
            raise SpecError(f"the network expands to more than {MAX_ROW_EXPANSIONS:,} rows "
                            "(blocks inside blocks, repeat)", file, line)  # fmt: skip

    def structural(self, value, source):
        """A value that shapes the network (``when``, ``repeat``) must be a plain number or
        bool. A symbolic evaluator may fix a symbolic one (e.g. at the parameters' defaults)
        through its ``structural(value, source)`` method, and record that it did."""
        fix = getattr(self.evaluate, "structural", None) if self.symbolic else None
        return value if fix is None else fix(value, source)

    def _flag(self, fields, key, env, file):
        if key not in fields:
            return False
        file = fields.key_file(key, file)
        value = self.value(fields[key], env, file, fields.key_line(key), key)
        if not isinstance(value, bool):
            raise SpecError(f"'{key}' must be true or false", file, fields.key_line(key))
        return value

    def _inputs(self, fields, scope, current, file, line, row_id):
        if "in" not in fields:
            return [current]
        names = fields["in"]
        names = names if isinstance(names, list) else [names]
        self._spend(len(names), fields.key_file("in", file), fields.key_line("in"))
        file = fields.key_file("in", file)
        if not names:
            raise SpecError("'in' needs at least one row name", file, fields.key_line("in"))
        found = []
        for name in names:
            if not isinstance(name, str):
                raise SpecError(f"'in' takes row names, got {brief(name)}", file,
                                fields.key_line("in"))  # fmt: skip
            if name not in scope:
                # rows can only name rows above them, so the graph cannot have a cycle
                hint = did_you_mean(name, [k for k in scope if scope[k]])
                raise SpecError(f"row '{row_id}' takes input '{name}', which is not defined "
                                f"above it{hint}", file, fields.key_line("in"))  # fmt: skip
            if isinstance(scope[name], _Skipped):
                raise scope[name].named_by(row_id, name, file, fields.key_line("in"))
            if scope[name] is None:
                raise SpecError(f"row '{row_id}' takes input '{name}', which is training-only "
                                "(mark this row `train: true` too)", file,
                                fields.key_line("in"))  # fmt: skip
            found.append(scope[name])
        return found

    def expand_one(self, type_name, fields, inputs, node_id, env, file, line, depth, row):
        bdef = _block_def(type_name, self.blocks)
        if bdef is not None:
            return self.expand_block(type_name, bdef, fields, inputs, node_id, env, file, line,
                                     depth, row)  # fmt: skip
        return self.expand_primitive(type_name, fields, inputs, node_id, env, file, line, row)

    def _defaults_for(self, type_name):
        d = self.defaults.get(type_name) or {}
        if not isinstance(d, dict):  # pragma: no cover - checked in __init__
            raise SpecError(f"defaults for '{type_name}' must be a mapping", self.file)
        return d

    def _defaults_file(self, type_name, spec_defaults, key):
        """The file a default field was written in (the spec, its base, or a variant)."""
        outer = _key_file(self.defaults, type_name, self.file)
        return _key_file(spec_defaults, key, getattr(spec_defaults, "file", None) or outer)

    def expand_primitive(self, op, fields, inputs, node_id, env, file, line, row):
        key = ("prim", op, id(fields), line, self.symbolic)
        cached = self.static.plans.get(key)
        if cached is None or cached[0] is not fields:
            cached = self.static.plans[key] = self._primitive_cached(op, fields, file, line)
        values = cached[1].copy()
        memo = cached[3]
        got = []  # the values of the fields the shared plan does not hold (see emit)
        for entry in cached[2]:
            how = entry[0]
            if how is _RAW:
                fdef = entry[1]
                value = self.convert(fdef, entry[2], env, entry[4], entry[3],
                                     f"{op} '{node_id}'")  # fmt: skip
            elif how is _NAME:
                fdef, v = entry[1], env.get(entry[4], _ABSENT)
                if v is _ABSENT and entry[6] is not _ABSENT:
                    value = entry[6]  # a word such as 'none' that names nothing
                elif type(v) is int and entry[7] and fdef.minimum <= v <= MAX_DIM:
                    # a whole number from the scope, in range: what convert() returns, directly
                    n = _SIZES.get(fdef.kind, 1)
                    value = v if n == 1 else (v,) * n
                else:
                    value = self.convert(fdef, entry[2], env, entry[5], entry[3],
                                         f"{op} '{node_id}'")  # fmt: skip
            else:
                raise SpecError(f"{op} row '{node_id}' needs field '{entry[1].name}'", file, line)
            values[fdef.name] = value
            if memo is not None:
                got.append(value)
                got.append(type(value))
        bn = values.pop("bn", False)
        act = values.pop("act", "none")
        node = self.emit(op, values, inputs, node_id, file, line, row, memo, tuple(got))
        if bn:
            # the sugar's batch norm honours the spec's `defaults: {bn: {eps: ...}}` like a bn row
            eps = Fraction(1, 100000)
            bn_defaults = self._defaults_for("bn")
            if "eps" in bn_defaults:
                eps = self.convert(L.PRIMITIVES["bn"].field_map["eps"], bn_defaults["eps"], env,
                                   self.file, getattr(bn_defaults, "key_line", lambda k: line)("eps"),
                                   f"bn '{node_id}/bn'")  # fmt: skip
            node = self.emit("bn", {"eps": eps}, [node], node_id + "/bn", file, line, row)
        if act != "none":
            node = self.emit(act, {}, [node], f"{node_id}/{act}", file, line, row)
        if op in ("conv", "maxpool", "avgpool") and not self.symbolic:
            k = values["k"]
            if row is not None or (self.row is not None and k != (1, 1)):
                s = values["s"] or k
                ks = f"{k[0]}x{k[1]}"
                patch = f"{ks}/{s[0]}" if s[0] == s[1] else f"{ks}/{s[0]}x{s[1]}"
                if row is not None:
                    row.patch = patch
                else:
                    self.row.block_patches.add(patch)
        return node

    def _primitive_cached(self, op, fields, file, line):
        """(fields, template, entries) for :meth:`expand_primitive`: the template holds the
        constant fields in field order (the others are placeholders, None, overwritten in
        place, so the fields keep their order); the entries say how to compute the others.

        Rows of the same shape (type, field names in order, and equal field values: the
        thousands of ``{type: bn}`` or ``{type: conv, out: width}`` rows of a network written
        layer by layer) share one checked plan; only the lines and files of their
        non-constant fields, which errors quote, are filled in per row.
        """
        shape = _shape_of(op, fields, self.symbolic)
        shared = self.static.shapes.get(shape) if shape is not None else None
        if shared is None:
            plan = self._primitive_plan(op, fields, file, line)
            template = {e[1] if e[0] is _CONST else e[1].name: e[2] if e[0] is _CONST else None
                        for e in plan}  # fmt: skip
            entries = [e for e in plan if e[0] is not _CONST]
            if shape is None:
                return fields, template, entries, None
            spec_defaults = self._defaults_for(op)
            generic = []
            for e in entries:
                name = e[1].name
                if e[0] is _MISSING or (name not in fields and name in spec_defaults):
                    generic.append((e, None))  # the same for every row of this shape
                else:
                    generic.append((e, name in fields))  # the row's own line and file
            # + the costs of the primitive by the values of its other fields (see emit)
            shared = self.static.shapes[shape] = (template, generic, {})
            if len(self.static.shapes) > _MAX_SHAPES:
                self.static.shapes.pop(next(iter(self.static.shapes)))
        template, generic, memo = shared
        entries = []
        for e, own in generic:
            if own is None:
                entries.append(e)
                continue
            name = e[1].name
            if own:  # a field of the row
                fline, ffile = fields.key_line(name), fields.key_file(name, file)
            else:  # the primitive's default, quoted at the row
                fline, ffile = line, file
            if e[0] is _RAW:
                entries.append((_RAW, e[1], e[2], fline, ffile))
            else:
                entries.append((_NAME, e[1], e[2], fline, e[4], ffile, e[6], e[7]))
        return fields, template, entries, None if self.symbolic else memo

    def _primitive_plan(self, op, fields, file, line):
        """Check a primitive row's field names once; say where each field's value comes from.

        Returns entries in field order: (_CONST, name, value) for a value that needs no scope,
        (_RAW, fdef, raw, line) for one evaluated on every build, (_NAME, fdef, raw, line, name,
        file, word, whole) for a field that names a value in scope (``word``: its value when
        the scope has no such name, for a field that is not a whole number), (_MISSING, fdef)
        for a required field that is not given (raised when reached, in the same order as
        before).
        """
        prim = L.PRIMITIVES[op]
        spec_defaults = self._defaults_for(op)
        allowed = {*prim.field_map, *ROW_KEYS, *(WEIGHT_SUGAR if prim.weight else ())}
        for key in fields:
            if key not in allowed:
                hint = field_hint(key, allowed, [*prim.field_map, *(WEIGHT_SUGAR if prim.weight
                                                                     else ())])
                raise SpecError(f"unknown field {_name(key)} for {op}{hint}",
                                fields.key_file(key, file), fields.key_line(key))  # fmt: skip
        for key in spec_defaults:
            if key not in allowed or (key in ROW_KEYS and key != "call"):
                raise SpecError(f"defaults: unknown field {_name(key)} for {op}",
                                self._defaults_file(op, spec_defaults, key),
                                spec_defaults.key_line(key) if hasattr(spec_defaults, "key_line")
                                else None)  # fmt: skip
        plan = []
        for fdef in (*prim.fields, *(WEIGHT_SUGAR.values() if prim.weight else ())):
            ffile = file
            if fdef.name in fields:
                raw, fline = fields[fdef.name], fields.key_line(fdef.name)
                ffile = fields.key_file(fdef.name, file)
            elif fdef.name in spec_defaults:
                raw = spec_defaults[fdef.name]
                fline = (
                    spec_defaults.key_line(fdef.name)
                    if hasattr(spec_defaults, "key_line")
                    else line
                )
                ffile = self._defaults_file(op, spec_defaults, fdef.name)
            elif fdef.default is L.REQUIRED:
                plan.append((_MISSING, fdef))
                continue
            else:
                raw, fline = fdef.default, line
            if fdef.kind == "text" and isinstance(raw, str) and _classify(raw)[0] == "expr":
                plan.append((_CONST, fdef.name, raw))  # a word (op: torch.cumsum), not arithmetic
                continue
            if _constant(raw) or (not self.symbolic and isinstance(raw, str)
                                  and _classify(raw)[0] == "word"):
                try:
                    plan.append((_CONST, fdef.name, self.convert(fdef, raw, {}, ffile, fline, op)))
                    continue
                except SpecError:
                    pass  # converted (and raised, naming the layer) on every build
            if isinstance(raw, str):
                kind, text = _classify(raw)
                whole = fdef.kind == "int" or fdef.kind in _SIZES
                if kind == "name" and (whole or not self.symbolic):
                    # the value when the scope has no such name: the word itself, converted
                    word = _ABSENT
                    if not whole:
                        try:
                            word = self.convert(fdef, raw, {}, ffile, fline, op)
                        except SpecError:
                            pass  # converted (and raised, naming the layer) on every build
                    plan.append((_NAME, fdef, raw, fline, text, ffile, word, whole))
                    continue
            plan.append((_RAW, fdef, raw, fline, ffile))
        return plan

    def _block_plan(self, name, bdef, fields, file, line):
        """Check a block row's argument names once; say where each argument comes from.

        Entries in argument order: (_CONST, arg, value), (_RAW, arg, raw, line, own) where
        ``own`` means the block's own default (evaluated in the block's scope), or
        (_MISSING, arg, arg_names).
        """
        arg_names = list(bdef.get("args", []))
        block_defaults = bdef.get("defaults") or {}
        spec_defaults = self._defaults_for(name)
        allowed = {*arg_names, *block_defaults, *ROW_KEYS}
        for key in fields:
            if key not in allowed:
                hint = field_hint(key, allowed, [*arg_names, *block_defaults])
                raise SpecError(f"unknown argument {_name(key)} for block {name}{hint}",
                                fields.key_file(key, file), fields.key_line(key))  # fmt: skip
        bfile = getattr(bdef, "file", None) or file
        plan = []
        for arg in (*arg_names, *block_defaults):
            if arg in fields:
                raw, fline, own = fields[arg], fields.key_line(arg), False
                afile = fields.key_file(arg, file)
            elif arg in spec_defaults:
                raw, own = spec_defaults[arg], False
                fline = spec_defaults.key_line(arg) if hasattr(spec_defaults, "key_line") else line
                afile = self._defaults_file(name, spec_defaults, arg)
            elif arg in block_defaults:
                # an error in a block's default points at the block definition, in its file
                raw, own = block_defaults[arg], True
                fline = (
                    block_defaults.key_line(arg) if hasattr(block_defaults, "key_line") else line
                )
                afile = bfile
            else:
                plan.append((_MISSING, arg, tuple(arg_names)))
                continue
            if isinstance(raw, (bool, int, Fraction, type(None))):
                plan.append((_CONST, arg, raw))  # what value() returns for it, on any scope
                continue
            if isinstance(raw, float) and raw == raw and raw not in (float("inf"), float("-inf")):
                plan.append((_CONST, arg, Fraction(repr(raw))))
                continue
            plan.append((_RAW, arg, raw, fline, own, afile))
        return plan

    def emit(self, op, values, inputs, node_id, file, line, row, memo=None, vkey=None):
        """One node. ``memo`` and ``vkey`` (from :meth:`expand_primitive`): the row's shared
        plan's costs, keyed by ``vkey`` (the values and types of the fields the plan does not
        hold constant) and the input shapes, so that the key is small (the generic key holds
        every field value: a bn row's Fraction eps hashes in Python)."""
        prim = L.PRIMITIVES[op]
        arity, count = prim.arity, len(inputs)
        if arity == 0:
            inputs = []  # a source (a learned tensor): the row above does not feed it
            count = 0
        if arity == 1 and count != 1:
            raise SpecError(f"{op} takes one input, got {count}", file, line)
        if arity is None and count < 2:
            raise SpecError(f"{op} needs two or more inputs ('in: [a, b]')", file, line)
        if arity == 2 and count != 2:
            raise SpecError(f"{op} takes exactly two inputs", file, line)
        # a primitive's cost depends only on its input shapes (with their layouts) and its
        # field values: a network written layer by layer repeats the same few thousands of times
        key = mkey = cost = None
        static = self.static
        if not self.symbolic:
            if count == 1:
                shape = inputs[0].shape
                shapes = ((type(shape), shape),)
            else:
                shapes = tuple([(type(i.shape), i.shape) for i in inputs])
            if memo is not None:
                mkey = (vkey, shapes)
                try:
                    cost = memo.get(mkey)
                except TypeError:  # a list-valued field
                    memo = None
            if cost is None:
                vals = values.values()
                key = (op, shapes, tuple(vals), tuple(map(type, vals)), tuple(values))
                try:
                    cost = static.costs.get(key)
                except TypeError:  # a list-valued field
                    key = None
                if cost is not None and memo is not None and static.memo_count < _MAX_COSTS:
                    memo[mkey] = cost
                    static.memo_count += 1
        if cost is None:
            try:
                if count == 0:
                    cost = prim.fn(**values)
                elif count == 1:
                    cost = prim.fn(inputs[0].shape, **values)
                else:
                    cost = prim.fn(*[i.shape for i in inputs], **values)
            except SpecError as err:
                raise SpecError(f"row '{node_id}': {err.message}", file, line) from None
            if not self.symbolic and cost.shape and max(cost.shape) > MAX_DIM:
                dim = next(d for d in cost.shape if d > MAX_DIM)
                raise SpecError(f"row '{node_id}': output dimension {dim:,} exceeds the "
                                f"limit {MAX_DIM:,}", file, line)  # fmt: skip
            # only checked costs are kept: a cost found in a cache needs no check
            if key is not None and len(static.costs) < _MAX_COSTS:
                static.costs[key] = cost
            if memo is not None and static.memo_count < _MAX_COSTS:
                memo[mkey] = cost
                static.memo_count += 1
        owner = row if row is not None else self.row
        first = self.ids.setdefault(node_id, (op, file, line))
        if len(self.ids) <= len(self.nodes):  # setdefault found the id taken
            raise SpecError(f"id '{node_id}' of this {op} layer is also the id of a {first[0]} "
                            f"layer at {first[1]}:{first[2]} (an explicit `id:` may not equal "
                            "an id archcost generates, such as 'c/bn' or 'block/x')", file, line)
        node = Node(node_id, op, tuple(inputs), values, cost, owner, line)
        if self.calls:  # the innermost row that says `call:`, else `defaults: {op: {call:}}`
            node.call = self.calls[-1]
        else:
            call = self.default_calls.get(op, _ABSENT)
            if call is _ABSENT:
                call = None
                if op in self.defaults and "call" in self._defaults_for(op):
                    call = _call_style(self._defaults_for(op)["call"], self.file, None)
                self.default_calls[op] = call
            if call is not None:
                node.call = call
        nodes = self.nodes
        nodes.append(node)
        if len(nodes) > MAX_NODES:
            raise SpecError(f"the network expands to more than {MAX_NODES:,} layers", file, line)
        if owner is not None:
            owner.nodes.append(node)
        return node

    def row_of(self, row):
        return row if row is not None else self.row

    def expand_block(self, name, bdef, fields, inputs, node_id, env, file, line, depth, row):
        if depth >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested deeper than {MAX_BLOCK_DEPTH} (a block using itself?)",
                            file, line)  # fmt: skip
        key = ("block", name, id(fields), line, id(bdef))
        cached = self.static.plans.get(key)
        if cached is not None and cached[0] is fields:
            plan = cached[1]
        else:
            plan = self._block_plan(name, bdef, fields, file, line)
            self.static.plans[key] = (fields, plan)
        bfile = getattr(bdef, "file", None) or file
        self._spend(len(plan), file, line)
        shape = inputs[0].shape
        benv = dict(self.env)
        benv.update(input_names(shape))
        for entry in plan:
            how, arg = entry[0], entry[1]
            if how is _CONST:
                benv[arg] = entry[2]
                continue
            if how is _MISSING:
                raise SpecError(f"block {name} row '{node_id}' needs argument '{arg}' "
                                f"(args: {', '.join(entry[2])})", file, line)  # fmt: skip
            raw, fline, own, afile = entry[2], entry[3], entry[4], entry[5]
            value = self.value(
                raw, benv if own else env, afile, fline, f"{name} '{node_id}': '{arg}'"
            )
            if isinstance(value, float):
                value = Fraction(repr(value))
            benv[arg] = value
        for i, extra in enumerate(inputs[1:], start=1):
            benv.update({f"in{i}_{k[3:]}": v for k, v in input_names(extra.shape).items()})
        if "layers" not in bdef:  # a user-defined primitive
            return self.expand_user_primitive(name, bdef, benv, inputs, node_id, file, line, row)
        if row is not None and bdef.get("columns"):
            self.headers.update(bdef["columns"])
            if len(self.headers) > MAX_COLUMNS:
                raise SpecError(f"blocks show more than {MAX_COLUMNS} distinct columns", bfile,
                                bdef.key_line("columns"))  # fmt: skip
            self.column_cells += len(bdef["columns"])
            if self.column_cells > MAX_COLUMN_CELLS:
                raise SpecError(f"the rows show more than {MAX_COLUMN_CELLS:,} block column "
                                "cells (rows x columns; MAX_COLUMN_CELLS)", file, line)  # fmt: skip
            for header, arg in bdef["columns"].items():
                row.columns[header] = benv.get(arg, arg)
        scope = {"input": inputs[0]}
        for i, inp in enumerate(inputs):
            scope[f"input{i}"] = inp
        out = self.expand_rows(bdef["layers"], scope, benv, node_id + "/", False, depth + 1, bfile)
        if "output" in bdef:
            target = bdef["output"]
            if target not in scope or scope[target] is None:
                raise SpecError(f"block {name}: output '{target}' is not one of its rows", bfile,
                                bdef.key_line("output"))  # fmt: skip
            out = scope[target]
            if isinstance(out, _Skipped):
                raise out.named_by(f"block {name}: output", target, bfile, bdef.key_line("output"))
        return out

    def _skipped(self, fields, scope, stand_in, file, row_id):
        """What a row skipped by ``when:`` stands for when a later row names it: the row named
        by its ``else:`` (``else: identity`` is its own input), or, without ``else:``, a
        marker that makes naming it an error (a concat naming a skipped branch would silently
        take that branch's input)."""
        line = fields.key_line("when")
        if "else" not in fields:
            return _Skipped(stand_in, fields["when"], file, line)
        other = fields["else"]
        efile, eline = fields.key_file("else", file), fields.key_line("else")
        if other == "identity":
            return stand_in
        if not isinstance(other, str) or other not in scope or scope[other] is None:
            raise SpecError(f"row '{row_id}': 'else' takes 'identity' or a row above it, got "
                            f"{brief(other)}", efile, eline)  # fmt: skip
        if isinstance(scope[other], _Skipped):
            raise scope[other].named_by(row_id, other, efile, eline)
        return scope[other]


def _call_style(value, file, line) -> str:
    """A row's ``call:``: how the torch code calls its layers, ``module`` (nn.ReLU) or
    ``functional`` (F.relu). Only other tools' counts depend on it (``--convention``)."""
    if value not in ("module", "functional"):
        raise SpecError(f"'call' is module or functional, got {brief(value)}", file, line)
    return value


class _Skipped:
    """A row skipped by ``when:`` that says nothing (``else:``) of what stands in its place."""

    __slots__ = ("node", "when", "file", "line")

    def __init__(self, node, when, file, line):
        self.node, self.when, self.file, self.line = node, when, file, line

    def named_by(self, row_id, name, file, line) -> SpecError:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        when = self.when if isinstance(self.when, str) and len(self.when) <= 80 else brief(self.when)
        return SpecError(f"row '{row_id}' takes input '{name}', which is skipped here (when: "
                         f"{when} at {where}); say what stands in its place: "
                         f"'else: identity' (its input) or 'else: ROW'", file, line)  # fmt: skip


def _user_primitive(self, name, pdef, benv, inputs, node_id, file, line, row):
    """One ``custom`` node whose shape and costs are the values of a user primitive's
    expressions (errors point at the primitive's definition)."""
    pfile = getattr(pdef, "file", None) or file
    owner = f"{name} '{node_id}'"

    def number(key, raw, minimum, maximum=MAX_DIM):
        kline = pdef.key_line(key) if hasattr(pdef, "key_line") else line
        value = self.value(raw, benv, pfile, kline, f"{owner}: {key}")
        if isinstance(value, str) and _is_ident(value) and not self.symbolic:
            raise SpecError(f"{owner}: {key}: unknown name '{value}'", pfile, kline)
        return _to_int(value, f"{owner}: {key}", pfile, kline, minimum, self.symbolic, maximum)

    want = number("inputs", pdef.get("inputs", 1), 0)
    if want == 0:
        inputs = []
    elif len(inputs) != want:
        raise SpecError(f"{name} takes {want} input{'s' if want != 1 else ''} (in: [...]), got "
                        f"{len(inputs)}", file, line)  # fmt: skip
    self._spend(len(pdef["shape"]), pfile, line)
    values = {"shape": [number("shape", v, 1) for v in pdef["shape"]],
              "layout": pdef.get("layout")}  # fmt: skip
    for key in ("params", "macs", "ops", "buffers"):
        values[key] = number(key, pdef.get(key, 0), 0, MAX_COUNT)
    values["name"] = name
    layout = values["layout"]
    if layout is not None and not isinstance(layout, str):
        raise SpecError(f"primitive '{name}': layout must be a word such as tokens or HWC", pfile,
                        pdef.key_line("layout"))  # fmt: skip
    return self.emit("custom", values, inputs, node_id, file, line, row)


_Expander.expand_user_primitive = _user_primitive


def _named_fields_for(expander, label, value, file, line):
    if type(value) is LineDict and hasattr(value, "lines") and hasattr(value, "line"):
        # the row's own mapping, as read: the expander never changes a row's fields, so the
        # copy that _named_fields makes (for callers that do) is not needed
        return value
    doc = {"blocks": expander.blocks}
    if value is not None and not isinstance(value, (dict, list, str, int, float)):
        raise SpecError(f"row '{label}': fields must be a mapping, a list or one value", file, line)
    return _named_fields(label, value, doc, file, line)


# ---------------------------------------------------------------- entry points


def param_values(doc, overrides: dict | None = None) -> dict:
    """Spec parameters with defaults, then ``--set`` overrides (exact numbers)."""
    file = doc["_file"]
    declared = doc.get("params") or {}
    if not isinstance(declared, dict):
        raise SpecError("'params' must be a mapping of name: default", _key_file(doc, "params", file),
                        doc.key_line("params") if hasattr(doc, "key_line") else None)  # fmt: skip
    values = {}
    for name, raw in declared.items():
        line = declared.key_line(name) if hasattr(declared, "key_line") else None
        pfile = _key_file(declared, name, _key_file(doc, "params", file))
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise SpecError(f"parameter name {brief(name)} is not a plain identifier", pfile, line)
        values[name] = _param(raw, name, pfile, line)
    for name, raw in (overrides or {}).items():
        if name not in values:
            known = did_you_mean(name, list(values))[2:] or (
                f"parameters: {', '.join(values) or 'none'}"
            )
            raise SpecError(f"--set {brief(name)}: this network has no such parameter; {known}",
                            file)  # fmt: skip
        values[name] = _param(raw, name, file, None)
    return values


def _param(raw, name, file, line):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw == raw and abs(raw) != float("inf"):
        return Fraction(repr(raw))
    if isinstance(raw, Fraction):
        return raw
    if isinstance(raw, str):
        try:
            value = evaluate(raw, {})
        except SpecError as err:
            raise SpecError(f"parameter '{name}': {err.message}", file, line) from None
        if isinstance(value, (int, Fraction)):
            return value
    raise SpecError(f"parameter '{name}' must be a number, got {brief(raw)}", file, line)


def build_doc(doc, name, params=None, train=False, evaluator=evaluate, symbolic=False) -> Network:
    file = doc["_file"]
    if symbolic and isinstance(params, dict):
        env = params  # sympy symbols (and numbers): param_values() would reject symbols
    else:
        env = param_values(doc, params) if params is None or isinstance(params, dict) else params
    ex = _Expander(doc, env, train, evaluator, symbolic)
    input_line = doc.key_line("input") if hasattr(doc, "key_line") else None
    input_file = _key_file(doc, "input", file)
    raw_input, layout = _input_form(doc.get("input"), input_file, input_line)
    lines = [raw_input.item_line(i) if isinstance(raw_input, LineList) else input_line
             for i in range(len(raw_input))]  # fmt: skip
    shape = shaped([_to_int(ex.value(v, env, input_file, ln, "input"), "input", input_file,
                            ln, 1, symbolic) for v, ln in zip(raw_input, lines)], layout)  # fmt: skip
    input_node = Node("input", "input", (), {}, L.Cost(shape), None, input_line)
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError("'layers' must be a non-empty list of rows", _key_file(doc, "layers", file),
                        doc.key_line("layers") if hasattr(doc, "key_line") else None)  # fmt: skip
    with gc_paused():
        ex.expand_rows(layers, {"input": input_node}, env, "", True, 0,
                       getattr(layers, "file", file))  # fmt: skip
    meta = {k: doc.get(k) for k in ("paper", "year", "url", "notes", "family", "variant",
                                    "torchvision")}  # fmt: skip
    meta["variants"] = sorted((doc.get("variants") or {}).keys())
    meta["params"] = dict(doc.get("params") or {})
    meta["expanded_rows"] = ex.expanded
    meta["spans"] = (ex.spans, ex.nodes)  # the block nesting (archcost.nesting reads it)
    # the work of this build, for callers that build many networks (a table file)
    meta["work"] = (ex.expanded + len(ex.nodes) + ex.values_read + len(env) + len(ex.blocks)
                    + len(ex.defaults) + len(doc.get("variants") or {}))  # fmt: skip
    title = doc.get("title") or name
    return Network(name, str(title), file, input_node, ex.rows, ex.nodes, env, meta, train)


_INPUT_HELP = ("'input' must be [C, H, W] (or [N], [C, L], [C, D, H, W]; tokens as "
               "{tokens: [L, D]}, token ids as {ids: [L]}, any other as {shape: [...], "
               "layout: HWC})")  # fmt: skip


def _input_form(raw, file, line):
    """(dimensions, layout) of the spec's ``input:`` (docs/shapes.md).

    A list gives the layout its rank implies: [N], [C, L], [C, H, W], [C, D, H, W]. A mapping
    names it: ``{tokens: [L, D]}``, ``{ids: [L]}``, ``{map: [C, H, W]}``, ... (one of
    :data:`~archcost.shapes.LAYOUT_WORDS`), or ``{shape: [...], layout: LETTERS}``.
    """
    layout = None
    if isinstance(raw, dict):
        line = getattr(raw, "line", line)
        keys = set(raw)
        if keys <= {"shape", "layout"} and "shape" in keys:
            dims = raw["shape"]
            if "layout" in raw:
                layout = parse_layout(raw["layout"])
                if layout is None:
                    raise SpecError(f"input: unknown layout {brief(raw['layout'])} (letters "
                                    "C H W D L N X, or tokens, ids, channels_last)", file,
                                    line)  # fmt: skip
        elif len(keys) == 1 and parse_layout(next(iter(keys))) is not None:
            word = next(iter(keys))
            layout, dims = parse_layout(word), raw[word]
        else:
            raise SpecError(_INPUT_HELP, file, line)
        raw = dims
    if not isinstance(raw, list) or not 1 <= len(raw) <= 8:
        raise SpecError(_INPUT_HELP, file, line)
    if layout is not None and len(layout) != len(raw):
        raise SpecError(f"input: layout {layout} has {len(layout)} axes, the shape {len(raw)}",
                        file, line)  # fmt: skip
    return raw, layout


def input_names(shape) -> dict:
    """Names a block's fields can use for its input's dimensions: ``in_c`` (channels or
    features), ``in_h``, ``in_w``, ``in_d`` (depth), ``in_l`` (length, tokens), ``in_n`` (a flat
    vector), ``in_rank``."""
    names = {"in_rank": len(shape)}
    lay = layout_of(shape)
    for letter, dim in zip(lay, shape, strict=True):
        key = "in_" + letter.lower()
        if letter != "X" and key not in names:
            names[key] = dim
    if "in_c" not in names:
        names["in_c"] = shape[0] if lay != "LC" else shape[-1]
    return names


def load(arg: str) -> tuple[dict, str]:
    """The spec named by ``arg`` with ``extends`` and its variant applied, and its display name.

    Read once and build many times (sweeps, solving): ``build_doc(doc, name, params)``.
    """
    path, variant = resolve(arg)
    return effective(path, variant), display_name(path, variant)


def build_text(text: str, prefix: str = "archcost-") -> Network:
    """Evaluate spec text held in memory (the API, and import's round trip): written to a
    temporary file so that errors carry a FILE:LINE like any spec's."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".yaml", prefix=prefix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return build(path)
    finally:
        os.unlink(path)


def build(arg: str, params: dict | None = None, train: bool = False) -> Network:
    """Evaluate a built-in name, ``NAME:VARIANT`` or a file path into a :class:`Network`."""
    doc, name = load(arg)
    return build_doc(doc, name, params, train)

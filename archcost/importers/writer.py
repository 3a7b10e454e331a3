"""Imported ops -> a spec for people to read: rows follow the module hierarchy, and a module
structure that repeats becomes one block definition with arguments.

1. The ops are grouped into a tree of module calls (``layer1`` > ``layer1.0`` > ``conv1``).
2. Bottom up (by height in the tree), each call is rendered as rows relative to itself. Its
   *structure* is those rows with every integer field blanked out (labels, types, wiring and
   the other fields kept). Calls of one module class with the same structure, at least two of
   them, each reading one tensor and giving one, become one block; a plain ``nn.Sequential``
   does so only when it holds leaf layers alone (MobileNet's conv-BN-ReLU triples).
3. A block's arguments are the integer fields that differ between its calls. Fields that
   always agree share one argument; a field that is always a whole multiple of another, or of
   the block's input channels ``in_c``, is written as that expression (``4 * conv1_out``,
   ``6 * in_c``), so torchvision's Bottleneck reads ``bottleneck: {conv1_out: 64}``.
4. Consecutive calls of one block with the same arguments, each feeding the next, become one
   row with ``repeat: n``. Everything else is inlined, labelled by its module path.

``flat=True`` skips steps 2-4: one row per op, labelled by its full module path.

An op of type ``unknown`` (``--allow-unknown``) is a row like any other, with a comment that
says what archcost lacks and where the model calls it:
``- cum: {type: unknown, op: torch.cumsum, shape: [16, 32, 32], params: 0, buffers: 0}  # no
primitive for function cumsum at cum (model.py:12); MACs unknown``.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..layers import PRIMITIVES
from .ir import Imported, Op, Scope

RESERVED = {"type", "id", "in", "repeat", "first", "train", "when", "input", "in_c", "in_h",
            "in_w", "min", "max", "abs", "round", "int", "floor", "ceil", "make_divisible",
            "and", "or", "not", "if", "else", "output", "doc", "args", "defaults", "layers",
            "columns"}  # fmt: skip


@dataclass(eq=False)
class Row:
    label: str
    type: str
    fields: dict
    inputs: list  # global tensor ids
    output: str  # global tensor id
    repeat: int = 1
    note: str = ""
    in_c: int | None = None  # channels of the first input (for block arguments)
    inside: frozenset = frozenset()  # op ids inside a block call


@dataclass(eq=False)
class Call:
    """One call of a non-leaf module and what ran inside it, in order."""

    scope: Scope
    children: list = field(default_factory=list)  # Op or Call
    height: int = 0
    rows: list = field(default_factory=list)  # rendered body, labels relative to this call
    block: tuple | None = None  # (block name, args dict) once it is decided to be a block

    def ops(self):
        for c in self.children:
            if isinstance(c, Op):
                yield c
            else:
                yield from c.ops()


def _tree(ops, root_scope) -> Call:
    root = Call(root_scope)
    open_calls = [root]
    open_scopes: list = []
    for op in ops:
        chain = op.scopes
        common = 0
        while common < len(chain) and common < len(open_scopes) and chain[common] is open_scopes[common]:
            common += 1
        del open_calls[common + 1:]
        del open_scopes[common:]
        for scope in chain[common:]:
            call = Call(scope)
            open_calls[-1].children.append(call)
            open_calls.append(call)
            open_scopes.append(scope)
        open_calls[-1].children.append(op)
    return root


def _heights(call) -> int:
    h = 0
    for c in call.children:
        if isinstance(c, Call):
            h = max(h, _heights(c) + 1)
    call.height = h
    return h


def _calls(call):
    for c in call.children:
        if isinstance(c, Call):
            yield from _calls(c)
            yield c


def _relative(path: str, base: str) -> str:
    if base and path.startswith(base + "."):
        return path[len(base) + 1:]
    return path


class Writer:
    def __init__(self, imported: Imported, flat=False, title=None):
        self.imp = imported
        self.flat = flat
        self.title = title
        self.shapes = {"input": tuple(imported.input)}
        self.users = defaultdict(list)
        for op in imported.ops:
            self.shapes[op.id] = op.shape
            for i in op.inputs:
                self.users[i].append(op.id)
        self.blocks: dict = {}  # name -> (args list, rows, output row id, doc)
        self.first_of_class: dict = {}  # module class -> the calls of its first block

    # ------------------------------------------------------------ rendering
    def op_row(self, op: Op, base: str) -> Row:
        label = _relative(op.path, base) if op.path else op.name
        src = op.inputs[0] if op.inputs else "input"
        return Row(label, op.type, dict(op.fields), list(op.inputs), op.id,
                   note=_unknown_note(op), in_c=_channels(self.shapes.get(src)))  # fmt: skip

    def render(self, call: Call) -> list[Row]:
        rows = []
        for c in call.children:
            if isinstance(c, Op):
                rows.append(self.op_row(c, call.scope.path))
            elif c.block is not None:
                name, args = c.block
                ext = self.external(c)
                rows.append(Row(_relative(c.scope.path, call.scope.path), name, dict(args), ext,
                                self.output_of(c), in_c=_channels(self.shapes.get(ext[0])),
                                inside=frozenset(op.id for op in c.ops())))  # fmt: skip
            else:
                prefix = _relative(c.scope.path, call.scope.path)
                for r in c.rows:
                    r = Row(**{**r.__dict__})
                    r.label = f"{prefix}.{r.label}" if prefix else r.label
                    rows.append(r)
        return rows

    def external(self, call: Call) -> list:
        made = {op.id for op in call.ops()}
        ext = []
        for op in call.ops():
            for i in op.inputs:
                if i not in made and i not in ext:
                    ext.append(i)
        return ext

    def output_of(self, call: Call):
        made = [op.id for op in call.ops()]
        inside = set(made)
        final = self.imp.ops[-1].id if self.imp.ops else None
        outs = [m for m in made if m == final or any(u not in inside for u in self.users[m])]
        return outs[0] if len(outs) == 1 else None

    # ------------------------------------------------------------ structure
    def key(self, call: Call, rows: list[Row]):
        ext = self.external(call)
        out = self.output_of(call)
        index = {r.output: i for i, r in enumerate(rows)}
        parts = []
        for r in rows:
            fields = tuple(sorted((k, "#" if _variable(v) else json.dumps(v))
                                  for k, v in r.fields.items()))  # fmt: skip
            ins = tuple("input" if i in ext else index.get(i, "?") for i in r.inputs)
            parts.append((r.label, r.type, fields, ins))
        return (call.scope.cls, tuple(parts), index.get(out))

    def eligible(self, call: Call) -> bool:
        if len(self.external(call)) != 1 or self.output_of(call) is None:
            return False
        if call.scope.container:
            return call.height == 0
        return True

    def decide(self, root: Call):
        _heights(root)
        calls = list(_calls(root))
        for height in sorted({c.height for c in calls}):
            level = [c for c in calls if c.height == height]
            groups = defaultdict(list)
            for c in level:
                c.rows = self.render(c)
                if not self.flat and self.eligible(c):
                    groups[self.key(c, c.rows)].append(c)
            by_class = defaultdict(list)
            for key, members in groups.items():
                if len(members) >= 2:
                    by_class[key[0]].append((key, members))
            for cls, variants in by_class.items():
                variants.sort(key=lambda km: -len(km[1]))
                for _key, members in variants:
                    common = self.first_of_class.setdefault(cls, members)
                    name = self.block_name(cls, members, common, common is not members)
                    self.make_block(name, members)
        root.rows = self.render(root)

    def block_name(self, cls, members, common, n) -> str:
        first = members[0]
        if first.scope.container:
            base = "_".join(dict.fromkeys(r.type for r in first.rows))
        else:
            base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls).lower()
            base = re.sub(r"\W", "_", base)
        if n:
            labels = {r.label for r in common[0].rows}
            extra = [r.label for r in first.rows if r.label not in labels]
            mine = {r.label for r in first.rows}
            missing = [r.label for r in common[0].rows if r.label not in mine]
            base = (f"{base}_{_ident(extra[0])}" if extra else
                    f"{base}_without_{_ident(missing[0])}" if missing else f"{base}_2")  # fmt: skip
        if base in PRIMITIVES or base in RESERVED or not re.match(r"[a-z_]", base):
            base = f"{base}_block"
        name, k = base, 2
        while name in self.blocks:
            name, k = f"{base}_{k}", k + 1
        return name

    def make_block(self, name, members):
        template = members[0].rows
        slots = []  # (row index, field) of integer fields that vary
        for j, r in enumerate(template):
            for f, v in r.fields.items():
                if _variable(v):
                    values = [m.rows[j].fields[f] for m in members]
                    if len(set(values)) > 1:
                        slots.append((j, f, values))
        in_c = [_channels(self.shapes.get(self.external(m)[0])) for m in members]
        bases = [("in_c", in_c)] if all(isinstance(c, int) for c in in_c) else []
        args = []  # names, in order
        exprs = {}
        counts = defaultdict(int)
        for _j, f, _v in slots:
            counts[f] += 1
        for j, f, values in slots:
            expr = _relate(values, bases)
            if expr is None:
                label = _ident(template[j].label)
                arg = f if counts[f] == 1 and f not in RESERVED else f"{label}_{f}"
                while arg in args or arg in RESERVED:
                    arg += "_"
                args.append(arg)
                bases.append((arg, values))
                expr = arg
            exprs[(j, f)] = expr
        body = []
        for j, r in enumerate(template):
            fields = {f: exprs.get((j, f), v) for f, v in r.fields.items()}
            body.append(Row(r.label, r.type, fields, r.inputs, r.output, note=r.note))
        # an argument with one value in more than 4 of 5 calls gets it as its default
        defaults = {}
        for arg, vector in bases:
            if arg != "in_c":
                value, count = Counter(vector).most_common(1)[0]
                if count >= 3 and 5 * count > 4 * len(vector):
                    defaults[arg] = value
        for i, m in enumerate(members):  # every argument: the parent's structure compares them
            m.block = (name, {arg: vector[i] for arg, vector in bases if arg != "in_c"})
        args = [a for a in args if a not in defaults]
        paths = [m.scope.path for m in members]
        where = ", ".join(paths[:3]) + (f", ... ({len(paths)} calls)" if len(paths) > 3 else "")
        ext = self.external(members[0])
        out = self.output_of(members[0])
        self.blocks[name] = (args, body, ext, out, f"module {members[0].scope.cls}: {where}",
                             defaults)  # fmt: skip

    # ------------------------------------------------------------ YAML
    def collapse(self, rows: list[Row]) -> list[Row]:
        """Consecutive calls of one block with equal arguments, each feeding the next."""
        out: list[Row] = []
        for r in rows:
            prev = out[-1] if out else None
            if (prev is not None and r.type in self.blocks and r.type == prev.type
                    and r.fields == prev.fields and r.inputs == [prev.output]
                    and all(u in r.inside for u in self.users[prev.output])):  # fmt: skip
                prev.repeat += 1
                prev.note = f"{_first_label(prev)} .. {r.label}"
                prev.output = r.output
                prev.inside = r.inside
                continue
            out.append(Row(**{**r.__dict__}))
        return out

    def rows_yaml(self, rows, ext, indent) -> list[str]:
        ids = {}
        seen = defaultdict(int)
        lines = []
        prev_out = ext[0] if ext else "input"
        for r in rows:
            seen[r.label] += 1
            rid = r.label if seen[r.label] == 1 else f"{r.label} #{seen[r.label]}"
            refs = []
            for i in r.inputs:
                if i in ext:
                    refs.append("input")
                elif i in ids:
                    refs.append(ids[i])
                else:
                    refs.append(_ref_of(i, ids))
            fields = _without_defaults(r.type, r.fields)
            if r.type in self.blocks:  # a block's call leaves out its arguments' defaults
                defaults = self.blocks[r.type][5]
                fields = {k: v for k, v in fields.items() if k not in defaults or defaults[k] != v}
            items = []
            if r.type != r.label:
                items.append(("type", r.type))
            items += list(fields.items())
            if r.inputs and not (len(r.inputs) == 1 and r.inputs[0] == prev_out):
                items.append(("in", refs[0] if len(refs) == 1 else refs))
            if r.repeat > 1:
                items.append(("repeat", r.repeat))
            text = _label(r.label)
            if items:
                text += ": {" + ", ".join(f"{k}: {_value(v)}" for k, v in items) + "}"
            if r.note:
                text += f"  # {r.note}"
            lines.append(" " * indent + "- " + text)
            ids[r.output] = rid
            prev_out = r.output
        return lines

    def write(self, header=()) -> str:
        root_scope = Scope("", "model")
        root = _tree(self.imp.ops, root_scope)
        self.decide(root)
        lines = [f"# {h}" for h in header]
        lines.append(f"title: {json.dumps(self.title or self.imp.source or 'imported model')}")
        dims = "[" + ", ".join(str(d) for d in self.imp.input) + "]"
        # a rank-2 input of a torch model is tokens (L, D): nn.Linear reads its last axis
        if self.imp.ids:
            lines.append(f"input: {{ids: {dims}}}")
        else:
            tokens = self.imp.tokens if self.imp.tokens is not None else len(self.imp.input) == 2
            lines.append(f"input: {{tokens: {dims}}}" if tokens else f"input: {dims}")
        if self.blocks:
            lines.append("blocks:")
            for name, (args, body, ext, out, doc, defaults) in self.blocks.items():
                lines.append(f"  {name}:")
                lines.append(f"    doc: {json.dumps(doc)}")
                lines.append("    args: [" + ", ".join(args) + "]")
                if defaults:
                    lines.append("    defaults: {" + ", ".join(f"{k}: {_value(v)}" for k, v
                                                             in defaults.items()) + "}")  # fmt: skip
                body = self.collapse(body)
                if body and body[-1].output != out:
                    ids = {}
                    seen = defaultdict(int)
                    for r in body:
                        seen[r.label] += 1
                        ids[r.output] = r.label if seen[r.label] == 1 else f"{r.label} #{seen[r.label]}"
                    lines.append(f"    output: {_label(ids[out])}")
                lines.append("    layers:")
                lines += self.rows_yaml(body, ext, 6)
        lines.append("layers:")
        lines += self.rows_yaml(self.collapse(root.rows), ["input"], 2)
        return "\n".join(lines) + "\n"


def _without_defaults(type_, fields) -> dict:
    """Fields as a person writes them: a literal equal to the primitive's default is left out
    (a pool's stride equal to its kernel, too)."""
    prim = PRIMITIVES.get(type_)
    if prim is None:
        return dict(fields)
    out = {}
    for k, v in fields.items():
        f = prim.field_map.get(k)
        if f is not None and isinstance(v, str) and v == f.default:
            continue
        if f is not None and not isinstance(v, str):
            default = f.default
            if isinstance(default, str):
                try:
                    default = float(default)
                except ValueError:
                    pass
            if v == default or (isinstance(v, list) and len(set(v)) == 1 and v[0] == default):
                continue
            if k == "s" and default is None and v == fields.get("k"):
                continue
        out[k] = v
    return out


def _unknown_note(op: Op) -> str:
    """The comment on an unknown row: what archcost has no primitive for, where (module path,
    source line), and that its MACs are unknown."""
    if op.type != "unknown":
        return ""
    where = f" at {op.path}" if op.path else ""
    line = f" ({op.source})" if op.source else ""
    text = f"no primitive for {op.reason or op.fields.get('op')}{where}{line}; MACs unknown"
    return "".join(ch if ch.isprintable() else " " for ch in text)  # one comment line


def _first_label(row):
    return row.note.split(" .. ")[0] if row.note else row.label


def _ref_of(tensor, ids):
    raise ValueError(f"importer: tensor {tensor} is read before it is made")


def _channels(shape):
    return shape[0] if shape else None


def _variable(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _ident(label: str) -> str:
    text = re.sub(r"\W+", "_", label).strip("_") or "x"
    return text if not text[0].isdigit() else "r" + text


def _relate(values, bases):
    """An expression giving ``values`` from an earlier argument (equal, a multiple, a part);
    the block's input channels ``in_c`` only where they are equal (a depthwise conv)."""
    for name, base in bases:
        if base == values:
            return name
    for name, base in bases:
        if name == "in_c":
            continue
        if all(b and v % b == 0 for v, b in zip(values, base)):
            ratios = {v // b for v, b in zip(values, base)}
            if len(ratios) == 1:
                return f"{ratios.pop()} * {name}"
        if all(v and b % v == 0 for v, b in zip(values, base)):
            ratios = {b // v for v, b in zip(values, base)}
            if len(ratios) == 1:
                return f"{name} // {ratios.pop()}"
    return None


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _label(text: str) -> str:
    if _PLAIN.match(text) and text.lower() not in _WORDS:
        return text
    return json.dumps(text)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, (int, float)):
        return repr(v)
    text = str(v)
    if re.match(r"^[A-Za-z0-9_][A-Za-z0-9_ */+\-.()]*$", text) and text.lower() not in _WORDS:
        return text
    return json.dumps(text)


def write_spec(imported: Imported, flat=False, title=None, header=()) -> str:
    """The spec text for ``imported`` (see the module docstring)."""
    return Writer(imported, flat, title).write(header)

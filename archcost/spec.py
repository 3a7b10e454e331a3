"""YAML spec -> evaluated :class:`~archcost.graph.Network`, with file:line errors.

A spec reads like the paper's table (see docs/spec.md)::

    input: [3, 224, 224]
    defaults: {conv: {act: relu}, maxpool: {ceil: true}}
    layers:
      - conv 7x7/2:    {out: 64, k: 7, s: 2, p: 3}
      - max pool:      {k: 3, s: 2}
      - inception 3a:  [64, 96, 128, 16, 32, 32]

A row is ``LABEL: FIELDS`` (a mapping, a positional list or one scalar) or a bare type name.
Its type is the label itself or its first word (``conv 7x7/2`` is a conv) unless ``type:`` says
otherwise. Each row feeds the next unless ``in:`` names earlier rows (``input`` is the network's
or block's input). Blocks are macros over primitives defined in YAML (``specs/blocks/*.yaml`` or
the spec's own ``blocks:``). Resolution, variants and ``extends`` are applied to the YAML before
one pass expands rows into nodes and computes every shape and cost.
"""

from __future__ import annotations

import difflib
import os
from fractions import Fraction
from functools import lru_cache

from . import layers as L
from .errors import SpecError
from .expr import evaluate, is_expression
from .graph import Network, Node, Row
from .limits import MAX_BLOCK_DEPTH, MAX_DIM, MAX_NODES, MAX_REPEAT
from .yamlio import LineDict, LineList, gc_paused, load_file

TOP_KEYS = {"name", "title", "paper", "year", "url", "notes", "input", "params", "defaults",
            "blocks", "layers", "variants", "extends", "family", "torchvision"}  # fmt: skip
OVERRIDE_KEYS = {"title", "paper", "year", "url", "notes", "input", "params", "defaults",
                 "blocks", "layers", "rows", "remove", "insert_after", "torchvision"}  # fmt: skip
ROW_KEYS = {"type", "id", "in", "repeat", "first", "train", "when"}
WEIGHT_SUGAR = {"bn": L.Field("bn", "bool", False), "act": L.Field("act", "choice", "none")}
BLOCK_KEYS = {"doc", "args", "defaults", "layers", "output", "columns"}
ACT_CHOICES = ("none", *L.ACTIVATIONS, *[a for a, t in L.ALIASES.items() if t in L.ACTIVATIONS])


# ---------------------------------------------------------------- locating specs


def specs_dir() -> str:
    """Built-in specs: ``archcost/specs`` in an installed wheel, ``specs/`` in a checkout."""
    here = os.path.dirname(os.path.abspath(__file__))
    packaged = os.path.join(here, "specs")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "specs")


def builtin_names() -> list[str]:
    folder = specs_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))


def resolve(arg: str) -> tuple[str, str | None]:
    """``NAME``, ``NAME:VARIANT``, ``path.yaml`` or ``path.yaml:VARIANT`` -> (path, variant)."""
    base, variant = arg, None
    if ":" in arg and not os.path.exists(arg):
        base, variant = arg.rsplit(":", 1)
        if not variant:
            raise SpecError(f"empty variant name in {arg!r}")
    looks_like_path = base.endswith((".yaml", ".yml")) or os.sep in base or "/" in base
    if looks_like_path or os.path.exists(base):
        return base, variant
    path = os.path.join(specs_dir(), base + ".yaml")
    if os.path.isfile(path):
        return path, variant
    names = builtin_names()
    close = difflib.get_close_matches(base, names, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; `archcost list` shows them all"
    raise SpecError(f"unknown network '{base}'{hint}")


def display_name(path: str, variant: str | None) -> str:
    builtin = os.path.join(specs_dir(), "")
    name = os.path.basename(path)[:-5] if os.path.abspath(path).startswith(builtin) else path
    return f"{name}:{variant}" if variant else name


@lru_cache(maxsize=256)
def _load_cached(path: str, mtime: float):
    root = load_file(path, _short(path))
    if root is None:
        raise SpecError("the file is empty", _short(path))
    if not isinstance(root, dict):
        raise SpecError("the top level must be a mapping of keys (input, layers, ...)",
                        _short(path), getattr(root, "line", 1))  # fmt: skip
    return root


def _short(path: str) -> str:
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - other drive on Windows
        return path
    return rel if not rel.startswith("..") else path


def load_raw(path: str) -> LineDict:
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        mtime = 0.0
    return _load_cached(os.path.abspath(path), mtime)


@lru_cache(maxsize=1)
def block_library() -> dict:
    """Blocks shared by every spec: ``specs/blocks/*.yaml``, name -> definition."""
    library = {}
    folder = os.path.join(specs_dir(), "blocks")
    if not os.path.isdir(folder):
        return library
    for fname in sorted(os.listdir(folder)):
        if fname.endswith(".yaml"):
            root = load_raw(os.path.join(folder, fname))
            for name, bdef in root.items():
                if name in library:
                    raise SpecError(f"block '{name}' is defined twice (also in "
                                    f"{library[name].file})", _short(os.path.join(folder, fname)),
                                    root.key_line(name))  # fmt: skip
                library[name] = _check_block(name, bdef, _short(os.path.join(folder, fname)),
                                             root.key_line(name))  # fmt: skip
    return library


def _check_block(name, bdef, file, line):
    if not isinstance(bdef, dict):
        raise SpecError(f"block '{name}' must be a mapping with args and layers", file, line)
    unknown = set(bdef) - BLOCK_KEYS
    if unknown:
        raise SpecError(f"block '{name}': unknown key '{sorted(unknown)[0]}' "
                        f"(keys: {', '.join(sorted(BLOCK_KEYS))})", file,
                        bdef.key_line(sorted(unknown)[0]))  # fmt: skip
    layers = bdef.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError(f"block '{name}' needs a non-empty list 'layers'", file, bdef.line)
    args = bdef.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SpecError(f"block '{name}': args must be a list of names", file, bdef.line)
    defaults = bdef.get("defaults", {}) or {}
    if not isinstance(defaults, dict):
        raise SpecError(f"block '{name}': defaults must be a mapping", file, bdef.line)
    if isinstance(layers, LineList):
        layers.file = file
    bdef.file = file
    return bdef


# ---------------------------------------------------------------- variants and extends


def row_key(raw, file, line) -> tuple[str, object]:
    """A row's label and its fields (mapping, list, scalar or None)."""
    if isinstance(raw, str):
        return raw, None
    if isinstance(raw, dict) and len(raw) == 1:
        key, value = next(iter(raw.items()))
        if isinstance(key, str) and key.strip():
            return key, value
    raise SpecError("a row must be 'LABEL: {fields}', 'LABEL: [args]' or a layer type name",
                    file, line)  # fmt: skip


def row_ids(rows, file) -> list[str]:
    """Unique ids for a list of rows: the label, with ' #2', ' #3' on repeats of a label."""
    seen: dict[str, int] = {}
    ids = []
    for i, raw in enumerate(rows):
        key, value = row_key(raw, file, rows.item_line(i) if isinstance(rows, LineList) else None)
        explicit = value.get("id") if isinstance(value, dict) else None
        if isinstance(explicit, str):
            key = explicit
        seen[key] = seen.get(key, 0) + 1
        ids.append(key if seen[key] == 1 else f"{key} #{seen[key]}")
    return ids


def _merge_defaults(base: dict, extra: dict) -> dict:
    merged = dict(base)
    for type_name, fields in extra.items():
        old = merged.get(type_name) or {}
        new = LineDict({**old, **(fields or {})})
        new.line = getattr(fields, "line", None)
        new.lines = {**getattr(old, "lines", {}), **getattr(fields, "lines", {})}
        merged[type_name] = new
    return merged


def _apply_overrides(doc: dict, over: dict, file: str, what: str) -> dict:
    """Apply a variant (or an extending file) to an effective spec, returning a new one."""
    unknown = set(over) - OVERRIDE_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise SpecError(f"{what}: unknown key '{key}' (keys: {', '.join(sorted(OVERRIDE_KEYS))})",
                        file, over.key_line(key))  # fmt: skip
    doc = dict(doc)
    for key in ("title", "paper", "year", "url", "notes", "input", "torchvision"):
        if key in over:
            doc[key] = over[key]
    if "params" in over:
        doc["params"] = {**doc.get("params", {}), **_mapping(over, "params", file)}
    if "defaults" in over:
        doc["defaults"] = _merge_defaults(doc.get("defaults", {}), _mapping(over, "defaults", file))
    if "blocks" in over:
        doc["blocks"] = {**doc.get("blocks", {}), **_mapping(over, "blocks", file)}
    if "layers" in over:
        layers = over["layers"]
        if not isinstance(layers, list):
            raise SpecError(f"{what}: layers must be a list of rows", file, over.key_line("layers"))
        if isinstance(layers, LineList):
            layers.file = file
        doc["layers"] = layers
    rows = list(doc.get("layers", []))
    src = doc.get("layers")
    lines = list(src.lines) if isinstance(src, LineList) else [None] * len(rows)
    src_file = getattr(src, "file", file)

    def find(row_id, line):
        ids = row_ids(_as_linelist(rows, lines, src_file), src_file)
        if row_id not in ids:
            close = difflib.get_close_matches(str(row_id), ids, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise SpecError(f"{what} names row '{row_id}', which does not exist{hint}", file, line)
        return ids.index(row_id)

    for row_id, fields in _mapping(over, "rows", file).items():
        line = over["rows"].key_line(row_id)
        index = find(row_id, line)
        key, value = row_key(rows[index], src_file, lines[index])
        if not isinstance(fields, dict):
            raise SpecError(f"{what}: the override of row '{row_id}' must be a mapping of fields",
                            file, line)  # fmt: skip
        merged = _named_fields(key, value, doc, src_file, lines[index])
        merged.update(fields)
        merged.lines.update(getattr(fields, "lines", {}))
        rows[index] = {key: merged}
    for entry in _sequence(over, "remove", file):
        index = find(entry, over["remove"].line)
        del rows[index], lines[index]
    for row_id, extra in _mapping(over, "insert_after", file).items():
        index = find(row_id, over["insert_after"].key_line(row_id))
        if not isinstance(extra, list):
            raise SpecError(f"{what}: insert_after '{row_id}' needs a list of rows", file,
                            over["insert_after"].key_line(row_id))  # fmt: skip
        rows[index + 1 : index + 1] = list(extra)
        lines[index + 1 : index + 1] = list(getattr(extra, "lines", [None] * len(extra)))
    doc["layers"] = _as_linelist(rows, lines, src_file)
    return doc


def _as_linelist(rows, lines, file):
    out = LineList(rows)
    out.lines = list(lines)
    out.line = lines[0] if lines else None
    out.file = file
    return out


def _mapping(doc, key, file) -> dict:
    value = doc.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SpecError(f"'{key}' must be a mapping", file, doc.key_line(key))
    return value


def _sequence(doc, key, file) -> list:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"'{key}' must be a list", file, doc.key_line(key))
    return value


def _named_fields(key, value, doc, file, line) -> LineDict:
    """Fields of a row as a LineDict of names, converting a positional form."""
    out = LineDict()
    out.line = line
    out.lines = {}
    if value is None:
        return out
    if isinstance(value, dict):
        out.update(value)
        out.lines.update(getattr(value, "lines", {}))
        out.line = getattr(value, "line", line)
        return out
    type_name = _resolve_type(key, None, doc.get("blocks", {}), file, line)
    names = _positional(type_name, doc.get("blocks", {}))
    values = value if isinstance(value, list) else [value]
    if len(values) > len(names):
        raise SpecError(f"'{key}': {len(values)} values given, {type_name} takes at most "
                        f"{len(names)} ({', '.join(names) or 'none'})", file, line)  # fmt: skip
    for i, (name, v) in enumerate(zip(names, values, strict=False)):
        out[name] = v
        out.lines[name] = value.item_line(i) if isinstance(value, LineList) else line
    return out


def effective(path: str, variant: str | None, _seen=()) -> dict:
    """The spec as a dict after ``extends`` and the chosen variant are applied."""
    file = _short(path)
    if (path, variant) in _seen:
        raise SpecError("'extends' forms a cycle", file)
    root = load_raw(path)
    allowed = TOP_KEYS | (OVERRIDE_KEYS if "extends" in root else set())
    unknown = set(root) - allowed
    if unknown:
        key = sorted(unknown)[0]
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise SpecError(f"unknown top-level key '{key}'{hint}", file, root.key_line(key))
    if "extends" in root:
        base_arg = root["extends"]
        if not isinstance(base_arg, str):
            raise SpecError("'extends' names a network", file, root.key_line("extends"))
        if base_arg.split(":")[0].endswith((".yaml", ".yml")):
            base_arg = os.path.join(os.path.dirname(path), base_arg)
        try:
            base_path, base_variant = resolve(base_arg)
        except SpecError as err:
            raise err.located(file, root.key_line("extends")) from None
        doc = effective(base_path, base_variant, (*_seen, (path, variant)))
        own = {k: v for k, v in root.items() if k in OVERRIDE_KEYS}
        own = LineDict(own)
        own.line, own.lines = root.line, root.lines
        doc = _apply_overrides(doc, own, file, f"'{file}' (extends {root['extends']})")
        doc["variants"] = root.get("variants", {})
    else:
        doc = dict(root)
        if isinstance(doc.get("layers"), LineList):
            doc["layers"].file = file
    doc["_file"] = file
    for key in ("name", "title", "paper", "year", "family"):
        if key in root:
            doc[key] = root[key]
    if variant is not None:
        variants = doc.get("variants") or {}
        if not isinstance(variants, dict) or variant not in variants:
            names = sorted(variants) if isinstance(variants, dict) else []
            close = difflib.get_close_matches(variant, names, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"variants: {', '.join(names) or 'none'}"
            raise SpecError(f"unknown variant '{variant}'; {hint}", file)
        over = variants[variant] or LineDict()
        if not isinstance(over, dict):
            raise SpecError(f"variant '{variant}' must be a mapping", file, variants.key_line(variant))
        if not hasattr(over, "lines"):
            over = LineDict(over)
            over.line, over.lines = None, {}
        doc = _apply_overrides(doc, over, file, f"variant '{variant}'")
        doc["variant"] = variant
    return doc


# ---------------------------------------------------------------- types and fields


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def _type_exists(name, blocks) -> bool:
    return name in blocks or name in block_library() or L.get(name) is not None


def _canonical(name, blocks):
    if name in blocks or name in block_library():
        return name
    prim = L.get(name)
    return prim.name if prim else None


def _all_types(blocks):
    return sorted({*L.PRIMITIVES, *L.ALIASES, *block_library(), *blocks})


def _resolve_type(label: str, explicit, blocks, file, line) -> str:
    if explicit is not None:
        if not isinstance(explicit, str):
            raise SpecError("'type' must be a layer type name", file, line)
        candidates = [explicit]
    else:
        words = label.replace("(", " ").split() or [label]
        # the label itself, then its leading words, longest first: "max pool 3x3/2" -> max pool
        candidates = [label] + [" ".join(words[:n]) for n in range(len(words), 0, -1)]
    for cand in candidates:
        for name in (cand, _norm(cand)):
            found = _canonical(name, blocks)
            if found:
                return found
    wanted = _norm(candidates[-1])
    close = difflib.get_close_matches(wanted, _all_types(blocks), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    what = f"'{explicit}'" if explicit is not None else f"for row '{label}'"
    raise SpecError(f"unknown layer type or block {what}{hint}", file, line)


def _block_def(name, blocks):
    return blocks.get(name) or block_library().get(name)


def _positional(type_name, blocks) -> list[str]:
    bdef = _block_def(type_name, blocks)
    if bdef is not None:
        return [*bdef.get("args", []), *(bdef.get("defaults") or {})]
    return list(L.PRIMITIVES[type_name].positional)


def _is_ident(text: str) -> bool:
    return text.isidentifier()


def _to_int(value, what, file, line, minimum=1, symbolic=False):
    if type(value) is bool:
        raise SpecError(f"{what}: expected a whole number, got {str(value).lower()}", file, line)
    if isinstance(value, Fraction):
        if value.denominator != 1:
            raise SpecError(f"{what} = {float(value):g} is not a whole number; use int(), "
                            "round() or make_divisible()", file, line)  # fmt: skip
        value = int(value)
    if isinstance(value, float):
        raise SpecError(f"{what}: expected a whole number, got {value!r}", file, line)
    if isinstance(value, int):
        if value < minimum:
            raise SpecError(f"{what} must be at least {minimum}, got {value}", file, line)
        if value > MAX_DIM:
            raise SpecError(f"{what} = {value} exceeds the limit {MAX_DIM:,}", file, line)
        return value
    if symbolic and not isinstance(value, (str, list, dict)) and value is not None:
        return value
    kind = type(value).__name__ if not isinstance(value, str) else f"the string {value!r}"
    raise SpecError(f"{what}: expected a whole number, got {kind}", file, line)


class _Expander:
    """One pass over the rows: expand blocks into primitives, compute shapes and costs."""

    def __init__(self, doc, env, train, evaluator=evaluate, symbolic=False):
        self.doc = doc
        self.file = doc["_file"]
        self.blocks = {}
        for name, bdef in (doc.get("blocks") or {}).items():
            line = doc["blocks"].key_line(name) if hasattr(doc["blocks"], "key_line") else None
            self.blocks[name] = _check_block(name, bdef, self.file, line)
        self.defaults = doc.get("defaults") or {}
        self.env = env
        self.train = train
        self.evaluate = evaluator
        self.symbolic = symbolic
        self.nodes: list[Node] = []
        self.rows: list[Row] = []
        # per-expansion caches of work that depends only on the spec, not on the row's values:
        # a block's rows are read once per use, so deep repeats would redo it per copy
        self._ids_cache: dict = {}  # id(rows) -> (rows, row ids)
        self._type_cache: dict = {}  # (label, explicit type) -> canonical type name
        self._allowed_cache: dict = {}  # primitive -> field names a row may set
        self._defaults_checked: set = set()  # primitives whose spec defaults were validated
        for type_name in self.defaults:
            if not _type_exists(type_name, self.blocks):
                close = difflib.get_close_matches(type_name, _all_types(self.blocks), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(f"defaults: unknown layer type '{type_name}'{hint}", self.file,
                                doc["defaults"].key_line(type_name))  # fmt: skip

    # -- values

    def value(self, raw, env, file, line, what):
        """Evaluate a YAML value: expressions in strings, exact numbers otherwise."""
        if isinstance(raw, str):
            text = raw.strip()
            if _is_ident(text) and text in env:
                return env[text]
            if text.lower() in ("none", "same", "valid") or not is_expression(text):
                return text
            if _is_ident(text):
                return text  # a word such as 'relu'; numeric fields reject it with a message
            try:
                return self.evaluate(text, env)
            except SpecError as err:
                raise SpecError(f"{what}: {err.message}", file, line) from None
        if isinstance(raw, float):
            if raw != raw or raw in (float("inf"), float("-inf")):
                raise SpecError(f"{what}: {raw} is not a number", file, line)
            return Fraction(repr(raw))
        if isinstance(raw, list):
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
            return _to_int(value, what, file, line, fdef.minimum, self.symbolic)
        if kind in ("pair", "padding"):
            if kind == "padding" and isinstance(value, str) and value.lower() in ("same", "valid"):
                return value.lower()
            if isinstance(value, list):
                if len(value) != 2:
                    raise SpecError(f"{what}: expected one number or [h, w]", file, line)
                return tuple(_to_int(v, what, file, line, fdef.minimum, self.symbolic)
                             for v in value)  # fmt: skip
            if isinstance(value, str) and _is_ident(value) and not self.symbolic:
                raise SpecError(f"{what}: unknown name '{value}'", file, line)
            v = _to_int(value, what, file, line, fdef.minimum, self.symbolic)
            return (v, v)
        if kind == "bool":
            if isinstance(value, bool):
                return value
            raise SpecError(f"{what}: expected true or false, got {value!r}", file, line)
        if kind == "number":
            if isinstance(value, str):
                try:
                    value = Fraction(value)
                except ValueError:
                    raise SpecError(f"{what}: expected a number, got {value!r}", file, line) from None
            if type(value) is bool or not isinstance(value, (int, Fraction)):
                if self.symbolic and not isinstance(value, (list, dict, bool)):
                    return value
                raise SpecError(f"{what}: expected a number, got {value!r}", file, line)
            if value < fdef.minimum and fdef.minimum == 0:
                raise SpecError(f"{what} must not be negative", file, line)
            return value
        if kind == "choice":
            choices = fdef.choices or ACT_CHOICES
            if not isinstance(value, str) or value.lower() not in choices:
                close = difflib.get_close_matches(str(value), choices, n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(f"{what}: unknown value {value!r}{hint}", file, line)
            return L.ALIASES.get(value.lower(), value.lower())
        raise AssertionError(kind)  # pragma: no cover

    # -- rows

    def expand_rows(self, rows, scope, env, prefix, top, depth, file):
        if not isinstance(rows, list):
            raise SpecError("'layers' must be a list of rows", file, getattr(rows, "line", None))
        current = scope["input"]
        cached = self._ids_cache.get(id(rows))
        if cached is not None and cached[0] is rows:
            ids = cached[1]
        else:
            ids = row_ids(rows, file)
            self._ids_cache[id(rows)] = (rows, ids)
        for i, raw in enumerate(rows):
            line = rows.item_line(i) if isinstance(rows, LineList) else None
            label, value = row_key(raw, file, line)
            fields = _named_fields_for(self, label, value, file, line)
            row_id = ids[i]
            train_only = self._flag(fields, "train", env, file)
            if train_only and not self.train:
                scope[row_id] = None  # referencing it at inference is an error
                continue
            inputs = self._inputs(fields, scope, current, file, line, row_id)
            if "when" in fields:
                cond = self.value(fields["when"], env, file, fields.key_line("when"), "when")
                if not isinstance(cond, bool):
                    raise SpecError(f"'when' must be a condition, got {cond!r}", file,
                                    fields.key_line("when"))  # fmt: skip
                if not cond:
                    scope[row_id] = inputs[0]
                    if not train_only:
                        current = inputs[0]
                    continue
            type_name = self._type_of(label, fields.get("type"), file, line)
            repeat = 1
            if "repeat" in fields:
                repeat = self.value(fields["repeat"], env, file, fields.key_line("repeat"), "repeat")
                repeat = _to_int(repeat, "repeat", file, fields.key_line("repeat"))
                if repeat > MAX_REPEAT:
                    raise SpecError(f"repeat = {repeat:,} exceeds the limit {MAX_REPEAT:,}", file,
                                    fields.key_line("repeat"))  # fmt: skip
            first = fields.get("first") or {}
            if not isinstance(first, dict):
                raise SpecError("'first' must be a mapping of fields for the first repetition",
                                file, fields.key_line("first"))  # fmt: skip
            row = None
            if top:
                row = Row(row_id, label, type_name, line, train_only, repeat=repeat)
                self.rows.append(row)
                self.row = row
            out = inputs
            for r in range(repeat):
                this = fields
                if r == 0 and first:
                    this = LineDict({**fields, **first})
                    this.line, this.lines = fields.line, {**fields.lines, **getattr(first, "lines", {})}
                node_id = prefix + row_id + (f".{r + 1}" if repeat > 1 else "")
                out = [self.expand_one(type_name, this, out, node_id, env, file, line, depth,
                                       row if r == 0 else None)]  # fmt: skip
            scope[row_id] = out[0]
            if row is not None:
                row.output = out[0]
                if not row.patch and len(row.block_patches) == 1:
                    row.patch = next(iter(row.block_patches))
            if not train_only:
                current = out[0]
        return current

    def _type_of(self, label, explicit, file, line):
        if explicit is not None and not isinstance(explicit, str):
            return _resolve_type(label, explicit, self.blocks, file, line)  # raises
        key = (label, explicit)
        found = self._type_cache.get(key)
        if found is None:
            found = self._type_cache[key] = _resolve_type(label, explicit, self.blocks, file, line)
        return found

    def _flag(self, fields, key, env, file):
        if key not in fields:
            return False
        value = self.value(fields[key], env, file, fields.key_line(key), key)
        if not isinstance(value, bool):
            raise SpecError(f"'{key}' must be true or false", file, fields.key_line(key))
        return value

    def _inputs(self, fields, scope, current, file, line, row_id):
        if "in" not in fields:
            return [current]
        names = fields["in"]
        names = names if isinstance(names, list) else [names]
        if not names:
            raise SpecError("'in' needs at least one row name", file, fields.key_line("in"))
        found = []
        for name in names:
            if not isinstance(name, str):
                raise SpecError(f"'in' takes row names, got {name!r}", file, fields.key_line("in"))
            if name not in scope:
                close = difflib.get_close_matches(name, [k for k in scope if scope[k]], n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(f"row '{row_id}' takes input '{name}', which is not defined "
                                f"above it{hint}", file, fields.key_line("in"))  # fmt: skip
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
        if not isinstance(d, dict):
            raise SpecError(f"defaults for '{type_name}' must be a mapping", self.file)
        return d

    def expand_primitive(self, op, fields, inputs, node_id, env, file, line, row):
        prim = L.PRIMITIVES[op]
        spec_defaults = self._defaults_for(op)
        allowed = self._allowed_cache.get(op)
        if allowed is None:
            allowed = self._allowed_cache[op] = frozenset(
                {*prim.field_map, *ROW_KEYS, *(WEIGHT_SUGAR if prim.weight else ())})
        for key in fields:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(f"unknown field '{key}' for {op}{hint}", file, fields.key_line(key))
        if op not in self._defaults_checked:
            for key in spec_defaults:
                if key not in allowed or key in ROW_KEYS:
                    raise SpecError(f"defaults: unknown field '{key}' for {op}", self.file,
                                    spec_defaults.key_line(key) if hasattr(spec_defaults, "key_line")
                                    else None)  # fmt: skip
            self._defaults_checked.add(op)
        values = {}
        for fdef in (*prim.fields, *(WEIGHT_SUGAR.values() if prim.weight else ())):
            if fdef.name in fields:
                raw, fline = fields[fdef.name], fields.key_line(fdef.name)
            elif fdef.name in spec_defaults:
                raw = spec_defaults[fdef.name]
                fline = spec_defaults.key_line(fdef.name) if hasattr(spec_defaults, "key_line") else line
            elif fdef.default is L.REQUIRED:
                raise SpecError(f"{op} row '{node_id}' needs field '{fdef.name}'", file, line)
            else:
                raw, fline = fdef.default, line
            values[fdef.name] = self.convert(fdef, raw, env, file, fline, f"{op} '{node_id}'")
        bn = values.pop("bn", False)
        act = values.pop("act", "none")
        node = self.emit(op, values, inputs, node_id, file, line, row)
        if bn:
            # the sugar's batch norm honours the spec's `defaults: {bn: {eps: ...}}` like a bn row
            bn_defaults = self._defaults_for("bn")
            eps_field = L.PRIMITIVES["bn"].field_map["eps"]
            eps = Fraction(1, 100000)
            if "eps" in bn_defaults:
                eps = self.convert(eps_field, bn_defaults["eps"], env, self.file,
                                   bn_defaults.key_line("eps") if hasattr(bn_defaults, "key_line")
                                   else line, f"bn '{node_id}/bn'")  # fmt: skip
            node = self.emit("bn", {"eps": eps}, [node], node_id + "/bn", file, line, row)
        if act != "none":
            node = self.emit(act, {}, [node], f"{node_id}/{act}", file, line, row)
        if op in ("conv", "maxpool", "avgpool") and not self.symbolic:
            k, s = values["k"], values["s"] or values["k"]
            ks = f"{k[0]}x{k[1]}"
            patch = f"{ks}/{s[0]}" if s[0] == s[1] else f"{ks}/{s[0]}x{s[1]}"
            if row is not None:
                row.patch = patch
            elif self.row_of(None) is not None and k != (1, 1):
                self.row_of(None).block_patches.add(patch)
        return node

    def emit(self, op, values, inputs, node_id, file, line, row):
        prim = L.PRIMITIVES[op]
        if prim.arity == 1 and len(inputs) != 1:
            raise SpecError(f"{op} takes one input, got {len(inputs)}", file, line)
        if prim.arity is None and len(inputs) < 2:
            raise SpecError(f"{op} needs two or more inputs ('in: [a, b]')", file, line)
        if prim.arity == 2 and len(inputs) != 2:
            raise SpecError(f"{op} takes exactly two inputs", file, line)
        try:
            cost = prim.fn(*(i.shape for i in inputs), **values)
        except SpecError as err:
            raise SpecError(f"row '{node_id}': {err.message}", file, line) from None
        if not self.symbolic:
            for dim in cost.shape:
                if dim > MAX_DIM:
                    raise SpecError(f"row '{node_id}': output dimension {dim:,} exceeds the "
                                    f"limit {MAX_DIM:,}", file, line)  # fmt: skip
        node = Node(node_id, op, tuple(inputs), values, cost, self.row_of(row), line)
        self.nodes.append(node)
        if len(self.nodes) > MAX_NODES:
            raise SpecError(f"the network expands to more than {MAX_NODES:,} layers", file, line)
        owner = self.row_of(row)
        if owner is not None:
            owner.nodes.append(node)
        return node

    def row_of(self, row):
        return row if row is not None else getattr(self, "row", None)

    def expand_block(self, name, bdef, fields, inputs, node_id, env, file, line, depth, row):
        if depth >= MAX_BLOCK_DEPTH:
            raise SpecError(f"blocks nested deeper than {MAX_BLOCK_DEPTH} (a block using itself?)",
                            file, line)  # fmt: skip
        arg_names = list(bdef.get("args", []))
        block_defaults = bdef.get("defaults") or {}
        spec_defaults = self._defaults_for(name)
        allowed = {*arg_names, *block_defaults, *ROW_KEYS}
        for key in fields:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise SpecError(f"unknown argument '{key}' for block {name}{hint}", file,
                                fields.key_line(key))  # fmt: skip
        shape = inputs[0].shape
        benv = dict(self.env)
        if len(shape) == 3:
            benv.update(in_c=shape[0], in_h=shape[1], in_w=shape[2])
        else:
            benv.update(in_c=shape[0])
        for arg in (*arg_names, *block_defaults):
            if arg in fields:
                raw, fline, src_env = fields[arg], fields.key_line(arg), env
            elif arg in spec_defaults:
                raw, fline, src_env = spec_defaults[arg], line, env
            elif arg in block_defaults:
                raw, fline, src_env = block_defaults[arg], line, benv
            else:
                raise SpecError(f"block {name} row '{node_id}' needs argument '{arg}' "
                                f"(args: {', '.join(arg_names)})", file, line)  # fmt: skip
            value = self.value(raw, src_env, file, fline, f"{name} '{node_id}': '{arg}'")
            if isinstance(value, float):
                value = Fraction(repr(value))
            benv[arg] = value
        if row is not None and bdef.get("columns"):
            for header, arg in bdef["columns"].items():
                row.columns[header] = benv.get(arg, arg)
        scope = {"input": inputs[0]}
        for i, inp in enumerate(inputs):
            scope[f"input{i}"] = inp
        bfile = getattr(bdef, "file", file)
        out = self.expand_rows(bdef["layers"], scope, benv, node_id + "/", False, depth + 1, bfile)
        if "output" in bdef:
            target = bdef["output"]
            if target not in scope or scope[target] is None:
                raise SpecError(f"block {name}: output '{target}' is not one of its rows", bfile,
                                bdef.key_line("output"))  # fmt: skip
            out = scope[target]
        return out


def _named_fields_for(expander, label, value, file, line):
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
        raise SpecError("'params' must be a mapping of name: default", file)
    values = {}
    for name, raw in declared.items():
        line = declared.key_line(name) if hasattr(declared, "key_line") else None
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise SpecError(f"parameter name {name!r} is not a plain identifier", file, line)
        values[name] = _param(raw, name, file, line)
    for name, raw in (overrides or {}).items():
        if name not in values:
            close = difflib.get_close_matches(name, list(values), n=1)
            known = f"did you mean '{close[0]}'?" if close else (
                f"parameters: {', '.join(values) or 'none'}")
            raise SpecError(f"--set {name}: this network has no such parameter; {known}", file)
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
    raise SpecError(f"parameter '{name}' must be a number, got {raw!r}", file, line)


def build_doc(doc, name, params=None, train=False, evaluator=evaluate, symbolic=False) -> Network:
    file = doc["_file"]
    env = param_values(doc, params) if params is None or isinstance(params, dict) else params
    if symbolic and isinstance(params, dict):
        env = params
    ex = _Expander(doc, env, train, evaluator, symbolic)
    raw_input = doc.get("input")
    input_line = doc.key_line("input") if hasattr(doc, "key_line") else None
    if not isinstance(raw_input, list) or len(raw_input) not in (1, 3):
        raise SpecError("'input' must be [C, H, W] (or [N] for a flat input)", file, input_line)
    shape = tuple(_to_int(ex.value(v, env, file, input_line, "input"), "input", file,
                          input_line, 1, symbolic) for v in raw_input)  # fmt: skip
    input_node = Node("input", "input", (), {}, L.Cost(shape), None, input_line)
    layers = doc.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError("'layers' must be a non-empty list of rows", file,
                        doc.key_line("layers") if hasattr(doc, "key_line") else None)  # fmt: skip
    with gc_paused():
        ex.expand_rows(layers, {"input": input_node}, env, "", True, 0,
                       getattr(layers, "file", file))  # fmt: skip
    meta = {k: doc.get(k) for k in ("paper", "year", "url", "notes", "family", "variant",
                                    "torchvision")}  # fmt: skip
    meta["variants"] = sorted((doc.get("variants") or {}).keys())
    meta["params"] = dict(doc.get("params") or {})
    title = doc.get("title") or name
    return Network(name, str(title), file, input_node, ex.rows, ex.nodes, env, meta, train)


def build(arg: str, params: dict | None = None, train: bool = False) -> Network:
    """Evaluate a built-in name, ``NAME:VARIANT`` or a file path into a :class:`Network`."""
    path, variant = resolve(arg)
    doc = effective(path, variant)
    return build_doc(doc, display_name(path, variant), params, train)

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
import re
from fractions import Fraction
from functools import lru_cache

from . import layers as L
from .errors import SpecError, brief, did_you_mean
from .expr import evaluate, is_expression
from .graph import Network, Node, Row
from .limits import (
    MAX_BLOCK_DEPTH,
    MAX_COLUMNS,
    MAX_DIM,
    MAX_EXTENDS_DEPTH,
    MAX_LABEL_CHARS,
    MAX_NODES,
    MAX_REPEAT,
    MAX_ROW_EXPANSIONS,  # fmt: skip
    MAX_ROWS,
    MAX_TYPE_WORDS,
    MAX_VALUES,
)
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
    except (OSError, ValueError):  # ValueError: a NUL in the path (read_text says so)
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
                _check_block_name(name, _short(os.path.join(folder, fname)), root.key_line(name))
                if name in library:
                    raise SpecError(f"block '{name}' is defined twice (also in "
                                    f"{library[name].file})", _short(os.path.join(folder, fname)),
                                    root.key_line(name))  # fmt: skip
                library[name] = _check_block(name, bdef, _short(os.path.join(folder, fname)),
                                             root.key_line(name))  # fmt: skip
    return library


def _first(keys):
    """The first of a set of YAML keys in a stable order (keys may mix strings and numbers)."""
    return sorted(keys, key=lambda k: (type(k).__name__, str(k)))[0]


def _check_block_name(name, file, line):
    if not isinstance(name, str) or not name.strip():
        raise SpecError(f"a block name must be a word, got {brief(name)}", file, line)


def _check_block(name, bdef, file, line):
    if not isinstance(bdef, dict):
        raise SpecError(f"block '{name}' must be a mapping with args and layers", file, line)
    unknown = set(bdef) - BLOCK_KEYS
    if unknown:
        key = _first(unknown)
        raise SpecError(f"block '{name}': unknown key '{key}' "
                        f"(keys: {', '.join(sorted(BLOCK_KEYS))})", file,
                        bdef.key_line(key))  # fmt: skip
    layers = bdef.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError(f"block '{name}' needs a non-empty list 'layers'", file, bdef.line)
    args = bdef.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SpecError(f"block '{name}': args must be a list of names", file, bdef.line)
    if len(set(args)) != len(args):
        raise SpecError(f"block '{name}': an argument is named twice in args", file,
                        bdef.key_line("args"))  # fmt: skip
    defaults = bdef.get("defaults", {}) or {}
    if not isinstance(defaults, dict):
        raise SpecError(f"block '{name}': defaults must be a mapping", file, bdef.line)
    if not all(isinstance(k, str) for k in defaults):
        raise SpecError(f"block '{name}': defaults must map argument names to values", file,
                        bdef.key_line("defaults"))  # fmt: skip
    columns = bdef.get("columns") or {}
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise SpecError(f"block '{name}': columns must map a column header to an argument name",
                        file, bdef.key_line("columns"))  # fmt: skip
    if len(columns) > MAX_COLUMNS:
        raise SpecError(f"block '{name}': more than {MAX_COLUMNS} columns", file,
                        bdef.key_line("columns"))  # fmt: skip
    if "output" in bdef and not isinstance(bdef["output"], str):
        raise SpecError(f"block '{name}': output must name one of its rows", file,
                        bdef.key_line("output"))  # fmt: skip
    _tag_file(bdef, file)
    _tag_file(layers, file)
    return bdef


def _tag_file(obj, file):
    """Remember which file a loaded mapping or list came from (errors inside it name that file)."""
    if isinstance(obj, (LineDict, LineList)) and getattr(obj, "file", None) is None:
        obj.file = file


def _tag_root(root, file):
    """Tag the parts of a loaded spec that are used apart from it: layers, blocks, defaults."""
    _tag_file(root.get("layers"), file)
    for key in ("blocks", "defaults"):
        table = root.get(key)
        if isinstance(table, dict):
            for value in table.values():
                _tag_file(value, file)
                if key == "blocks" and isinstance(value, dict):
                    _tag_file(value.get("layers"), file)
    variants = root.get("variants")
    if isinstance(variants, dict):
        for over in variants.values():
            if isinstance(over, dict):
                _tag_root(over, file)
                for rows in (over.get("insert_after") or {}).values() if isinstance(
                        over.get("insert_after"), dict) else ():
                    _tag_file(rows, file)


# ---------------------------------------------------------------- variants and extends


def row_key(raw, file, line) -> tuple[str, object]:
    """A row's label and its fields (mapping, list, scalar or None)."""
    if isinstance(raw, str):
        if len(raw) > MAX_LABEL_CHARS:
            raise SpecError(f"a row label longer than {MAX_LABEL_CHARS:,} characters", file, line)
        return raw, None
    if isinstance(raw, dict) and len(raw) == 1:
        key, value = next(iter(raw.items()))
        if isinstance(key, str) and key.strip():
            if len(key) > MAX_LABEL_CHARS:  # a table cell; rich took seconds to wrap 3 MB
                raise SpecError(f"a row label longer than {MAX_LABEL_CHARS:,} characters", file,
                                line)  # fmt: skip
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


def _merge_mapping(base: dict, extra: dict, base_file, extra_file) -> LineDict:
    """``{**base, **extra}`` that keeps each key's line and file."""
    merged = LineDict({**base, **extra})
    merged.line = getattr(extra, "line", None) or getattr(base, "line", None)
    merged.lines = {**getattr(base, "lines", {}), **getattr(extra, "lines", {})}
    merged.files = {**{k: _key_file(base, k, base_file) for k in base},
                    **{k: _key_file(extra, k, extra_file) for k in extra}}  # fmt: skip
    return merged


def _key_file(mapping, key, default):
    return mapping.key_file(key, default) if isinstance(mapping, LineDict) else default


def _merge_defaults(base: dict, extra: dict, base_file=None, file=None) -> dict:
    merged = _merge_mapping(base, extra, base_file, file)
    for type_name, fields in extra.items():
        old = base.get(type_name) or {}
        if not isinstance(fields, dict) and fields is not None:
            raise SpecError(f"defaults for '{type_name}' must be a mapping of fields", file,
                            extra.key_line(type_name) if hasattr(extra, "key_line") else None)  # fmt: skip
        if not isinstance(old, dict):
            raise SpecError(f"defaults for '{type_name}' must be a mapping of fields",
                            _key_file(base, type_name, base_file), getattr(old, "line", None))  # fmt: skip
        merged[type_name] = _merge_mapping(old, fields or {}, getattr(old, "file", None) or
                                           _key_file(base, type_name, base_file),
                                           getattr(fields, "file", None) or file)  # fmt: skip
    return merged


def _row_key_of(raw, file, line):
    """The base of a row's id: its explicit ``id`` when a string, else its label."""
    key, value = row_key(raw, file, line)
    explicit = value.get("id") if isinstance(value, dict) else None
    return explicit if isinstance(explicit, str) else key


class _RowIndex:
    """Finds a row by id (as :func:`row_ids` numbers them) while a variant edits the list.

    Recomputing every id for each edit made a variant with many edits of a long list
    quadratic in Python; this keeps each row's base id and finds ``label`` (its first
    occurrence) or ``label #n`` (its n-th) with list.index, which runs in C.
    """

    def __init__(self, rows, lines, file):
        self.file = file
        self.keys = [_row_key_of(raw, file, line) for raw, line in zip(rows, lines)]

    def find(self, row_id):
        if not isinstance(row_id, str):
            return None
        best = self._nth(row_id, 1)
        base, sep, number = row_id.rpartition(" #")
        if sep and number.isdigit() and len(number) < 9 and str(int(number)) == number:
            nth = self._nth(base, int(number)) if int(number) >= 2 else None
            if nth is not None and (best is None or nth < best):
                best = nth
        return best

    def _nth(self, key, n):
        index = -1
        try:
            for _ in range(n):
                index = self.keys.index(key, index + 1)
        except ValueError:
            return None
        return index

    def ids(self):
        seen: dict[str, int] = {}
        out = []
        for key in self.keys:
            seen[key] = seen.get(key, 0) + 1
            out.append(key if seen[key] == 1 else f"{key} #{seen[key]}")
        return out


def _apply_overrides(doc: dict, over: dict, file: str, what: str) -> dict:
    """Apply a variant (or an extending file) to an effective spec, returning a new one."""
    unknown = set(over) - OVERRIDE_KEYS
    if unknown:
        key = _first(unknown)
        raise SpecError(f"{what}: unknown key '{key}' (keys: {', '.join(sorted(OVERRIDE_KEYS))})",
                        file, over.key_line(key))  # fmt: skip
    base_file = doc.get("_file", file)
    for key in ("params", "defaults", "blocks"):
        _mapping(doc, key, base_file)  # the spec being modified must itself be well formed
    _check_meta(over, file)
    new = LineDict(doc)  # a copy that keeps each key's line and file
    new.line = getattr(doc, "line", None)
    new.lines = dict(getattr(doc, "lines", {}))
    new.files = {k: _key_file(doc, k, base_file) for k in doc}
    doc = new
    for key in OVERRIDE_KEYS - {"rows", "remove", "insert_after"}:
        if key in over:
            doc.lines[key], doc.files[key] = over.key_line(key), file
    for key in ("title", "paper", "year", "url", "notes", "input", "torchvision"):
        if key in over:
            doc[key] = over[key]
    if "params" in over:
        doc["params"] = _merge_mapping(doc.get("params") or {}, _mapping(over, "params", file),
                                       base_file, file)  # fmt: skip
    if "defaults" in over:
        doc["defaults"] = _merge_defaults(doc.get("defaults") or {},
                                          _mapping(over, "defaults", file), base_file, file)  # fmt: skip
    if "blocks" in over:
        for bdef in _mapping(over, "blocks", file).values():
            _tag_file(bdef, file)
            if isinstance(bdef, dict):
                _tag_file(bdef.get("layers"), file)
        doc["blocks"] = _merge_mapping(doc.get("blocks") or {}, _mapping(over, "blocks", file),
                                       base_file, file)  # fmt: skip
    if "layers" in over:
        layers = over["layers"]
        if not isinstance(layers, list):
            raise SpecError(f"{what}: layers must be a list of rows", file, over.key_line("layers"))
        if isinstance(layers, LineList):
            layers.file = file
        doc["layers"] = layers
    src = doc.get("layers")
    if src is None:
        src = []
    if not isinstance(src, list):
        raise SpecError("'layers' must be a list of rows", getattr(src, "file", base_file))
    edits = sum(len(_mapping(over, k, file)) for k in ("rows", "insert_after"))
    edits += len(_sequence(over, "remove", file))
    if edits > MAX_ROWS or len(src) > MAX_ROWS:
        raise SpecError(f"{what}: more than {MAX_ROWS:,} rows or row edits", file, over.line)
    rows = list(src)
    lines = list(src.lines) if isinstance(src, LineList) else [None] * len(rows)
    src_file = getattr(src, "file", None) or base_file
    files = [src.item_file(i, src_file) if isinstance(src, LineList) else src_file
             for i in range(len(rows))]  # fmt: skip
    index_of = _RowIndex(rows, lines, src_file)

    def find(row_id, line):
        index = index_of.find(row_id)
        if index is None:
            hint = did_you_mean(row_id, index_of.ids())
            raise SpecError(f"{what} names row {brief(row_id)}, which does not exist{hint}", file,
                            line)  # fmt: skip
        return index

    copied = 0
    for row_id, fields in _mapping(over, "rows", file).items():
        line = over["rows"].key_line(row_id)
        index = find(row_id, line)
        copied += len(fields) if isinstance(fields, dict) else 0
        if copied > MAX_VALUES:  # one aliased mapping of 100,000 fields, overriding every row
            raise SpecError(f"{what}: row overrides set more than {MAX_VALUES:,} fields", file,
                            line)  # fmt: skip
        key, value = row_key(rows[index], files[index], lines[index])
        if not isinstance(fields, dict):
            raise SpecError(f"{what}: the override of row '{row_id}' must be a mapping of fields",
                            file, line)  # fmt: skip
        merged = _named_fields(key, value, doc, files[index], lines[index])
        merged.files = {k: _key_file(merged, k, files[index]) for k in merged}
        merged.update(fields)
        merged.lines.update(getattr(fields, "lines", {}))
        merged.files.update({k: file for k in fields})
        rows[index] = {key: merged}
        index_of.keys[index] = _row_key_of(rows[index], files[index], lines[index])
    for entry in _sequence(over, "remove", file):
        index = find(entry, over["remove"].line)
        del rows[index], lines[index], files[index], index_of.keys[index]
    for row_id, extra in _mapping(over, "insert_after", file).items():
        index = find(row_id, over["insert_after"].key_line(row_id))
        if not isinstance(extra, list):
            raise SpecError(f"{what}: insert_after '{row_id}' needs a list of rows", file,
                            over["insert_after"].key_line(row_id))  # fmt: skip
        extra_lines = list(getattr(extra, "lines", [None] * len(extra)))
        keys = [_row_key_of(raw, file, line) for raw, line in zip(extra, extra_lines)]
        rows[index + 1 : index + 1] = list(extra)
        lines[index + 1 : index + 1] = extra_lines
        files[index + 1 : index + 1] = [file] * len(extra)
        index_of.keys[index + 1 : index + 1] = keys
        if len(rows) > MAX_ROWS:
            raise SpecError(f"{what}: more than {MAX_ROWS:,} rows", file,
                            over["insert_after"].key_line(row_id))  # fmt: skip
    doc["layers"] = _as_linelist(rows, lines, src_file, files)
    return doc


def _as_linelist(rows, lines, file, files=None):
    out = LineList(rows)
    out.lines = list(lines)
    out.line = lines[0] if lines else None
    out.file = file
    out.files = files
    return out


def _mapping(doc, key, file) -> dict:
    value = doc.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        line = doc.key_line(key) if hasattr(doc, "key_line") else getattr(value, "line", None)
        raise SpecError(f"'{key}' must be a mapping", file, line)
    return value


def _sequence(doc, key, file) -> list:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        line = doc.key_line(key) if hasattr(doc, "key_line") else getattr(value, "line", None)
        raise SpecError(f"'{key}' must be a list", file, line)
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
        if getattr(value, "files", None):
            out.files = dict(value.files)
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


META_KEYS = ("name", "title", "paper", "year", "url", "family", "notes")


def _resolve_extends(base_arg: str, path: str, file: str, line) -> tuple[str, str | None]:
    """``extends:`` names a built-in network (``NAME[:VARIANT]``) or a ``.yaml`` file, relative
    to the extending file. Nothing else: a spec must not make archcost open /etc/passwd,
    /dev/zero or whatever else exists on the machine."""
    name, _, variant = base_arg.partition(":")
    if not name.strip():
        raise SpecError("'extends' names a network (NAME, NAME:VARIANT or FILE.yaml)", file, line)
    if name.endswith((".yaml", ".yml")):
        base_path = os.path.join(os.path.dirname(path), name)
        if not os.path.isfile(base_path):
            raise SpecError(f"extends {brief(name)}: no such file next to this one", file, line)
    elif "/" in name or os.sep in name or "\0" in name:
        raise SpecError(f"extends {brief(name)}: name a built-in network or a .yaml file",
                        file, line)  # fmt: skip
    else:
        base_path = os.path.join(specs_dir(), name + ".yaml")
        if not os.path.isfile(base_path):
            hint = did_you_mean(name, builtin_names()) or "; `archcost list` shows them all"
            raise SpecError(f"extends: unknown network '{name}'{hint}", file, line)
    if ":" in base_arg and not variant:
        raise SpecError(f"extends {base_arg!r}: empty variant name", file, line)
    return base_path, variant or None


def _check_meta(root, file):
    for key in META_KEYS:
        value = root.get(key)
        ok = value is None or isinstance(value, (str, int, float)) or (
            key == "notes" and isinstance(value, list)
            and all(isinstance(v, (str, int, float)) for v in value))  # fmt: skip
        if not ok:
            raise SpecError(f"'{key}' must be text, got {brief(value)}", file, root.key_line(key))
        if key in ("name", "title") and isinstance(value, str) and len(value) > MAX_LABEL_CHARS:
            raise SpecError(f"'{key}' is longer than {MAX_LABEL_CHARS:,} characters", file,
                            root.key_line(key))  # fmt: skip
    variants = root.get("variants")
    if variants is not None and not isinstance(variants, dict):
        raise SpecError("'variants' must be a mapping of NAME: {changes}", file,
                        root.key_line("variants"))  # fmt: skip
    for name in variants or {}:
        if not isinstance(name, str) or not name or ":" in name:
            raise SpecError(f"variant name {brief(name)} must be a word (no ':')", file,
                            variants.key_line(name))  # fmt: skip


def effective(path: str, variant: str | None, _seen=()) -> dict:
    """The spec as a dict after ``extends`` and the chosen variant are applied."""
    file = _short(path)
    try:
        real = os.path.realpath(path)
    except (OSError, ValueError):
        real = path
    if (real, variant) in _seen:
        raise SpecError("'extends' forms a cycle", file)
    if len(_seen) >= MAX_EXTENDS_DEPTH:
        raise SpecError(f"'extends' chains deeper than {MAX_EXTENDS_DEPTH} files", file)
    root = load_raw(path)
    _tag_root(root, file)
    allowed = TOP_KEYS | (OVERRIDE_KEYS if "extends" in root else set())
    unknown = set(root) - allowed
    if unknown:
        key = _first(unknown)
        hint = did_you_mean(key, sorted(allowed))
        raise SpecError(f"unknown top-level key '{key}'{hint}", file, root.key_line(key))
    _check_meta(root, file)
    if "extends" in root:
        base_arg = root["extends"]
        line = root.key_line("extends")
        if not isinstance(base_arg, str):
            raise SpecError("'extends' names a network (NAME, NAME:VARIANT or FILE.yaml)", file,
                            line)  # fmt: skip
        base_path, base_variant = _resolve_extends(base_arg, path, file, line)
        try:
            doc = effective(base_path, base_variant, (*_seen, (real, variant)))
        except SpecError as err:
            if err.line is None:  # e.g. no such variant in the base: point at 'extends:'
                raise SpecError(f"extends {base_arg}: {err.message}", file, line) from None
            raise
        own = {k: v for k, v in root.items() if k in OVERRIDE_KEYS}
        own = LineDict(own)
        own.line, own.lines = root.line, root.lines
        doc = _apply_overrides(doc, own, file, f"'{file}' (extends {root['extends']})")
        doc["variants"] = root.get("variants") or {}
    else:
        doc = LineDict(root)
        doc.line, doc.lines, doc.files = root.line, dict(root.lines), {}
    doc["_file"] = file
    for key in ("name", "title", "paper", "year", "family"):
        if key in root:
            doc[key] = root[key]
    if variant is not None:
        variants = doc.get("variants") or {}
        if variant not in variants:
            names = sorted(variants)
            hint = did_you_mean(variant, names)[2:] or f"variants: {', '.join(names) or 'none'}"
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
        words = label.replace("(", " ").split(maxsplit=MAX_TYPE_WORDS)[:MAX_TYPE_WORDS] or [label]
        # the label itself, then its leading words, longest first: "max pool 3x3/2" -> max pool
        # (at most MAX_TYPE_WORDS words: all prefixes of a 100,000-word label are 10**10 chars)
        candidates = [label] + [" ".join(words[:n]) for n in range(len(words), 0, -1)]
        # conv1, fc6, pool5_3x3: the first word without its trailing number
        stem = re.sub(r"[\d_./x-]+$", "", words[0])
        if stem and stem != words[0]:
            candidates.append(stem)
    for cand in candidates:
        for name in (cand, _norm(cand)):
            found = _canonical(name, blocks)
            if found:
                return found
    wanted = _norm(candidates[-1])
    hint = did_you_mean(wanted, _all_types(blocks))
    what = _name(explicit) if explicit is not None else f"for row {_name(label)}"
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


def _to_int(value, what, file, line, minimum=1, symbolic=False, maximum=MAX_DIM):
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
        if value > maximum:
            raise SpecError(f"{what} = {value:,} exceeds the limit {maximum:,}", file, line)
        return value
    if symbolic and not isinstance(value, (str, list, dict)) and value is not None:
        return value
    kind = type(value).__name__ if not isinstance(value, str) else f"the string {brief(value)}"
    raise SpecError(f"{what}: expected a whole number, got {kind}", file, line)


class _Static:
    """What expanding a doc learns that does not depend on parameter values, kept per doc.

    A sweep builds the same doc thousands of times (``build_doc`` per point); the row labels,
    field names, layer types, field sources and constant fields are the same every time, so
    they are worked out on the first build and reused. Entries are keyed by the identity of
    the YAML objects they describe and hold a reference to them (so an id is never reused
    while its entry lives). Only successful results are kept: anything that raises is redone,
    and raises the same error at the same point, on every build.
    """

    def __init__(self, doc):
        self.doc = doc
        self.blocks_src = doc.get("blocks")
        self.defaults_src = doc.get("defaults")
        self.blocks = None  # the checked blocks, once the doc-level checks have passed
        # id(rows) -> (rows, row ids, per row: [label, fields, line, type, fields + first])
        self.rows = {}
        self.plans = {}  # ("prim" | "block", type, id(fields), line, ...) -> (fields, plan)


_STATICS: dict = {}
_MAX_STATICS = 16


def _static_for(doc) -> _Static:
    entry = _STATICS.get(id(doc))
    if (entry is None or entry.doc is not doc or entry.blocks_src is not doc.get("blocks")
            or entry.defaults_src is not doc.get("defaults")):  # fmt: skip
        if len(_STATICS) >= _MAX_STATICS:
            _STATICS.pop(next(iter(_STATICS)))
        entry = _STATICS[id(doc)] = _Static(doc)
    return entry


@lru_cache(maxsize=4096)
def _classify(raw: str) -> tuple[str, str]:
    """How :meth:`_Expander.value` treats a string: ('name' | 'word' | 'expr', stripped text)."""
    text = raw.strip()
    if _is_ident(text):
        return "name", text  # a value from the scope, else the word itself
    if text.lower() in ("none", "same", "valid") or not is_expression(text):
        return "word", text
    return "expr", text


_CONST_TYPES = (bool, int, float, Fraction, type(None))
_CONST, _RAW, _NAME, _MISSING = object(), object(), object(), object()  # field plan entries


def _constant(raw) -> bool:
    """True for a YAML value whose meaning cannot depend on the scope (no strings in it)."""
    if isinstance(raw, list):
        return all(isinstance(v, _CONST_TYPES) for v in raw)
    return isinstance(raw, _CONST_TYPES)


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
        self.env = env
        self.train = train
        self.evaluate = evaluator
        self.symbolic = symbolic
        self.nodes: list[Node] = []
        self.rows: list[Row] = []
        self.row = None  # the top-level row being expanded
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
                hint = did_you_mean(type_name, _all_types(self.blocks))
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
                return self.evaluate(text, env)
            except SpecError as err:
                raise SpecError(f"{what}: {err.message}", file, line) from None
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
            raise SpecError(f"{what}: expected true or false, got {brief(value)}", file, line)
        if kind == "number":
            if isinstance(value, str):
                try:
                    value = Fraction(value)
                except ValueError:
                    raise SpecError(f"{what}: expected a number, got {brief(value)}", file,
                                    line) from None
            if type(value) is bool or not isinstance(value, (int, Fraction)):
                if self.symbolic and not isinstance(value, (list, dict, bool)):
                    return value
                raise SpecError(f"{what}: expected a number, got {brief(value)}", file, line)
            if value < fdef.minimum and fdef.minimum == 0:
                raise SpecError(f"{what} must not be negative", file, line)
            return value
        if kind == "choice":
            choices = fdef.choices or ACT_CHOICES
            if not isinstance(value, str) or value.lower() not in choices:
                hint = did_you_mean(value, choices)
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
        if cached is None or cached[0] is not rows:
            cached = static.rows[id(rows)] = (rows, row_ids(rows, list_file), [None] * len(rows))
        ids, infos = cached[1], cached[2]
        for i, raw in enumerate(rows):
            info = infos[i]
            self.expanded += 1
            if info is None:  # first build: the row's label, named fields, line and file, kept
                line = rows.item_line(i) if isinstance(rows, LineList) else None
                # rows inserted or overridden by an 'extends' file or a variant come from that file
                file = rows.item_file(i, list_file) if isinstance(rows, LineList) else list_file
                self._count_row(file, line)
                label, value = row_key(raw, file, line)
                cost = 1 + (len(value) if isinstance(value, (dict, list)) else 0)
                self._spend(cost, file, line)
                fields = _named_fields_for(self, label, value, file, line)
                # + resolved type, first-merged fields
                info = infos[i] = [label, fields, line, None, None, file, cost]
            else:
                self._count_row(info[5], info[2])
                self._spend(info[6], info[5], info[2])
            label, fields, line, file = info[0], info[1], info[2], info[5]
            row_id = ids[i]
            train_only = self._flag(fields, "train", env, file) if "train" in fields else False
            if train_only and not self.train:
                scope[row_id] = None  # referencing it at inference is an error
                continue
            inputs = self._inputs(fields, scope, current, file, line, row_id)
            if "when" in fields:
                wfile = fields.key_file("when", file)
                cond = self.value(fields["when"], env, wfile, fields.key_line("when"), "when")
                cond = self.structural(cond, fields["when"])
                if not isinstance(cond, bool):
                    raise SpecError(f"'when' must be a condition, got {brief(cond)}", wfile,
                                    fields.key_line("when"))  # fmt: skip
                if not cond:
                    scope[row_id] = inputs[0]
                    if not train_only:
                        current = inputs[0]
                    continue
            type_name = info[3]
            if type_name is None:
                type_name = info[3] = _resolve_type(label, fields.get("type"), self.blocks, file,
                                                    line)  # fmt: skip
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
            for r in range(repeat):
                this = fields
                if r == 0 and first:
                    self._spend(len(first), file, line)
                    this = info[4]
                    if this is None:
                        this = LineDict({**fields, **first})
                        this.line, this.lines = fields.line, {**fields.lines, **getattr(first, "lines", {})}
                        this.files = {**{k: fields.key_file(k, file) for k in fields},
                                      **{k: fields.key_file("first", file) for k in first}}  # fmt: skip
                        info[4] = this
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
            plan = self._primitive_plan(op, fields, file, line)
            # constants filled in once, in field order; the others are placeholders (None)
            # overwritten in place below, so the fields keep their order
            template = {e[1] if e[0] is _CONST else e[1].name: e[2] if e[0] is _CONST else None
                        for e in plan}  # fmt: skip
            cached = (fields, template, [e for e in plan if e[0] is not _CONST])
            self.static.plans[key] = cached
        values = cached[1].copy()
        for entry in cached[2]:
            how = entry[0]
            if how is _RAW:
                fdef = entry[1]
                values[fdef.name] = self.convert(fdef, entry[2], env, entry[4], entry[3],
                                                 f"{op} '{node_id}'")  # fmt: skip
            elif how is _NAME:
                # a whole number from the scope, in range: what convert() returns, directly
                fdef, v = entry[1], env.get(entry[4], entry[4])
                if type(v) is int and fdef.minimum <= v <= MAX_DIM:
                    values[fdef.name] = v if fdef.kind == "int" else (v, v)
                else:
                    values[fdef.name] = self.convert(fdef, entry[2], env, entry[5], entry[3],
                                                     f"{op} '{node_id}'")  # fmt: skip
            else:
                raise SpecError(f"{op} row '{node_id}' needs field '{entry[1].name}'", file, line)
        bn = values.pop("bn", False)
        act = values.pop("act", "none")
        node = self.emit(op, values, inputs, node_id, file, line, row)
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

    def _primitive_plan(self, op, fields, file, line):
        """Check a primitive row's field names once; say where each field's value comes from.

        Returns entries in field order: (_CONST, name, value) for a value that needs no scope,
        (_RAW, fdef, raw, line) for one evaluated on every build, (_NAME, fdef, raw, line, name)
        for a whole-number field that names a value in scope, (_MISSING, fdef) for a required
        field that is not given (raised when reached, in the same order as before).
        """
        prim = L.PRIMITIVES[op]
        spec_defaults = self._defaults_for(op)
        allowed = {*prim.field_map, *ROW_KEYS, *(WEIGHT_SUGAR if prim.weight else ())}
        for key in fields:
            if key not in allowed:
                hint = did_you_mean(key, sorted(allowed))
                raise SpecError(f"unknown field {_name(key)} for {op}{hint}",
                                fields.key_file(key, file), fields.key_line(key))  # fmt: skip
        for key in spec_defaults:
            if key not in allowed or key in ROW_KEYS:
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
                fline = spec_defaults.key_line(fdef.name) if hasattr(spec_defaults, "key_line") else line
                ffile = self._defaults_file(op, spec_defaults, fdef.name)
            elif fdef.default is L.REQUIRED:
                plan.append((_MISSING, fdef))
                continue
            else:
                raw, fline = fdef.default, line
            if _constant(raw):
                try:
                    plan.append((_CONST, fdef.name, self.convert(fdef, raw, {}, ffile, fline, op)))
                    continue
                except SpecError:
                    pass  # converted (and raised, naming the layer) on every build
            if isinstance(raw, str) and fdef.kind in ("int", "pair", "padding"):
                kind, text = _classify(raw)
                if kind == "name":
                    plan.append((_NAME, fdef, raw, fline, text, ffile))
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
                hint = did_you_mean(key, sorted(allowed))
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
                fline = block_defaults.key_line(arg) if hasattr(block_defaults, "key_line") else line
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

    def emit(self, op, values, inputs, node_id, file, line, row):
        prim = L.PRIMITIVES[op]
        arity, count = prim.arity, len(inputs)
        if arity == 1 and count != 1:
            raise SpecError(f"{op} takes one input, got {count}", file, line)
        if arity is None and count < 2:
            raise SpecError(f"{op} needs two or more inputs ('in: [a, b]')", file, line)
        if arity == 2 and count != 2:
            raise SpecError(f"{op} takes exactly two inputs", file, line)
        try:
            if count == 1:
                cost = prim.fn(inputs[0].shape, **values)
            else:
                cost = prim.fn(*[i.shape for i in inputs], **values)
        except SpecError as err:
            raise SpecError(f"row '{node_id}': {err.message}", file, line) from None
        if not self.symbolic and cost.shape and max(cost.shape) > MAX_DIM:
            dim = next(d for d in cost.shape if d > MAX_DIM)
            raise SpecError(f"row '{node_id}': output dimension {dim:,} exceeds the "
                            f"limit {MAX_DIM:,}", file, line)  # fmt: skip
        owner = row if row is not None else self.row
        node = Node(node_id, op, tuple(inputs), values, cost, owner, line)
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
        if len(shape) == 3:
            benv.update(in_c=shape[0], in_h=shape[1], in_w=shape[2])
        else:
            benv.update(in_c=shape[0])
        for entry in plan:
            how, arg = entry[0], entry[1]
            if how is _CONST:
                benv[arg] = entry[2]
                continue
            if how is _MISSING:
                raise SpecError(f"block {name} row '{node_id}' needs argument '{arg}' "
                                f"(args: {', '.join(entry[2])})", file, line)  # fmt: skip
            raw, fline, own, afile = entry[2], entry[3], entry[4], entry[5]
            value = self.value(raw, benv if own else env, afile, fline, f"{name} '{node_id}': '{arg}'")
            if isinstance(value, float):
                value = Fraction(repr(value))
            benv[arg] = value
        if row is not None and bdef.get("columns"):
            self.headers.update(bdef["columns"])
            if len(self.headers) > MAX_COLUMNS:
                raise SpecError(f"blocks show more than {MAX_COLUMNS} distinct columns", bfile,
                                bdef.key_line("columns"))  # fmt: skip
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
        return out


def _name(key) -> str:
    """A YAML key for a message: 'text' for a string, a short repr otherwise."""
    return f"'{key}'" if isinstance(key, str) and len(key) <= 60 else brief(key)


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
                f"parameters: {', '.join(values) or 'none'}")
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
    raw_input = doc.get("input")
    input_line = doc.key_line("input") if hasattr(doc, "key_line") else None
    input_file = _key_file(doc, "input", file)
    if not isinstance(raw_input, list) or len(raw_input) not in (1, 3):
        raise SpecError("'input' must be [C, H, W] (or [N] for a flat input)", input_file,
                        input_line)  # fmt: skip
    lines = [raw_input.item_line(i) if isinstance(raw_input, LineList) else input_line
             for i in range(len(raw_input))]  # fmt: skip
    shape = tuple(_to_int(ex.value(v, env, input_file, ln, "input"), "input", input_file,
                          ln, 1, symbolic) for v, ln in zip(raw_input, lines))  # fmt: skip
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
    # the work of this build, for callers that build many networks (a table file)
    meta["work"] = (ex.expanded + len(ex.nodes) + ex.values_read + len(env) + len(ex.blocks)
                    + len(ex.defaults) + len(doc.get("variants") or {}))  # fmt: skip
    title = doc.get("title") or name
    return Network(name, str(title), file, input_node, ex.rows, ex.nodes, env, meta, train)


def load(arg: str) -> tuple[dict, str]:
    """The spec named by ``arg`` with ``extends`` and its variant applied, and its display name.

    Read once and build many times (sweeps, solving): ``build_doc(doc, name, params)``.
    """
    path, variant = resolve(arg)
    return effective(path, variant), display_name(path, variant)


def build(arg: str, params: dict | None = None, train: bool = False) -> Network:
    """Evaluate a built-in name, ``NAME:VARIANT`` or a file path into a :class:`Network`."""
    doc, name = load(arg)
    return build_doc(doc, name, params, train)

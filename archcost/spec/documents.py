"""Reading spec documents: locating a spec, loading YAML with lines, the block library,
``extends`` and variants merged into one effective document."""

from __future__ import annotations

import difflib
import os
from functools import lru_cache

from .. import layers as L
from ..errors import SpecError, brief, did_you_mean
from ..limits import (
    MAX_COLUMNS,
    MAX_EXTENDS_DEPTH,
    MAX_LABEL_CHARS,
    MAX_ROWS,
    MAX_VALUES,
)
from ..yamlio import LineDict, LineList, load_file

TOP_KEYS = {"name", "title", "paper", "year", "url", "notes", "input", "params", "defaults",
            "blocks", "primitives", "layers", "variants", "extends", "family",
            "torchvision"}  # fmt: skip
OVERRIDE_KEYS = {"title", "paper", "year", "url", "notes", "input", "params", "defaults",
                 "blocks", "primitives", "layers", "rows", "remove", "insert_after",
                 "torchvision"}  # fmt: skip
ROW_KEYS = {"type", "id", "in", "repeat", "first", "train", "when", "else", "call"}
WEIGHT_SUGAR = {"bn": L.Field("bn", "bool", False), "act": L.Field("act", "choice", "none")}
BLOCK_KEYS = {"doc", "args", "defaults", "layers", "output", "columns"}
# a user-defined primitive: costs as expressions of its input shape and arguments
PRIMITIVE_KEYS = {"doc", "args", "defaults", "inputs", "shape", "layout", "params", "macs", "ops",
                  "buffers"}  # fmt: skip
ACT_CHOICES = ("none", *L.ACTIVATIONS, *[a for a, t in L.ALIASES.items() if t in L.ACTIVATIONS])


# ---------------------------------------------------------------- locating specs


def specs_dir() -> str:
    """Built-in specs: ``archcost/specs`` in an installed wheel, ``specs/`` in a checkout."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # archcost/
    packaged = os.path.join(here, "specs")
    if os.path.isdir(packaged):
        return packaged
    return os.path.join(os.path.dirname(here), "specs")


def builtin_names() -> list[str]:
    folder = specs_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(f[:-5] for f in os.listdir(folder) if f.endswith(".yaml"))


def builtin_variants() -> list[str]:
    """Every built-in network and each of its variants: ``NAME`` then ``NAME:VARIANT``."""
    names = []
    for name in builtin_names():
        names.append(name)
        path, _ = resolve(name)
        names += [f"{name}:{v}" for v in sorted(effective(path, None).get("variants") or {})]
    return names


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
    if isinstance(bdef, dict) and "shape" in bdef and "layers" not in bdef:
        return _check_primitive(name, bdef, file, line)
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


def _check_primitive(name, pdef, file, line):
    """A user-defined primitive (``primitives:`` in a spec, or a block file entry with
    ``shape:`` and no ``layers:``): its keys, and that its costs are expressions or numbers.
    The expressions are checked by the safe evaluator when the row is expanded."""
    if not isinstance(pdef, dict):
        raise SpecError(f"primitive '{name}' must be a mapping with shape, params, macs, ...",
                        file, line)  # fmt: skip
    unknown = set(pdef) - PRIMITIVE_KEYS
    if unknown:
        key = _first(unknown)
        hint = did_you_mean(key, sorted(PRIMITIVE_KEYS))
        raise SpecError(f"primitive '{name}': unknown key '{key}'{hint} "
                        f"(keys: {', '.join(sorted(PRIMITIVE_KEYS))})", file,
                        pdef.key_line(key))  # fmt: skip
    shape = pdef.get("shape")
    if not isinstance(shape, list) or not 1 <= len(shape) <= 8:
        raise SpecError(f"primitive '{name}': shape must be a list of 1 to 8 expressions, e.g. "
                        "[out, in_h, in_w]", file, pdef.key_line("shape"))  # fmt: skip
    for key in ("params", "macs", "ops", "buffers", "inputs"):
        value = pdef.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise SpecError(f"primitive '{name}': {key} must be a whole number or an expression",
                            file, pdef.key_line(key))  # fmt: skip
    inputs = pdef.get("inputs", 1)
    if isinstance(inputs, int) and not 0 <= inputs <= 8:
        raise SpecError(f"primitive '{name}': inputs must be 0 to 8", file,
                        pdef.key_line("inputs"))  # fmt: skip
    args = pdef.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise SpecError(f"primitive '{name}': args must be a list of names", file, pdef.line)
    defaults = pdef.get("defaults", {}) or {}
    if not isinstance(defaults, dict) or not all(isinstance(k, str) for k in defaults):
        raise SpecError(f"primitive '{name}': defaults must map argument names to values", file,
                        pdef.key_line("defaults"))  # fmt: skip
    _tag_file(pdef, file)
    return pdef


def fold_primitives(root, file):
    """``root`` with its ``primitives:`` moved into ``blocks:`` (one namespace: a row names
    either), as a new mapping; an error if a name is both a block and a primitive."""
    prims = root.get("primitives")
    if prims is None:
        return root
    if not isinstance(prims, dict):
        raise SpecError("'primitives' must be a mapping of name: definition", file,
                        root.key_line("primitives"))  # fmt: skip
    blocks = root.get("blocks") or LineDict()
    if not isinstance(blocks, dict):
        return root  # reported where blocks are read
    merged = LineDict(blocks)
    merged.line = getattr(blocks, "line", None)
    merged.lines = dict(getattr(blocks, "lines", {}))
    merged.files = {k: _key_file(blocks, k, file) for k in blocks}
    for name, pdef in prims.items():
        pline = prims.key_line(name) if hasattr(prims, "key_line") else None
        if name in blocks:
            raise SpecError(f"'{name}' is defined both as a block and as a primitive", file, pline)
        _check_block_name(name, file, pline)
        if not isinstance(pdef, dict) or "shape" not in pdef:
            raise SpecError(f"primitive '{name}' needs shape: (a list of expressions of the "
                            "input, e.g. [out, in_h, in_w])", file, pline)  # fmt: skip
        _tag_file(pdef, file)
        merged[name] = pdef
        merged.lines[name] = pline
        merged.files[name] = _key_file(prims, name, file)
    new = LineDict({k: v for k, v in root.items() if k != "primitives"})
    new.line, new.lines = getattr(root, "line", None), dict(getattr(root, "lines", {}))
    if getattr(root, "files", None):
        new.files = dict(root.files)
    if hasattr(root, "file"):
        new.file = getattr(root, "file", None)
    new["blocks"] = merged
    new.lines.setdefault("blocks", root.key_line("primitives"))
    return new


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
                for rows in (
                    (over.get("insert_after") or {}).values()
                    if isinstance(over.get("insert_after"), dict)
                    else ()
                ):
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
    return row_ids_and_keys(rows, file)[0]


def row_ids_and_keys(rows, file) -> tuple[list[str], list[tuple[str, object]]]:
    """:func:`row_ids`, and each row's :func:`row_key` (label, fields) on the way."""
    seen: dict[str, int] = {}
    ids = []
    keys = []
    lined = isinstance(rows, LineList)
    for i, raw in enumerate(rows):
        if type(raw) is LineDict and len(raw) == 1:  # the common row: row_key, inlined
            pair = next(iter(raw.items()))
            key, value = pair
            if type(key) is not str or len(key) > MAX_LABEL_CHARS or not key.strip():
                pair = row_key(raw, file, rows.item_line(i) if lined else None)
        else:
            pair = row_key(raw, file, rows.item_line(i) if lined else None)
        key, value = pair
        keys.append(pair)
        if isinstance(value, dict):
            explicit = value.get("id")
            if isinstance(explicit, str):
                key = explicit
        n = seen.get(key)
        if n is None:
            seen[key] = 1
            ids.append(key)
        else:
            n = seen[key] = n + 1
            ids.append(f"{key} #{n}")
    return ids, keys


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
    over = fold_primitives(over, file)
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
        from .fields import _named_fields  # type resolution needs the block library here

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


META_KEYS = ("name", "title", "paper", "year", "url", "family", "notes")


def _resolve_extends(base_arg: str, path: str, file: str, line) -> tuple[str, str | None]:
    """``extends:`` names a built-in network (``NAME[:VARIANT]``) or a ``.yaml`` file, relative
    to the extending file. Nothing else: a spec must not make archcost open /etc/passwd,
    /dev/zero or whatever else exists on the machine."""
    name, _, variant = base_arg.partition(":")
    if not name.strip():
        raise SpecError("'extends' names a network (NAME, NAME:VARIANT or FILE.yaml)", file, line)
    if name.endswith((".yaml", ".yml")):
        from ..safeio import confined_path

        try:
            base_path = confined_path(name, os.path.dirname(path), "extends")
        except SpecError as err:
            raise err.located(file, line) from None
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
    root = fold_primitives(root, file)
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
            raise SpecError(
                f"variant '{variant}' must be a mapping", file, variants.key_line(variant)
            )
        if not hasattr(over, "lines"):
            over = LineDict(over)
            over.line, over.lines = None, {}
        doc = _apply_overrides(doc, over, file, f"variant '{variant}'")
        doc["variant"] = variant
    return doc


def _name(key) -> str:
    """A YAML key for a message: 'text' for a string, a short repr otherwise."""
    return f"'{key}'" if isinstance(key, str) and len(key) <= 60 else brief(key)

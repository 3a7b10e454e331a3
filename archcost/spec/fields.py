"""Layer types and field values: resolving a row's type from its label, positional fields,
whole-number conversion and the per-document static cache used by the expander."""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

from .. import layers as L
from ..errors import SpecError, brief, did_you_mean
from ..expr import is_expression
from ..limits import (
    MAX_DIM,
    MAX_TYPE_WORDS,
)
from ..yamlio import LineDict, LineList
from .documents import _name, block_library

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
    hint = did_you_mean(wanted, _all_types(blocks), digits=True)
    what = _name(explicit) if explicit is not None else f"for row {_name(label)}"
    if explicit is None and not hint:
        hint = (f"; a label names its type by its first word (`- conv 3x3: ...`), or give "
                f"it: `{_name(label)[1:-1]}: {{type: conv, ...}}` (`archcost layers` lists them)")
    elif not hint:
        hint = "; `archcost layers` lists the layer types"
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
        self.costs = {}  # (primitive, input shapes, field values) -> its Cost (see emit)
        self.memo_count = 0  # Costs kept in the shared plans' memos (see emit), in all
        self.types = {}  # a row's explicit `type:` -> the layer type or block it names
        self.shapes = {}  # ("shape", type, symbolic, field items) -> a primitive's shared plan


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
    if (isinstance(value, str) and not names and _type_exists(_norm(value), doc.get("blocks", {}))):
        raise SpecError(f"'{key}': {value!r} looks like a layer type; write it as "
                        f"`{key}: {{type: {value}}}` (a row is `LABEL: {{fields}}`)", file, line)
    if len(values) > len(names):
        raise SpecError(f"'{key}': {len(values)} values given, {type_name} takes at most "
                        f"{len(names)} ({', '.join(names) or 'none'})", file, line)  # fmt: skip
    for i, (name, v) in enumerate(zip(names, values, strict=False)):
        out[name] = v
        out.lines[name] = value.item_line(i) if isinstance(value, LineList) else line
    return out

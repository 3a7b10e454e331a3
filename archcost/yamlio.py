"""Load YAML safely and remember the line of every mapping key and sequence item.

Only the safe loader is used (libyaml's ``CSafeLoader`` when present). On top of it:
duplicate keys are an error (not silently the last one), the number of nodes after alias
expansion and the nesting depth are capped (:mod:`archcost.limits`), non-UTF-8 bytes and
over-large files are refused. Every error is a :class:`SpecError` with the file and line.
"""

from __future__ import annotations

import gc
import os
from contextlib import contextmanager

import yaml

from .errors import SpecError
from .limits import MAX_FILE_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict):
    """A dict that knows its own line and the line of each key."""

    __slots__ = ("line", "lines", "file")

    def key_line(self, key) -> int | None:
        return self.lines.get(key, self.line)


class LineList(list):
    """A list that knows its own line and the line of each item."""

    __slots__ = ("line", "lines", "file")

    def item_line(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else self.line


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a large tree is built, then restore it.

    Loading a spec and expanding it allocate hundreds of thousands of small objects that all
    stay alive; each collection the allocations trigger walks every one of them again and finds
    nothing to free. Profiling a 100,000-layer spec put a third of the time there
    (BENCHMARKS.md). Nothing built inside needs collecting before the block ends, and the
    collector runs again as usual afterwards (so a sweep of many builds still frees cycles).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Loader(_Base):
    def resolve(self, kind, value, implicit):
        # The implicit tag of a plain scalar depends only on its text (no path resolvers in
        # the safe loader), and specs repeat the same words ("conv", "relu", field names)
        # thousands of times: remember each answer for this load.
        if kind is not yaml.ScalarNode or not isinstance(value, str):
            return super().resolve(kind, value, implicit)
        cache = self.__dict__.setdefault("_archcost_tags", {})
        key = (value, implicit)
        tag = cache.get(key)
        if tag is None:
            tag = cache[key] = super().resolve(kind, value, implicit)
        return tag


def _check_budget(loader, node) -> None:
    # Counted per constructed node, so aliases that are reused count every time they appear.
    loader._archcost_nodes = getattr(loader, "_archcost_nodes", 0) + 1
    if loader._archcost_nodes > MAX_YAML_NODES:
        raise SpecError(
            f"YAML expands to more than {MAX_YAML_NODES:,} nodes (alias bomb?)",
            line=node.start_mark.line + 1,
        )


def _construct_mapping(loader, node):
    _check_budget(loader, node)
    loader.flatten_mapping(node)
    mapping = LineDict()
    mapping.line = node.start_mark.line + 1
    mapping.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise SpecError("a mapping key must be a plain value", line=line) from None
        if key in mapping:
            raise SpecError(
                f"duplicate key {key!r} (first at line {mapping.lines[key]})", line=line
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    return mapping


def _construct_sequence(loader, node):
    _check_budget(loader, node)
    items = LineList(loader.construct_object(child, deep=True) for child in node.value)
    items.line = node.start_mark.line + 1
    items.lines = [child.start_mark.line + 1 for child in node.value]
    return items


def _construct_scalar_counted(original):
    def construct(loader, node):
        _check_budget(loader, node)
        return original(loader, node)

    return construct


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
for _tag in ("str", "int", "float", "bool", "null"):
    _full = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_full, _construct_scalar_counted(_Base.yaml_constructors[_full]))


def _depth_guard(text: str) -> None:
    """Reject absurd nesting before the parser recurses into it."""
    depth = best = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth -= 1
    if best > MAX_YAML_DEPTH:
        raise SpecError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels")


def load_text(text: str, file: str):
    """Parse YAML text; errors carry ``file`` and the line."""
    if "[" in text or "{" in text:
        try:
            _depth_guard(text)
        except SpecError as err:
            raise err.located(file, None) from None
    try:
        with gc_paused():
            return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader derives from SafeLoader)
    except SpecError as err:
        raise err.located(file, None) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        problem = err.problem or err.context or "invalid YAML"
        if "found character '\\t'" in problem or "\\t" in problem:
            problem = "tab character in indentation (YAML allows spaces only)"
        if err.context and err.problem and "constructor" in type(err).__name__.lower():
            problem = f"{err.problem} (only plain YAML is allowed, no tags)"
        raise SpecError(f"YAML: {problem}", file, line) from None
    except yaml.YAMLError as err:
        raise SpecError(f"YAML: {err}", file) from None
    except RecursionError:
        raise SpecError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels", file) from None


def read_text(path: str) -> str:
    """Read a spec file as UTF-8, refusing directories, huge files and binary content."""
    if os.path.isdir(path):
        raise SpecError("is a directory, not a spec file", path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise SpecError("no such file", path) from None
    except OSError as err:
        raise SpecError(f"cannot read file: {err.strerror}", path) from None
    if size > MAX_FILE_BYTES:
        raise SpecError(f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        raise SpecError(f"cannot read file: {err.strerror}", path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError("file is not UTF-8 text", path, line) from None


def load_file(path: str, display: str | None = None):
    return load_text(read_text(path), display or path)

"""Load YAML safely and remember the line of every mapping key and sequence item.

Only the safe loader is used (libyaml's ``CSafeLoader`` when present), restricted further to
plain YAML: mappings, lists, strings, numbers, booleans and null. Any other tag (``!!python/...``,
``!!binary``, ``!!set``, custom ``!tags``) is refused, and dates stay the string they are written
as. On top of that:

* a file must be a regular file (not a directory, device or pipe) of at most
  :data:`~archcost.limits.MAX_FILE_BYTES`, in UTF-8;
* the event stream is scanned *before* any tree is built: nesting deeper than
  :data:`~archcost.limits.MAX_YAML_DEPTH` (which would overflow the C stack of libyaml's
  recursive composer) and more than :data:`~archcost.limits.MAX_YAML_NODES` nodes are refused;
* duplicate keys are an error that names both lines (not silently the last one);
* a number written with more than :data:`~archcost.limits.MAX_NUMBER_CHARS` characters is refused
  (Python's int parser would raise, and YAML 1.1's base-60 integers ``1:2:3`` take quadratic time);
* merge keys (``<<: *anchor``) work as in YAML 1.1 (the mapping's own keys win, then earlier
  merged mappings), but every merged entry is counted against the node budget.

Aliases are not copied: an alias is the same Python object as its anchor, so an alias bomb
("billion laughs") stays small in memory. Code that walks loaded values must therefore never
recurse into nested lists or stringify whole values (see :func:`archcost.errors.brief`).
Every error is a :class:`SpecError` with the file and line.
"""

from __future__ import annotations

import gc
import os
import re
import stat
from contextlib import contextmanager

import yaml

from .errors import SpecError, brief
from .limits import MAX_FILE_BYTES, MAX_NUMBER_CHARS, MAX_YAML_DEPTH, MAX_YAML_NODES

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_READ: set = set()  # (device, inode) of every file read in this process (see was_read)


def was_read(info) -> bool:
    """True when ``info`` (an ``os.stat`` result) is a file this process has read as a spec,
    table or profile: ``-o`` must never replace a command's own input."""
    return (info.st_dev, info.st_ino) in _READ
_MERGE = "tag:yaml.org,2002:merge"


class LineDict(dict):
    """A dict that knows its own line and the line of each key.

    ``file`` (when set) is the file it came from; ``files`` (when set) maps keys to their file,
    for a mapping merged from two files (a row overridden by an ``extends`` file).
    """

    __slots__ = ("line", "lines", "file", "files")

    def key_line(self, key) -> int | None:
        return self.lines.get(key, self.line)

    def key_file(self, key, default=None):
        files = getattr(self, "files", None)
        if files and key in files:
            return files[key]
        return getattr(self, "file", None) or default


class LineList(list):
    """A list that knows its own line and the line of each item (and, when merged from
    several files, the file of each item)."""

    __slots__ = ("line", "lines", "file", "files")

    def item_line(self, index: int) -> int | None:
        return self.lines[index] if index < len(self.lines) else self.line

    def item_file(self, index: int, default=None):
        files = getattr(self, "files", None)
        if files and index < len(files) and files[index]:
            return files[index]
        return getattr(self, "file", None) or default


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


def _line(node) -> int:
    return node.start_mark.line + 1


def _construct_mapping(loader, node):
    mapping = LineDict()
    mapping.line = _line(node)
    mapping.lines = {}
    merges = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            merges.append((key_node, value_node))
            continue
        key = loader.construct_object(key_node, deep=True)
        line = _line(key_node)
        try:
            hash(key)
        except TypeError:
            raise SpecError("a mapping key must be a plain value", line=line) from None
        if key in mapping:
            raise SpecError(
                f"duplicate key {brief(key)} (first at line {mapping.lines[key]})", line=line
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.lines[key] = line
    # YAML merge keys: own keys win over merged ones, an earlier merged mapping over a later one.
    # Each source is constructed once (and cached), so chains of merges cannot grow
    # exponentially; the entries copied are counted, so many merges of one big mapping cannot.
    for key_node, value_node in merges:
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise SpecError("a merge key '<<' takes a mapping or a list of mappings",
                                line=_line(key_node))  # fmt: skip
            merged = loader.construct_object(source, deep=True)
            loader._archcost_merged = getattr(loader, "_archcost_merged", 0) + len(merged)
            if loader._archcost_merged > MAX_YAML_NODES:
                raise SpecError(f"merge keys '<<' copy more than {MAX_YAML_NODES:,} entries",
                                line=_line(key_node))  # fmt: skip
            for key, value in merged.items():
                if key not in mapping:
                    mapping[key] = value
                    mapping.lines[key] = merged.lines.get(key, _line(key_node))
    return mapping


def _construct_sequence(loader, node):
    items = LineList(loader.construct_object(child, deep=True) for child in node.value)
    items.line = _line(node)
    items.lines = [_line(child) for child in node.value]
    return items


def _construct_number(original):
    def construct(loader, node):
        if len(node.value) > MAX_NUMBER_CHARS:
            raise SpecError(f"a number written with more than {MAX_NUMBER_CHARS} characters",
                            line=_line(node))  # fmt: skip
        try:
            return original(loader, node)
        except (ValueError, OverflowError, IndexError, KeyError, TypeError):
            # an explicit tag on odd text (!!int '', !!float _) reaches PyYAML's converter,
            # which assumes the resolver already checked the text
            raise SpecError(f"{brief(node.value)} is not a valid number", line=_line(node)) from None

    return construct


def _construct_exact(original, tag):
    """bool and null: an explicit ``!!bool`` or ``!!null`` must be on text that means one
    (``!!bool maybe`` raised KeyError; ``!!null x`` silently became null)."""

    def construct(loader, node):
        if not isinstance(node.value, str) or _Base.resolve(
                loader, yaml.ScalarNode, node.value, (True, False)) != tag:  # fmt: skip
            kind = tag.rsplit(":", 1)[-1]
            raise SpecError(f"{brief(node.value)} is not a valid {kind} (explicit !!{kind} tag)",
                            line=_line(node))  # fmt: skip
        return original(loader, node)

    return construct


def _construct_as_string(loader, node):
    # dates such as 2014-09-17 stay the text they are written as (no datetime objects)
    return loader.construct_scalar(node)


def _refuse_tag(loader, node):
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise SpecError(f"YAML tag {tag!r} is not allowed (plain YAML only: mappings, lists, "
                    "strings, numbers, booleans)", line=_line(node))  # fmt: skip


_Loader.yaml_constructors = {}  # start from nothing: only what is registered below is allowed
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)
_STR = "tag:yaml.org,2002:str"
_Loader.add_constructor(_STR, _Base.yaml_constructors[_STR])
for _tag in ("bool", "null"):
    _full = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_full, _construct_exact(_Base.yaml_constructors[_full], _full))
for _tag in ("int", "float"):
    _full = f"tag:yaml.org,2002:{_tag}"
    _Loader.add_constructor(_full, _construct_number(_Base.yaml_constructors[_full]))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_as_string)
_Loader.add_constructor(None, _refuse_tag)

_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_NODE = (yaml.ScalarEvent, yaml.AliasEvent, *_OPEN)


def _scan(text: str) -> None:
    """Check nesting depth and node count on the event stream, before any tree is built.

    libyaml's parser is iterative, but its composer recurses once per nesting level in C:
    ``- - - - ...`` a few hundred thousand levels deep crashes the interpreter (SIGSEGV)
    before Python's recursion limit can stop it. So the depth is measured here first.
    """
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Base):
        if isinstance(event, _NODE):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise SpecError(f"more than {MAX_YAML_NODES:,} YAML nodes",
                                line=event.start_mark.line + 1)  # fmt: skip
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise SpecError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels",
                                    line=event.start_mark.line + 1)  # fmt: skip
        elif isinstance(event, _CLOSE):
            depth -= 1


def _problem(err, text: str) -> str:
    problem = err.problem or err.context or "invalid YAML"
    mark = err.problem_mark
    if mark is not None:
        lines = text.split("\n", mark.line + 1)
        if mark.line < len(lines):
            line = lines[mark.line]
            if "\t" in line[: mark.column + 1] and not line[: mark.column].strip(" \t"):
                return "tab character in indentation (YAML allows spaces only)"
    return problem


def load_text(text: str, file: str):
    """Parse YAML text; errors carry ``file`` and the line."""
    try:
        _scan(text)
        with gc_paused():
            return yaml.load(text, Loader=_Loader)  # noqa: S506  (_Loader derives from SafeLoader)
    except SpecError as err:
        raise err.located(file, None) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError(f"YAML: {_problem(err, text)}", file, line) from None
    except yaml.YAMLError as err:
        raise SpecError(f"YAML: {str(err).splitlines()[0] if str(err) else 'invalid'}", file) from None
    except RecursionError:  # pragma: no cover - _scan bounds the depth first
        raise SpecError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels", file) from None


def read_text(path: str, display: str | None = None) -> str:
    """Read a spec or table file as UTF-8: a regular file, at most MAX_FILE_BYTES.

    Opened without blocking and checked with fstat, so a named pipe, /dev/zero or a terminal is
    refused instead of waiting forever or reading without end.
    """
    shown = display or path
    if "\0" in path:
        raise SpecError("a file name cannot contain a NUL character", shown.replace("\0", "\\0"))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpecError("no such file", shown) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", shown) from None
    except PermissionError:
        raise SpecError("permission denied (cannot read the file)", shown) from None
    except (OSError, ValueError) as err:
        raise SpecError(f"cannot read file: {getattr(err, 'strerror', None) or err}", shown) from None
    info = os.fstat(fd)
    _READ.add((info.st_dev, info.st_ino))
    problem = None
    if stat.S_ISDIR(info.st_mode):
        problem = "is a directory, not a spec file"
    elif not stat.S_ISREG(info.st_mode):
        problem = "is not a regular file (a device, pipe or socket?)"
    elif info.st_size > MAX_FILE_BYTES:
        problem = f"file is {info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
    if problem:
        os.close(fd)
        raise SpecError(problem, shown)
    with os.fdopen(fd, "rb") as handle:
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise SpecError(f"cannot read file: {err.strerror}", shown) from None
    if len(data) > MAX_FILE_BYTES:
        raise SpecError(f"file is larger than the limit of {MAX_FILE_BYTES:,} bytes", shown)
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or _looks_utf16(data):
        raise SpecError("file is UTF-16 text; save it as UTF-8", shown, 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SpecError("file is not UTF-8 text", shown, line) from None
    bad = _NOT_YAML.search(text)
    if bad:  # libyaml's reader says which character, but not on which line
        line = text.count("\n", 0, bad.start()) + 1
        raise SpecError(f"character U+{ord(bad.group()):04X} is not allowed in a YAML file "
                        "(control characters other than tab and newline)", shown, line)  # fmt: skip
    return text


# what YAML 1.1 allows in a stream (section 5.1), besides the BOM
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _looks_utf16(data: bytes) -> bool:
    """UTF-16 without a byte-order mark: NUL in every other byte of the first line's ASCII."""
    head = data[:64]
    if len(head) < 4:
        return False
    return head[1::2].count(0) >= len(head) // 2 - 1 or head[0::2].count(0) >= len(head) // 2 - 1


def load_file(path: str, display: str | None = None):
    return load_text(read_text(path, display), display or path)

"""Load YAML safely and remember the line of every mapping key and sequence item.

Only the safe loader is used (libyaml's ``CSafeLoader`` when present), restricted further to
plain YAML: mappings, lists, strings, numbers, booleans and null. Any other tag (``!!python/...``,
``!!binary``, ``!!set``, custom ``!tags``) is refused, and dates stay the string they are written
as. On top of that:

* a file must be a regular file (not a directory, device or pipe) of at most
  :data:`~archcost.limits.MAX_FILE_BYTES`, in UTF-8;
* the tree is built from libyaml's event stream in one pass (:func:`_build`; libyaml's
  recursive C composer, which a deep enough file would crash, never runs), and each node is
  counted as it opens: nesting deeper than :data:`~archcost.limits.MAX_YAML_DEPTH` and more
  than :data:`~archcost.limits.MAX_YAML_NODES` nodes are refused before anything past them is
  read;
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
    (BENCHMARKS.md). Nothing built inside needs collecting before the block ends.

    At the end the objects are frozen (``gc.freeze``): re-enabled, the collector would walk
    all of them again in its first collections after the block (2.7 s of 9.6 s for a
    100,000-row table, and once more at interpreter exit). Frozen objects are still freed by
    reference counting; the next block unfreezes them into the oldest generation, so cycles
    among them are collected as before in a process that builds many networks.
    """
    enabled = gc.isenabled()
    if enabled:
        gc.unfreeze()  # what an earlier block froze is collectable again (as the oldest)
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


class _Loader(_Base):
    """The safe loader with only the constructors registered below (plain YAML scalars);
    :func:`_build` reads its event stream and makes the mappings and lists itself."""


def _line(node) -> int:
    return node.start_mark.line + 1


def _not_a_scalar(loader, node):
    # an explicit !!map or !!seq tag on a scalar (_build makes mappings and lists itself)
    kind = "mapping" if node.tag == _MAP_TAG else "sequence"
    raise yaml.MarkedYAMLError(None, None, f"expected a {kind} node, but found scalar",
                               node.start_mark)  # fmt: skip


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
    raise _refused(node.tag, _line(node))


_Loader.yaml_constructors = {}  # start from nothing: only what is registered below is allowed
_SEQ_TAG, _MAP_TAG = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_Loader.add_constructor(_MAP_TAG, _not_a_scalar)
_Loader.add_constructor(_SEQ_TAG, _not_a_scalar)
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

_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_SEQ_START, _MAP_START = yaml.SequenceStartEvent, yaml.MappingStartEvent
_SEQ_END, _MAP_END = yaml.SequenceEndEvent, yaml.MappingEndEvent
_DOC_START, _STREAM_END = yaml.DocumentStartEvent, yaml.StreamEndEvent
_MERGE_KEY = object()  # a constructed ``<<`` (only meaningful as a mapping key)
_NO_KEY = object()  # a mapping frame waiting for its next key


# An open collection while _walk reads the stream is a list (cheaper to make than an object):
# [0 items, 1 lines, 2 is_map, 3 key waiting for its value (or _NO_KEY), 4 that key's line,
# 5 merges, 6 anchor]


def _error(problem: str, mark):
    return yaml.MarkedYAMLError(None, None, problem, mark)


def _refused(tag: str, line: int) -> SpecError:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return SpecError(f"YAML tag {shown!r} is not allowed (plain YAML only: mappings, lists, "
                     "strings, numbers, booleans)", line=line)  # fmt: skip


def _build(text: str):
    """Build the document from libyaml's event stream in one pass: LineDict, LineList, scalars.

    The same values, lines and errors as composing nodes and constructing them with
    :class:`_Loader`'s constructors, without the node tree: the stream is read once, nesting
    depth and node count are checked as each node opens (libyaml's composer, which recurses
    in C, never runs), and a plain scalar's tag and value are computed once per distinct text
    (a 100,000-row spec repeats the same few words). BENCHMARKS.md, "Issue 13's target".

    A file with several errors reports the first one in reading order (nothing past it is
    read).
    """
    loader = _Loader(text)
    try:
        return _walk(loader)
    finally:
        loader.dispose()


# First characters of plain scalars that an implicit resolver may claim (numbers, booleans,
# null, ...). An untagged scalar starting with any other character, or quoted, resolves to a
# string whose value is its text (BaseResolver.resolve, then construct_yaml_str), so
# _walk takes it as is: a 100,000-row spec's labels are all distinct, and each went
# through the resolver's Python code and a ScalarNode.
_RESOLVED_FIRST = frozenset(k for k in _Loader.yaml_implicit_resolvers if k)
_STR_AS_TEXT = (None not in _Loader.yaml_implicit_resolvers
                and not _Loader.yaml_path_resolvers
                and _Loader.yaml_constructors.get(_STR) is yaml.SafeLoader.construct_yaml_str)


def _walk(loader):  # noqa: C901 - one loop over the event kinds, kept flat for speed
    get = loader.get_event
    constructors = _Loader.yaml_constructors
    resolved_first = _RESOLVED_FIRST if _STR_AS_TEXT else None
    plain: dict = {}  # (text, implicit) -> constructed value of an untagged scalar
    values: dict = {}  # (tag, text) -> constructed scalar
    anchors: dict = {}  # name -> (value, line of the anchored node)
    open_ids: dict = {}  # id -> start mark of each anchored collection still open
    stack: list = []
    top = None  # stack[-1]
    nodes = merged = documents = 0
    root = _NO_KEY
    scalar, map_start, map_end = _SCALAR, _MAP_START, _MAP_END
    line_dict, line_list = LineDict, LineList
    while True:
        event = get()
        cls = event.__class__
        if cls is scalar:
            nodes += 1
            line = 0  # its line, computed below only where it is kept (keys, list items)
            if nodes > MAX_YAML_NODES:
                raise SpecError(f"more than {MAX_YAML_NODES:,} YAML nodes",
                                line=event.start_mark.line + 1)  # fmt: skip
            text = event.value
            tag = event.tag
            if tag is None:  # the common case
                implicit = event.implicit
                if resolved_first is not None and (not implicit[0] or (
                        text and text[0] not in resolved_first)):  # fmt: skip
                    value = text  # a string, as the resolver and constructor would make it
                else:  # (text, implicit) -> value, once per load
                    key = (text, implicit)
                    value = plain.get(key, _NO_KEY)
                    if value is _NO_KEY:
                        tag = _Base.resolve(loader, yaml.ScalarNode, text, implicit)
            if tag is not None:
                if tag == "!":
                    tag = _Base.resolve(loader, yaml.ScalarNode, text, event.implicit)
                if tag == _MERGE:
                    value = _MERGE_KEY
                else:
                    value = values.get((tag, text), _NO_KEY)
                    if value is _NO_KEY:
                        construct = constructors.get(tag)
                        if construct is None:
                            raise _refused(tag, event.start_mark.line + 1)
                        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark,
                                               event.style)  # fmt: skip
                        value = values[(tag, text)] = construct(loader, node)
                if event.tag is None:
                    plain[key] = value
            if event.anchor is not None:
                if event.anchor in anchors:
                    raise _error("second occurrence", event.start_mark)
                anchors[event.anchor] = (value, event.start_mark.line + 1)
            if top is not None and top[2] and top[3] is not _NO_KEY and \
                    value is not _MERGE_KEY and top[3] is not _MERGE_KEY:  # fmt: skip
                # a mapping's value (the most common place): no line needed
                top[0][top[3]] = value
                top[1][top[3]] = top[4]
                top[3] = _NO_KEY
                continue
        elif cls is _ALIAS:
            nodes += 1
            mark = event.start_mark
            if nodes > MAX_YAML_NODES:
                raise SpecError(f"more than {MAX_YAML_NODES:,} YAML nodes",
                                line=mark.line + 1)  # fmt: skip
            if event.anchor not in anchors:
                raise _error("found undefined alias", mark)
            value, line = anchors[event.anchor]
            if id(value) in open_ids:
                raise _error("found unconstructable recursive node", open_ids[id(value)])
        elif cls is map_start or cls is _SEQ_START:
            nodes += 1
            mark = event.start_mark
            line = mark.line + 1
            if nodes > MAX_YAML_NODES:
                raise SpecError(f"more than {MAX_YAML_NODES:,} YAML nodes", line=line)
            if len(stack) >= MAX_YAML_DEPTH:
                raise SpecError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels",
                                line=line)  # fmt: skip
            is_map = cls is map_start
            if is_map:
                items = line_dict()
                items.lines = lines = {}
            else:
                items = line_list()
                items.lines = lines = []
            items.line = line
            top = [items, lines, is_map, _NO_KEY, 0, None, event.anchor]
            stack.append(top)
            if event.anchor is not None:
                if event.anchor in anchors:
                    raise _error("second occurrence", mark)
                anchors[event.anchor] = (items, line)
                open_ids[id(items)] = mark
            tag = event.tag
            if tag is not None and tag != "!" and tag != (_MAP_TAG if is_map else _SEQ_TAG):
                _refuse_collection_tag(tag, is_map, mark)
            continue
        elif cls is map_end or cls is _SEQ_END:
            frame = stack.pop()
            top = stack[-1] if stack else None
            value = frame[0]
            if frame[6] is not None:
                del open_ids[id(value)]
            if frame[5]:
                merged = _merge(value, frame[5], merged)
            line = value.line
        elif cls is _DOC_START:
            documents += 1
            if documents > 1:
                raise _error("but found another document", event.start_mark)
            continue
        elif cls is _STREAM_END:
            return None if root is _NO_KEY else root
        else:  # stream start, document end
            continue
        # place ``value`` (its node at ``line``; 0: the event's) in the collection that holds it
        if top is None:
            if value is _MERGE_KEY:
                raise _refused(_MERGE, line or event.start_mark.line + 1)
            root = value
            continue
        if not top[2]:
            if not line:
                line = event.start_mark.line + 1
            if value is _MERGE_KEY:
                raise _refused(_MERGE, line)
            top[0].append(value)
            top[1].append(line)
        elif top[3] is _NO_KEY:
            if not line:
                line = event.start_mark.line + 1
            if value is not _MERGE_KEY:
                if value.__class__ is line_dict or value.__class__ is line_list:
                    raise SpecError("a mapping key must be a plain value", line=line)
                if value in top[0]:
                    raise SpecError(f"duplicate key {brief(value)} (first at line "
                                    f"{top[1][value]})", line=line)  # fmt: skip
            top[3] = value
            top[4] = line
        else:
            key = top[3]
            top[3] = _NO_KEY
            if value is _MERGE_KEY:
                raise _refused(_MERGE, line or event.start_mark.line + 1)
            if key is _MERGE_KEY:
                if top[5] is None:
                    top[5] = []
                top[5].append((value, top[4]))
            else:
                top[0][key] = value
                top[1][key] = top[4]


def _refuse_collection_tag(tag: str, is_map: bool, mark):
    kind = "mapping" if is_map else "sequence"
    if tag in (_MAP_TAG, _SEQ_TAG):
        other = "sequence" if is_map else "mapping"
        raise _error(f"expected a {other} node, but found {kind}", mark)
    if tag in _Loader.yaml_constructors:
        raise _error(f"expected a scalar node, but found {kind}", mark)
    raise _refused(tag, mark.line + 1)


def _merge(mapping, merges, merged: int) -> int:
    """YAML merge keys: own keys win over merged ones, an earlier merged mapping over a later
    one. A source is one object however often it is merged (chains of merges cannot grow
    exponentially); the entries copied are counted, so many merges of one big mapping cannot."""
    for value, line in merges:
        sources = value if value.__class__ is LineList else [value]
        for source in sources:
            if source.__class__ is not LineDict:
                raise SpecError("a merge key '<<' takes a mapping or a list of mappings",
                                line=line)  # fmt: skip
            merged += len(source)
            if merged > MAX_YAML_NODES:
                raise SpecError(f"merge keys '<<' copy more than {MAX_YAML_NODES:,} entries",
                                line=line)  # fmt: skip
            for key, item in source.items():
                if key not in mapping:
                    mapping[key] = item
                    mapping.lines[key] = source.lines.get(key, line)
    return merged


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
        with gc_paused():
            return _build(text)
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

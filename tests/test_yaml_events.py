"""archcost's one-pass YAML loader (yamlio._build) against PyYAML's own safe loader.

The loader builds line-numbered dicts and lists straight from libyaml's events (issue 13: a
100,000-row flat spec). The oracle is PyYAML itself, which shares none of that code: its
safe loader (on libyaml, as archcost) for the values and ``yaml.compose`` for the line of
every mapping key and list item, on every YAML file of the repository and on seeded
mutations of them.
"""

from __future__ import annotations

import datetime
import glob
import os
import random

import pytest
import yaml

from archcost.errors import SpecError
from archcost.yamlio import LineDict, LineList, load_text

from .conftest import ROOT

SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, as archcost reads with
FILES = sorted(
    f for pattern in ("archcost/**/*.yaml", "tests/specs/**/*.yaml", "tests/bad_specs/*.yaml")
    for f in glob.glob(os.path.join(ROOT, pattern), recursive=True)
)


def _plain(value, seen):
    """PyYAML's value for ours: dates stay text in archcost."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return str(value)
    if isinstance(value, dict):
        if id(value) in seen:
            return seen[id(value)]
        out = seen[id(value)] = {}
        out.update({_plain(k, seen): _plain(v, seen) for k, v in value.items()})
        return out
    if isinstance(value, list):
        if id(value) in seen:
            return seen[id(value)]
        out = seen[id(value)] = []
        out.extend(_plain(v, seen) for v in value)
        return out
    return value


def _same(ours, theirs, seen) -> bool:
    if isinstance(theirs, float) and theirs != theirs:
        return isinstance(ours, float) and ours != ours
    if isinstance(theirs, dict):
        if id(ours) in seen:  # an alias: the same object again
            return True
        seen.add(id(ours))
        return (type(ours) is LineDict and list(ours) == list(theirs)
                and all(_same(ours[k], theirs[k], seen) for k in theirs))  # fmt: skip
    if isinstance(theirs, list):
        if id(ours) in seen:
            return True
        seen.add(id(ours))
        return (type(ours) is LineList and len(ours) == len(theirs)
                and all(_same(a, b, seen) for a, b in zip(ours, theirs)))  # fmt: skip
    return type(ours) is type(theirs) and ours == theirs


def _lines(ours, node, seen, out):
    """(our line, PyYAML's line) of every key and item, walking both trees together."""
    if isinstance(node, yaml.MappingNode) and id(node) not in seen and not any(
            k.tag == "tag:yaml.org,2002:merge" for k, _v in node.value):  # fmt: skip
        seen.add(id(node))
        out.append((ours.line, node.start_mark.line + 1))
        for key, (key_node, value_node) in zip(list(ours), node.value, strict=True):
            out.append((ours.key_line(key), key_node.start_mark.line + 1))
            _lines(ours[key], value_node, seen, out)
    elif isinstance(node, yaml.SequenceNode) and id(node) not in seen:
        seen.add(id(node))
        out.append((ours.line, node.start_mark.line + 1))
        for i, child in enumerate(node.value):
            out.append((ours.item_line(i), child.start_mark.line + 1))
            _lines(ours[i], child, seen, out)
    return out


def _read(path):
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:  # bad_specs holds a Latin-1 file (read_text refuses it)
        return None


def _texts():
    """Every YAML file of the repository that PyYAML reads (the alias bombs aside: their
    expanded values are billions of items), and 1,500 seeded mutations of them."""
    texts = []
    for path in FILES:
        text = _read(path)
        if text is not None and "bomb" not in path and len(text) < 200_000:
            texts.append((os.path.relpath(path, ROOT), text))
    originals = list(texts)
    rng = random.Random(13)  # noqa: S311 - seeded test data
    marks = [":", "-", "[", "]", "{", "}", "&a ", "*a", "<<: ", "!!int ", "!x ", "---\n",
             "? ", "'", '"', "\n", " ", ",", "#"]  # fmt: skip
    for i in range(1500):
        name, text = rng.choice(originals)
        chars = list(text)
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(chars) + 1)
            if rng.random() < 0.3 and pos < len(chars):
                del chars[pos]
            else:
                chars.insert(pos, rng.choice(marks))
        texts.append((f"{name} mutation {i}", "".join(chars)))
    return texts


def test_values_and_lines_match_pyyaml_on_every_file_and_mutation():
    checked = refused = 0
    for name, text in _texts():
        try:
            theirs = yaml.load(text, Loader=SAFE)  # noqa: S506 - the safe loader
            nodes = yaml.compose(text, Loader=SAFE)
        except yaml.YAMLError:
            theirs = nodes = None
            with pytest.raises(SpecError):  # what PyYAML refuses, archcost refuses (exit 2)
                load_text(text, "f.yaml")
            refused += 1
            continue
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError,
                RecursionError):
            continue  # PyYAML's own internal errors on odd tagged text: nothing to compare
        try:
            ours = load_text(text, "f.yaml")
        except SpecError as err:
            # refused where PyYAML is lenient: duplicate keys, tags, limits; never without a
            # line when the file has one to point at
            assert err.line is not None or text.strip() == "", (name, str(err))
            continue
        assert _same(ours, _plain(theirs, {}), set()), name
        if nodes is not None:
            pairs = _lines(ours, nodes, set(), [])
            assert all(a == b for a, b in pairs), (name, [p for p in pairs if p[0] != p[1]][:3])
        checked += 1
    assert checked >= len(FILES) - 10 and refused > 100, (checked, refused)

"""One source for limits: archcost/limits.py, quoted by docs/limits.md and docs/spec.md.

docs/spec.md once stated 32 MiB, 2,000,000 YAML nodes and 2,000,000 layers while the code
enforced 8 MiB, 1,000,000 and 500,000 (issue 14). These tests read both documents and compare
every value they quote with the module.
"""

from __future__ import annotations

import os
import re

from archcost import limits

from .conftest import ROOT

NAMES = [n for n in dir(limits) if n.isupper()]


def _read(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as handle:
        return handle.read()


def _number(text: str):
    text = text.replace(",", "")
    return float(text) if any(c in text for c in ".e") else int(text)


def test_limits_md_lists_every_limit_with_its_value():
    doc = _read("docs", "limits.md")
    rows = dict(re.findall(r"^\| `(MAX_\w+|MIN_\w+)` \| ([^|]+) \|", doc, re.M))
    assert sorted(rows) == sorted(NAMES)
    for name in NAMES:
        assert _number(rows[name].strip()) == getattr(limits, name), name


def test_spec_md_quotes_the_same_values():
    doc = _read("docs", "spec.md")
    section = doc[doc.index("## Limits"):]
    quoted = re.findall(r"`(MAX_\w+)` = ([\d,]+)", section)
    assert len(quoted) >= 10
    for name, value in quoted:
        assert _number(value) == getattr(limits, name), f"docs/spec.md: {name} = {value}"
    # no other large number may appear in the section unless it is one of the limits' values
    values = {getattr(limits, n) for n in NAMES}
    for text in re.findall(r"\b\d{1,3}(?:,\d{3})+\b", section):
        assert _number(text) in values, f"docs/spec.md states {text}, which is no limit"
    assert "32 MiB" not in doc and "2,000,000" not in section


def test_the_old_stale_numbers_are_gone_from_the_docs():
    # the values before round two: a document quoting them again is out of date
    for stale in ("2,000,000 primitive layers", "files up to 32 MiB", "1,000,000 YAML nodes"):
        for path in (("docs", "spec.md"), ("docs", "limits.md"), ("README.md",)):
            assert stale not in _read(*path), (stale, path)

"""``archcost layers [NAME]`` and docs/spec.md's primitive reference, both from the registry.

The oracle is the registry itself (``archcost.layers.PRIMITIVES``, each Field) and the block
files: whatever the expander accepts must be listed, and docs/spec.md must say the same.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from archcost import layers as L
from archcost.commands.layers import DOC_BEGIN, DOC_END, doc_section
from archcost.spec import block_library

from .conftest import ROOT, invoke_ok, run_cli


def test_every_primitive_and_block_is_listed():
    data = json.loads(invoke_ok("layers", "--format", "json"))
    names = [e["name"] for e in data["layers"]]
    assert set(L.PRIMITIVES) | set(block_library()) == set(names)
    assert len(names) == len(set(names))


def test_conv_fields_defaults_and_positional_order():
    conv = json.loads(invoke_ok("layers", "conv", "--format", "json"))
    # what the spec format promises: `- conv: [64, 7, 2, 3]` is out=64, k=7, s=2, p=3
    assert conv["positional"] == ["out", "k", "s", "p"]
    fields = {f["name"]: f for f in conv["fields"]}
    assert fields["out"]["required"] and fields["k"]["required"]
    assert fields["s"]["default"] == "1" and fields["bias"]["default"] == "true"
    assert {"bn", "act"} <= set(fields)  # the weight-layer sugar
    assert "MACs = k_h*k_w*(C_in/g)*C_out*H_out*W_out" in conv["formula"]


def test_alias_and_block_lookup():
    assert json.loads(invoke_ok("layers", "fc", "--format", "json"))["name"] == "linear"
    block = json.loads(invoke_ok("layers", "inception", "--format", "json"))
    assert block["kind"] == "block" and block["positional"][:6] == [
        "c1x1", "c3x3red", "c3x3", "c5x5red", "c5x5", "pool_proj"]  # fmt: skip


def test_positional_order_matches_what_the_expander_uses(tmp_path):
    # `- slice: [2, 5]` must be start=2, end=5 as listed: 3 channels of 8
    from archcost.spec import build

    order = json.loads(invoke_ok("layers", "slice", "--format", "json"))["positional"]
    assert order == ["start", "end", "axis"]
    path = tmp_path / "s.yaml"
    path.write_text("input: [8, 4, 4]\nlayers:\n  - slice: [2, 5]\n")
    assert build(str(path)).rows[0].output.shape == (3, 4, 4)


def test_unknown_name_is_one_line_exit_2():
    result = run_cli("layers", "comv")
    assert result.returncode == 2
    assert result.stderr == "error: no layer type or block 'comv'; did you mean 'conv'?\n"


@pytest.mark.parametrize("fmt", ["text", "json", "csv", "md", "latex"])
def test_every_format(fmt, tmp_path):
    out = tmp_path / f"layers.{fmt}"
    invoke_ok("layers", "--format", fmt, "-o", str(out))
    text = out.read_text().replace("\\_", "_")  # LaTeX escapes the underscore
    assert "zero_pad" in text and "inverted_residual" in text
    invoke_ok("layers", "maxpool", "--format", fmt, "-o", str(out))
    assert "ceil" in out.read_text()


def test_spec_md_reference_is_the_registry():
    with open(os.path.join(ROOT, "docs", "spec.md"), encoding="utf-8") as handle:
        text = handle.read()
    start, end = text.index(DOC_BEGIN), text.index(DOC_END) + len(DOC_END)
    assert text[start:end] == doc_section(), (
        "docs/spec.md is out of date: run `archcost layers --update-doc docs/spec.md`")
    # and independently of doc_section: every primitive, alias and field name appears
    table = text[start:end]
    for prim in L.PRIMITIVES.values():
        line = next(x for x in table.splitlines() if x.startswith(f"| `{prim.name}` |"))
        for f in prim.fields:
            assert re.search(rf"\b{re.escape(f.name)}\b", line), (prim.name, f.name)
    for alias in L.ALIASES:
        assert f"`{alias}`" in table, alias

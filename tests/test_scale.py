"""The scale fast paths change speed only: every result equals the plain computation.

Covers the engine changes made for benchmarks/bench_scale.py (BENCHMARKS.md): the one-pass
JSON writer, Row.sums(), the YAML tag cache, the garbage-collector pause, the expander's
caches (via the deep specs' three forms, which must give identical totals) and the
deep-spec generator itself (hand-computed totals).
"""

from __future__ import annotations

import datetime
import gc
import json
import os
from fractions import Fraction

import pytest
import yaml

from archcost.commands.table import network_json
from archcost.errors import SpecError
from archcost.report import _json_default, to_json
from archcost.spec import build
from archcost.yamlio import gc_paused, load_text

from .conftest import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _make_deep_spec():
    return load_script("benchmarks", "make_deep_spec.py")


def _stdlib_json(obj) -> str:
    # NaN and infinities are written as null (issue 14: they are not JSON)
    text = json.dumps(obj, indent=2, default=_json_default)
    for word in ("NaN", "-Infinity", "Infinity"):
        text = text.replace(f": {word}", ": null").replace(f"  {word}", "  null")
    return text + "\n"


ODD = {
    "a": [1, 2, {"b": [], "c": {}}], "d": None, "e": True, "f": False, "g": 1.5,
    "h": 'quote " and \u00e9 and \n', "t": (1, 2), 1: 2, 2.5: "k", None: 1, False: 0,
    "fr": Fraction(3, 2), "whole": Fraction(4, 1), "nan": float("nan"),
    "inf": float("inf"), "-inf": -float("inf"), "big": 10**30, "neg": -7,
}  # fmt: skip


@pytest.mark.parametrize("obj", [ODD, [], {}, "s", 3, 2.0, None, [[[]]], [{}], [ODD, [ODD]]])
def test_to_json_is_json_dumps_indent_2(obj):
    assert to_json(obj) == _stdlib_json(obj)


@pytest.mark.parametrize("name", ["googlenet", "resnet50:torchvision"])
@pytest.mark.parametrize("expand", [False, True])
def test_table_json_is_json_dumps_indent_2(name, expand):
    data = network_json(build(name), 2, "float16", expand)
    assert to_json(data) == _stdlib_json(data)


@pytest.mark.parametrize("name", ["googlenet", "resnet50:torchvision", "vit_b_16", "lenet5"])
@pytest.mark.parametrize("train", [False, True])
def test_table_json_text_only_is_the_same_text(name, train, tmp_path):
    """``table --format json`` writes the rows' records without building them
    (commands.table.layers_text, one body per distinct record): the same text as the dicts,
    written by json.dumps."""
    net = build(name, train=train)
    data = network_json(net, 3, "bfloat16", False)
    fast = to_json(network_json(net, 3, "bfloat16", False, text_only=True))
    assert fast == _stdlib_json(data)


def test_table_json_text_only_rows_that_differ_only_in_name(tmp_path):
    """Rows of one kind share a body; labels with quotes, non-ASCII and repeated labels
    (' #2') and rows whose only difference is train-only or a block column keep their own."""
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "name: s\ninput: [3, 8, 8]\nblocks:\n  u:\n    args: [c]\n    columns: {'#c': c}\n"
        "    layers:\n      - conv: {type: conv, out: c, k: 3, p: 1}\nlayers:\n"
        '  - conv "a\u00e9": {type: conv, out: 4, k: 3, p: 1}\n'
        '  - conv "a\u00e9": {type: conv, out: 4, k: 3, p: 1}\n'
        "  - relu\n  - relu\n  - drop: {type: dropout, train: true}\n"
        "  - relu x: {type: relu}\n  - relu t: {type: relu, train: true}\n  - u1: {type: u, c: 4}\n  - u2: {type: u, c: 4}\n"
        "  - u3: {type: u, c: 5}\n  - pool: {type: global_avgpool}\n")
    for train in (False, True):
        net = build(str(spec), train=train)
        data = network_json(net, 1, "float32", False)
        assert to_json(network_json(net, 1, "float32", False, text_only=True)) == \
            _stdlib_json(data)


@pytest.mark.parametrize("name", ["googlenet", "resnet50", "inception_v3"])
def test_row_sums_equal_the_row_properties(name):
    for row in build(name).rows:
        sums = row.sums()
        assert sums == {"params": row.params, "bias": row.bias, "weights": row.weights,
                        "buffers": row.buffers, "macs": row.macs, "ops": row.ops,
                        "activations": row.activations}


def test_yaml_tag_cache_resolves_like_the_safe_loader():
    # the same word in many places, and every implicit type PyYAML's safe loader resolves
    text = """
a: [1, 1, "1", 1.5, 1e3, 0x10, 0o7, true, True, yes, no, null, ~, '', 2014-01-01, .inf, -.inf]
b: {1: one, "1": string, 2.5: float, off: "yes", null: none}
c: [conv, conv, conv, relu, "conv", 'relu', 3x3, 7x7/2, -1, +1, 1_000, .5]
"""
    ours = load_text(text, "t.yaml")
    expected = yaml.safe_load(text)
    expected["a"][14] = "2014-01-01"  # archcost keeps dates as text (docs/limits.md)
    assert ours == expected
    assert [type(v) for v in ours["a"]] == [type(v) for v in expected["a"]]


@pytest.mark.parametrize("style", ["{}", "'{}'", '"{}"', "[{}]", "{{k: {}}}"])
def test_yaml_scalars_of_every_first_character_load_like_the_safe_loader(style):
    """An untagged scalar whose first character no implicit resolver claims is taken as its
    text without the resolver (yamlio._walk): every printable ASCII first character, alone
    and followed by text, plain and quoted, loads as PyYAML's safe loader loads it (or both
    fail)."""
    for first in map(chr, range(32, 127)):
        for tail in ("", "1", "x y", "rue", "ull", ".5", "0"):
            scalar = style.format(first + tail)
            text = f"a: {scalar}\n"
            try:  # libyaml's parser, as archcost's loader (pure Python's differs on 'a: !')
                expected = yaml.load(text, Loader=SAFE)  # noqa: S506 - a safe loader
            except yaml.YAMLError:
                with pytest.raises(SpecError):
                    load_text(text, "t.yaml")
                continue
            try:
                ours = load_text(text, "t.yaml")
            except SpecError:
                assert first in "!&*", text  # tags, anchors, aliases archcost refuses
                continue
            if isinstance(expected["a"], (datetime.date, datetime.datetime)):
                continue  # archcost keeps dates as the text they are written as
            assert ours == expected, text
            assert _types(ours) == _types(expected), text


SAFE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _types(value):
    if isinstance(value, dict):
        return {k: _types(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_types(v) for v in value]
    return type(value)


def test_gc_paused_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: stays off
    finally:
        gc.enable()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()


def test_deep_spec_forms_are_the_same_network(tmp_path):
    mk = _make_deep_spec()
    # 100 layers -> U = round((100 - 2) / 7) = 14 units, 7 * 14 + 2 = 100 primitive layers
    assert mk.units_for(100) == 14 and mk.layer_count(14) == 100
    totals = []
    for form in ("repeat", "rows", "flat"):
        path = tmp_path / f"deep_{form}.yaml"
        path.write_text(mk.make_spec(100, form))
        net = build(str(path))
        assert len(net.nodes) == 100
        totals.append(net.totals())
    assert totals[0] == totals[1] == totals[2]
    t = totals[0]
    # a unit: two 3x3 convs 16 -> 16 without bias (9*16*16 = 2,304 weights each) and two BN
    # (2*16 params, 2*16 buffers each); head: linear 16 -> 10 with bias (170 params)
    assert t["params"] == 14 * (2 * 2304 + 2 * 32) + 170 == 65_578
    assert t["buffers"] == 14 * 2 * 32 == 896
    # MACs: each conv 2,304 * 8 * 8 positions = 147,456; the linear 160
    assert t["macs"] == 14 * 2 * 147_456 + 160 == 4_128_928
    # ops: per unit 2 BN (2 * 1,024 each), 2 ReLU (1,024 each), 1 add (1,024); the pool 1,024
    # (adds and divides over 16 x 8 x 8); the linear's 10 bias adds
    assert t["ops"] == 14 * (2 * 2048 + 2 * 1024 + 1024) + 1024 + 10 == 101_386

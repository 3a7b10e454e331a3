"""Spec features: rows that read like a table, blocks, repeat, when, variants, extends, params."""

import os
from fractions import Fraction

import pytest

from archcost.errors import SpecError
from archcost.spec import build

HERE = os.path.join(os.path.dirname(__file__), "specs")


def spec(name):
    return os.path.join(HERE, name)


def test_residual_network_by_hand():
    net = build(spec("residual.yaml"))
    assert net.input.shape == (3, 32, 32)
    assert [r.id for r in net.rows] == ["stem", "stage1", "stage2", "pool", "fc"]
    # stem: 3x3 conv 3->16, no bias, + BN(16): 432 + 32 params; MACs 432 * 32*32
    stem = net.row("stem")
    assert stem.params == 3 * 3 * 3 * 16 + 2 * 16 and stem.macs == 432 * 1024
    assert stem.buffers == 32 and stem.shape == (16, 32, 32)
    # stage1: two basic blocks 16->16, no shortcut conv (when: false): 2 * 2 * (2304 + 32)
    s1 = net.row("stage1")
    assert s1.params == 2 * 2 * (9 * 16 * 16 + 32)
    assert not any("shortcut" in n.id for n in s1.nodes)
    assert s1.repeat == 2 and s1.depth == 4  # weight layers on the longest path through the row
    # stage2: first block stride 2 with a 1x1 projection 16->32 (+BN), second block 32->32
    s2 = net.row("stage2")
    first = 9 * 16 * 32 + 64 + 9 * 32 * 32 + 64 + 16 * 32 + 64
    second = 2 * (9 * 32 * 32 + 64)
    assert s2.params == first + second and s2.shape == (32, 16, 16)
    assert sum(1 for n in s2.nodes if n.id.endswith("shortcut")) == 1
    assert net.row("fc").params == 32 * 10 + 10
    totals = net.totals()
    for q in ("params", "macs", "ops", "activations", "buffers"):
        assert totals[q] == sum(getattr(r, q) for r in net.rows)


def test_params_and_set():
    base = build(spec("residual.yaml"))
    small = build(spec("residual.yaml"), params={"resolution": "16"})
    assert small.input.shape == (3, 16, 16)
    assert small.total("params") == base.total("params")
    # every conv scales with H*W; the final linear (32*10 MACs) does not
    fc = 32 * 10
    assert (small.total("macs") - fc) * 4 == base.total("macs") - fc
    assert small.params["resolution"] == 16
    with pytest.raises(SpecError, match="did you mean 'resolution'"):
        build(spec("residual.yaml"), params={"resolutoin": "16"})
    with pytest.raises(SpecError, match="resolution"):
        build(spec("residual.yaml"), params={"resolution": "abc"})


def test_variants():
    wide = build(spec("residual.yaml") + ":wide")
    assert wide.name.endswith(":wide") and wide.row("stem").shape[0] == 32
    nobn = build(spec("residual.yaml") + ":nobn")
    assert nobn.total("buffers") == 0 and not any(n.op == "bn" for n in nobn.nodes)
    short = build(spec("residual.yaml") + ":short")
    assert [r.id for r in short.rows] == ["stem", "stage1", "pool", "fc"]
    assert short.row("fc").shape == (100,)
    with pytest.raises(SpecError, match="unknown variant 'wdie'; did you mean 'wide'"):
        build(spec("residual.yaml") + ":wdie")


def test_extends_applies_base_variant_and_overrides():
    net = build(spec("extends_residual.yaml"))
    assert net.title == "tiny residual, wide, 100 classes"
    assert net.row("stem").shape[0] == 32 and net.row("fc").shape == (100,)


def test_named_inputs_concat_and_training_only_rows():
    net = build(spec("branches.yaml"))
    assert net.row("merged").shape == (10, 16, 16)
    assert net.row("head") is None  # training-only: absent at inference
    # the pool takes the concat (the row above), not the training-only head
    assert net.row("pool").nodes[0].inputs[0] is net.row("merged").output
    train = build(spec("branches.yaml"), train=True)
    head = train.row("head")
    assert head.train_only and head.params == 4 * 16 * 16 * 5 + 5
    assert train.row("pool").nodes[0].inputs[0] is train.row("merged").output
    assert train.total("params") == net.total("params") + head.params


def test_googlenet_paper_rows_and_totals():
    net = build("googlenet")
    assert len(net.rows) == 19  # one per row of Table 1
    assert net.total("params") == 6_998_552 and net.total("macs") == 1_582_671_872
    assert net.row("inception (3a)").columns == {
        "#1x1": 64, "#3x3 reduce": 96, "#3x3": 128, "#5x5 reduce": 16, "#5x5": 32, "pool proj": 32}
    # training adds the two auxiliary classifiers:
    # avgpool 5x5/3 -> 4x4x512(528); conv 1x1 128 (+bias); fc 2048->1024; linear 1024->1000
    aux = lambda c: (c * 128 + 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)  # noqa: E731
    train = build("googlenet", train=True)
    assert train.total("params") == net.total("params") + aux(512) + aux(528)


def test_exact_fractions_in_params():
    net = build(spec("residual.yaml"), params={"width": "24"})
    assert net.row("stage2").shape[0] == 48
    assert build(spec("residual.yaml")).params["width"] == 16
    assert isinstance(build(spec("residual.yaml"), params={"resolution": "32.0"}).params["resolution"],
                      (int, Fraction))

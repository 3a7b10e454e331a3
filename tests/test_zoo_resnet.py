"""ResNet family of the model zoo: hand-computed oracles, torchvision's published totals, the
published tables (resnet-lecture, resnet-paper-table1) at their printed precision.

Conventions (archcost's): params = weights + biases (BN gamma/beta are params, running
mean/var are buffers); MACs = conv + linear multiply-accumulates only. A k x k conv from C_in
to C_out (groups g) on an H x W output has k*k*(C_in/g)*C_out weights and that many times
H*W MACs; a BN on C channels has 2*C params.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

import pytest

from archcost.graph import QUANTITIES
from archcost.spec import build
from archcost.tables import check_table, find_table

from .conftest import static_totals, torch_totals

BASE = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
        "wide_resnet50_2", "se_resnet50"]  # fmt: skip
VARIANTS = ["resnet18:torchvision", "resnet18:option_a", "resnet34:torchvision",
            "resnet34:option_a", "resnet50:torchvision", "resnet101:torchvision",
            "resnet152:torchvision", "resnext50_32x4d:torchvision",
            "wide_resnet50_2:torchvision"]  # fmt: skip

# torchvision's published parameter counts and GFLOPS (= GMACs of conv + linear at 224x224,
# 2 decimals) for its models; the :torchvision variants must give exactly these.
TORCHVISION = {
    "resnet18": (11_689_512, "1.81"),
    "resnet34": (21_797_672, "3.66"),
    "resnet50": (25_557_032, "4.09"),
    "resnet101": (44_549_160, "7.80"),
    "resnet152": (60_192_808, "11.51"),
    "resnext50_32x4d": (25_028_904, "4.23"),
    "wide_resnet50_2": (68_883_240, "11.40"),
}


def nodes_of(net, prefix):
    return [n for n in net.nodes if n.id.startswith(prefix)]


def rounded(value, unit, decimals, rule="nearest"):
    mode = {"nearest": ROUND_HALF_UP, "floor": ROUND_FLOOR, "ceil": ROUND_CEILING}[rule]
    return (Decimal(value) / Decimal(unit)).quantize(Decimal(1).scaleb(-decimals), rounding=mode)


# ---------------------------------------------------------------- oracles of single units


def test_basic_unit_oracle():
    """ResNet-18 conv3_x, first unit: 64 x 56 x 56 in, planes 128, stride 2, output 28 x 28.

    3x3 a  64 -> 128 /2: 3*3*64*128  =  73,728 weights;  73,728 * 784 =  57,802,752 MACs
    3x3 b 128 -> 128:    3*3*128*128 = 147,456 weights; 147,456 * 784 = 115,605,504 MACs
    projection 1x1 /2:   64*128      =   8,192 weights;   8,192 * 784 =   6,422,528 MACs
    3 BNs on 128 channels: 3 * 256 = 768 params.
    params = 73,728 + 147,456 + 8,192 + 768 = 230,144
    MACs   = 57,802,752 + 115,605,504 + 6,422,528 = 179,830,784
    """
    net = build("resnet18")
    unit = nodes_of(net, "conv3_x.1/")
    assert sum(n.params for n in unit) == 230_144
    assert sum(n.macs for n in unit) == 179_830_784
    assert [n.op for n in unit if n.weight] == ["conv", "conv", "conv"]
    assert unit[-1].shape == (128, 28, 28)
    # the second unit keeps the shape: no projection, 2 * 147,456 + 2 * 256 params
    second = nodes_of(net, "conv3_x.2/")
    assert sum(n.params for n in second) == 2 * 147_456 + 2 * 256
    assert sum(n.macs for n in second) == 2 * 115_605_504
    assert not any("projection" in n.id for n in second)
    # the whole conv3_x row: unit 1 + one more unit
    assert net.row("conv3_x").params == 230_144 + 295_424


def test_bottleneck_unit_oracle():
    """ResNet-50 conv3_x, first unit: 256 x 56 x 56 in, planes 128, stride 2, out 512 x 28 x 28.

    Paper layout (stride on the first 1x1), every conv at 28 x 28 = 784 positions:
    1x1 reduce 256 -> 128 /2: 256*128   =  32,768 weights;  32,768 * 784 =  25,690,112 MACs
    3x3        128 -> 128:    9*128*128 = 147,456 weights; 147,456 * 784 = 115,605,504 MACs
    1x1 expand 128 -> 512:    128*512   =  65,536 weights;  65,536 * 784 =  51,380,224 MACs
    projection 256 -> 512 /2: 256*512   = 131,072 weights; 131,072 * 784 = 102,760,448 MACs
    BNs: 2*(128 + 128 + 512 + 512) = 2,560 params.
    params = 32,768 + 147,456 + 65,536 + 131,072 + 2,560 = 379,392
    MACs   = 25,690,112 + 115,605,504 + 51,380,224 + 102,760,448 = 295,436,288
    torchvision (stride on the 3x3): the 1x1 reduce runs at 56 x 56 = 3,136 positions,
    32,768 * 3,136 = 102,760,448 MACs, i.e. 77,070,336 more; params unchanged.
    """
    paper = nodes_of(build("resnet50"), "conv3_x.1/")
    assert sum(n.params for n in paper) == 379_392
    assert sum(n.macs for n in paper) == 295_436_288
    reduce = next(n for n in paper if n.id == "conv3_x.1/1x1 reduce")
    assert reduce.shape == (128, 28, 28) and reduce.fields["s"] == (2, 2)
    tv = nodes_of(build("resnet50:torchvision"), "conv3_x.1/")
    assert sum(n.params for n in tv) == 379_392
    assert sum(n.macs for n in tv) == 295_436_288 + 77_070_336
    reduce = next(n for n in tv if n.id == "conv3_x.1/1x1 reduce")
    assert reduce.shape == (128, 56, 56) and reduce.fields["s"] == (1, 1)
    conv3 = next(n for n in tv if n.id == "conv3_x.1/3x3")
    assert conv3.fields["s"] == (2, 2)


def test_projection_only_where_shape_changes():
    """conv2_x.1 of ResNet-50 changes channels (64 -> 256) at stride 1: a 1x1 projection of
    64*256 = 16,384 weights; conv2_x.2 and .3 keep 256 channels: identity shortcuts."""
    net = build("resnet50")
    proj = [n for n in net.nodes if n.id.endswith("/projection")]
    assert [n.id for n in proj] == ["conv2_x.1/projection", "conv3_x.1/projection",
                                    "conv4_x.1/projection", "conv5_x.1/projection"]  # fmt: skip
    assert proj[0].params == 16_384 and proj[0].fields["s"] == (1, 1)
    add = next(n for n in net.nodes if n.id == "conv2_x.2/add")
    assert add.inputs[1].id == "conv2_x.1/relu"  # the unit's input itself
    # basic units: ResNet-18's conv2_x keeps 64 channels: no projection at all in that stage
    assert not any(n.id.startswith("conv2_x") and "projection" in n.id
                   for n in build("resnet18").nodes)  # fmt: skip


def test_grouped_and_wide_units():
    """ResNeXt-50 32x4d conv2_x.1: width = int(64*4/64)*32 = 128, 3x3 with 32 groups:
    3*3*(128/32)*128 = 4,608 weights. Wide ResNet-50-2: width = int(64*128/64) = 128,
    3x3 dense: 3*3*128*128 = 147,456 weights; both at 56*56 = 3,136 positions."""
    rx = next(n for n in build("resnext50_32x4d").nodes if n.id == "conv2_x.1/3x3")
    assert rx.fields["g"] == 32 and rx.params == 4_608 and rx.macs == 4_608 * 3_136
    wide = next(n for n in build("wide_resnet50_2").nodes if n.id == "conv2_x.1/3x3")
    assert wide.fields["g"] == 1 and wide.params == 147_456 and wide.macs == 147_456 * 3_136


# ---------------------------------------------------------------- whole networks


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_variants_exact(name):
    params, gflops = TORCHVISION[name]
    net = build(f"{name}:torchvision")
    assert net.total("params") == params
    assert rounded(net.total("macs"), 10**9, 2) == Decimal(gflops)
    assert net.meta["torchvision"] == name
    assert net.output_shape == (1000,)
    assert not any(n.op == "softmax" for n in net.nodes)  # torchvision returns logits


@pytest.mark.parametrize("name", BASE + VARIANTS)
def test_builds_and_totals_are_row_sums(name):
    net = build(name)
    owned = [n for row in net.rows for n in row.nodes]
    assert len(owned) == len(net.nodes) == len({id(n) for n in owned})
    for q in QUANTITIES:
        assert net.total(q) == sum(getattr(row, q) for row in net.rows), q
    assert [r.id for r in net.rows][:6] == ["conv1", "max pool", "conv2_x", "conv3_x",
                                            "conv4_x", "conv5_x"]  # fmt: skip
    assert net.row("conv5_x").shape[1:] == (7, 7)
    assert net.output_shape == (1000,)


def test_exact_totals_of_paper_layouts():
    """The paper-layout nets' totals (the tables' rounding rests on these): params equal
    torchvision's published counts where torchvision has the same network (its model docs),
    and every total equals torch's at 224 (benchmarks/verify_full.py: numel,
    FlopCounterMode / 2 of a module built from the spec's fields)."""
    published = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                 "resnet101": 44_549_160, "resnet152": 60_192_808,
                 "resnext50_32x4d": 25_028_904, "wide_resnet50_2": 68_883_240}  # fmt: skip
    for name, params in published.items():
        assert build(name).total("params") == params, name
    for name in ("resnet18", "resnet34", "resnet34:option_a", "resnet18:option_a", "resnet50",
                 "resnet101", "resnet152", "resnext50_32x4d", "wide_resnet50_2",
                 "se_resnet50"):  # fmt: skip
        assert static_totals(build(name)) == torch_totals(name), name


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_v1_vs_v15_differ_by_hand_computed_amount(depth):
    """Moving the stride from the first 1x1 to the 3x3 in the first unit of conv3_x, conv4_x,
    conv5_x makes that 1x1 run at twice the resolution (4x the positions); nothing else moves.
      conv3_x: 256->128 at 28x28: 25,690,112 MACs -> x4, +77,070,336
      conv4_x: 512->256 at 14x14: 25,690,112 MACs -> x4, +77,070,336
      conv5_x: 1024->512 at 7x7:  25,690,112 MACs -> x4, +77,070,336
    MACs: +231,211,008; params: equal (same weights). The 1x1's output and its BN output grow
    by 128*(3136-784) + 256*(784-196) + 512*(196-49) = 301,056 + 150,528 + 75,264 = 526,848
    elements each: activations +2*526,848 (conv and BN write; the ReLU is in place), ops
    +3*526,848 (BN 2 + ReLU 1 per element). The torchvision variant also drops the softmax
    (1,000 activations, 3*1,000 ops).
    """
    paper, tv = build(f"resnet{depth}"), build(f"resnet{depth}:torchvision")
    assert tv.total("params") == paper.total("params")
    assert tv.total("buffers") == paper.total("buffers")
    assert tv.total("macs") - paper.total("macs") == 231_211_008
    assert tv.total("activations") - paper.total("activations") == 2 * 526_848 - 1_000
    assert tv.total("ops") - paper.total("ops") == 3 * 526_848 - 3_000
    changed = {n.id for n, m in zip(paper.nodes, tv.nodes, strict=False) if n.macs != m.macs}
    assert changed == {"conv3_x.1/1x1 reduce", "conv4_x.1/1x1 reduce", "conv5_x.1/1x1 reduce"}


def test_basic_torchvision_variants_are_the_paper_layout():
    for depth in (18, 34):
        paper, tv = build(f"resnet{depth}"), build(f"resnet{depth}:torchvision")
        assert [n.id for n in paper.nodes if n.op != "softmax"] == [n.id for n in tv.nodes]
        for q in ("params", "macs", "buffers"):
            assert paper.total(q) == tv.total(q)


def test_option_a_shortcuts():
    """Option A removes ResNet-34's three projections and their BNs:
    weights 64*128 + 128*256 + 256*512 = 8,192 + 32,768 + 131,072 = 172,032, BN
    2*(128 + 256 + 512) = 1,792 -> 173,824 params fewer; MACs 8,192*28*28 + 32,768*14*14 +
    131,072*7*7 = 3 * 6,422,528 = 19,267,584 fewer. The subsample + zero pad cost nothing."""
    b, a = build("resnet34"), build("resnet34:option_a")
    assert b.total("params") - a.total("params") == 173_824
    assert b.total("macs") - a.total("macs") == 19_267_584
    pad = next(n for n in a.nodes if n.id == "conv3_x.1/zero pad")
    assert pad.shape == (128, 28, 28) and pad.inputs[0].shape == (64, 28, 28)
    assert (pad.params, pad.macs, pad.ops) == (0, 0, 0)
    assert not any("projection" in n.id for n in a.nodes)


def test_se_resnet50_against_the_paper():
    """Hu et al. 2017: SE-ResNet-50 ~28.1M params (Table 2: 28.09M), ~3.87 GFLOPs.

    SE params per unit with C output channels: C*C/16 + C/16 + C/16*C + C (FCs with biases).
    Sum over 3 units at C=256, 4 at 512, 6 at 1024, 3 at 2048:
      weights 2/16 * (3*256^2 + 4*512^2 + 6*1024^2 + 3*2048^2) = 20,119,552 / 8 = 2,514,944
      biases  3*(16+256) + 4*(32+512) + 6*(64+1024) + 3*(128+2048) = 16,048
    -> 25,557,032 + 2,530,992 = 28,088,024 = 28.09M (paper: 28.1M).
    SE MACs are the FC weights: +2,514,944 -> 3,860,488,192 = 3.86 G. The paper's 3.87 also
    counts work that is not multiply-adds (archcost's ops): the squeeze's average pooling reads
    3*256*56^2 + 4*512*28^2 + 6*1024*14^2 + 3*2048*7^2 = 5,519,360 elements and the scale
    multiplies as many; with the squeeze alone, 3,860,488,192 + 5,519,360 = 3.866 -> 3.87.
    """
    se, base = build("se_resnet50"), build("resnet50")
    assert se.total("params") - base.total("params") == 2_530_992
    assert se.total("params") == 28_088_024
    assert rounded(se.total("params"), 10**6, 2) == Decimal("28.09")
    assert se.total("macs") - base.total("macs") == 2_514_944
    assert rounded(se.total("macs"), 10**9, 2) == Decimal("3.86")
    squeeze = [n for n in se.nodes if n.id.endswith("/se/squeeze")]
    scale = [n for n in se.nodes if n.id.endswith("/se/scale")]
    assert len(squeeze) == len(scale) == 16
    assert sum(n.ops for n in squeeze) == sum(n.ops for n in scale) == 5_519_360
    assert rounded(se.total("macs") + 5_519_360, 10**9, 2) == Decimal("3.87")
    # the SE sits after the last BN, before the add; stride on the first 1x1 (paper layout)
    add = next(n for n in se.nodes if n.id == "conv3_x.1/add")
    assert add.inputs[0].id == "conv3_x.1/se/scale"
    assert add.inputs[0].inputs[0].id == "conv3_x.1/1x1 expand/bn"
    assert next(n for n in se.nodes if n.id == "conv3_x.1/1x1 reduce").fields["s"] == (2, 2)


def test_resolution_parameter():
    """At 256x256: conv1 (256 + 6 - 7)//2 + 1 = 128, the pool 64, conv5_x 64/8 = 8x8; the
    params do not depend on the resolution (the global pool feeds the fc 2048 features)."""
    net = build("resnet50:torchvision", params={"resolution": 256})
    assert net.row("conv1").shape == (64, 128, 128)
    assert net.row("conv5_x").shape == (2048, 8, 8)
    assert net.total("params") == 25_557_032


# ---------------------------------------------------------------- published tables
# (every cell of every table is checked by tests/test_tables.py through archcost check)


def test_table_errata_are_what_we_expect():
    """Only ResNet-50's 3.8 fails: 3,857,973,248 MACs = 3.858e9 -> 3.9 at one decimal (and, on
    the lecture's slide, the MobileNet comparison 2.5x10^8 for 568,740,352 MACs)."""
    expected = {"resnet-lecture": [("3.8", "3.9"), ("2.5", "5.7")],
                "resnet-paper-table1": [("3.8", "3.9")]}  # fmt: skip
    for table_id in ("resnet-lecture", "resnet-paper-table1"):
        result = check_table(find_table(table_id))
        errata = [(str(c.published), c.computed) for c in result.cells if c.status == "erratum"]
        assert errata == expected[table_id] and result.ok
    # ResNet-101 = ResNet-50 + 17 conv4_x units of 218,365,952 MACs
    assert 17 * (14 * 14 * (1024 * 256 + 9 * 256 * 256 + 256 * 1024)) == 3_712_221_184
    assert build("resnet101").total("macs") - build("resnet50").total("macs") == 3_712_221_184

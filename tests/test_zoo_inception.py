"""The Inception part of the zoo: googlenet (paper), googlenet:torchvision, inception_v3.

Oracles are published counts (torchvision's weight metadata, Keras' model summary) and hand
arithmetic written out below. Conventions: params = weights + biases + batch-norm gamma/beta;
running mean/var are buffers; MACs = conv and linear multiply-accumulates only.
"""

from __future__ import annotations

import os
from fractions import Fraction

import pytest

from archcost.errors import SpecError
from archcost.layers import fmt_shape
from archcost.spec import build
from archcost.tables import check_table, find_table

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETWORKS = ["googlenet", "googlenet:torchvision", "inception_v3", "inception_v3:torchvision"]
QUANTITIES = ["params", "bias", "buffers", "macs", "ops", "activations"]


def rounded(value, unit, decimals):
    """value / unit rounded half up to `decimals` places, exactly."""
    scaled = Fraction(value, unit) * 10**decimals
    return Fraction(int(scaled + Fraction(1, 2)), 10**decimals)


def conv_weights(row):
    """Convolution weights of a row (no biases here; BN gamma/beta are params too)."""
    return sum(n.params for n in row.nodes if n.op == "conv")


# ------------------------------------------------------------------ every network builds


@pytest.mark.parametrize("train", [False, True])
@pytest.mark.parametrize("name", NETWORKS)
def test_builds_and_totals_are_sums_of_rows(name, train):
    net = build(name, train=train)
    assert net.output_shape == (1000,)
    in_rows = [node for row in net.rows for node in row.nodes]
    assert len(in_rows) == len(net.nodes) == len({id(n) for n in in_rows})
    for q in QUANTITIES:
        assert net.total(q) == sum(getattr(row, q) for row in net.rows), q
    assert net.total("weights") == sum(row.weights for row in net.rows)
    assert any(row.train_only for row in net.rows) == train


# ------------------------------------------------------------------ googlenet (paper)

# The paper's network (specs/googlenet.yaml base), per Table 1 row: (output CxHxW, params, MACs),
# by hand from Table 1's columns (a k x k conv from c_in to c_out with bias: k*k*c_in*c_out +
# c_out params, k*k*c_in*c_out MACs per output position). Output sizes: 224 -> conv 7x7/2 p 3:
# 112; each 3x3/2 max pool by the ceil rule: ceil((112-3)/2)+1 = 56, 28, 14, 7.


def _conv(cin, cout, k, hw):
    return k * k * cin * cout + cout, k * k * cin * cout * hw * hw


def _inception(cin, c1, r3, c3, r5, c5, pool_proj, hw):
    """#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj (Table 1's columns)."""
    parts = [_conv(cin, c1, 1, hw), _conv(cin, r3, 1, hw), _conv(r3, c3, 3, hw),
             _conv(cin, r5, 1, hw), _conv(r5, c5, 5, hw), _conv(cin, pool_proj, 1, hw)]  # fmt: skip
    return sum(p for p, _ in parts), sum(m for _, m in parts)


def _row(shape, cost=(0, 0)):
    return (shape, *cost)


_C2 = tuple(a + b for a, b in zip(_conv(64, 64, 1, 56), _conv(64, 192, 3, 56), strict=True))
GOOGLENET_PAPER_ROWS = {
    "conv 7x7/2": _row((64, 112, 112), _conv(3, 64, 7, 112)),
    "max pool 3x3/2": _row((64, 56, 56)),
    "convolution 3x3/1": _row((192, 56, 56), _C2),  # 1x1 reduce 64, then 3x3 to 192
    "max pool 3x3/2 #2": _row((192, 28, 28)),
    "inception (3a)": _row((256, 28, 28), _inception(192, 64, 96, 128, 16, 32, 32, 28)),
    "inception (3b)": _row((480, 28, 28), _inception(256, 128, 128, 192, 32, 96, 64, 28)),
    "max pool 3x3/2 #3": _row((480, 14, 14)),
    "inception (4a)": _row((512, 14, 14), _inception(480, 192, 96, 208, 16, 48, 64, 14)),
    "inception (4b)": _row((512, 14, 14), _inception(512, 160, 112, 224, 24, 64, 64, 14)),
    "inception (4c)": _row((512, 14, 14), _inception(512, 128, 128, 256, 24, 64, 64, 14)),
    "inception (4d)": _row((528, 14, 14), _inception(512, 112, 144, 288, 32, 64, 64, 14)),
    "inception (4e)": _row((832, 14, 14), _inception(528, 256, 160, 320, 32, 128, 128, 14)),
    "max pool 3x3/2 #4": _row((832, 7, 7)),
    "inception (5a)": _row((832, 7, 7), _inception(832, 256, 160, 320, 32, 128, 128, 7)),
    "inception (5b)": _row((1024, 7, 7), _inception(832, 384, 192, 384, 48, 128, 128, 7)),
    "avg pool 7x7/1": _row((1024, 1, 1)),
    "dropout (40%)": _row((1024, 1, 1)),
    "linear": _row((1000,), (1024 * 1000 + 1000, 1024 * 1000)),
    "softmax": _row((1000,)),
}


def test_googlenet_paper_rows_unchanged():
    net = build("googlenet")
    got = {row.id: (row.shape, row.params, row.macs) for row in net.rows}
    assert got == GOOGLENET_PAPER_ROWS
    # the totals are the rows' sums: 6,998,552 params, 1,582,671,872 MACs
    assert net.total("params") == sum(r[1] for r in GOOGLENET_PAPER_ROWS.values()) == 6_998_552
    assert net.total("macs") == sum(r[2] for r in GOOGLENET_PAPER_ROWS.values()) == 1_582_671_872
    assert {n.op for n in net.nodes} >= {"lrn"}
    assert "bn" not in {n.op for n in net.nodes}


def test_googlenet_paper_train_adds_two_aux_classifiers():
    # Each paper aux (Sec. 5): 5x5/3 avg pool (14 -> 4), 1x1 conv 128 with bias, fc 2048 -> 1024,
    # linear 1024 -> 1000, all with biases.
    # aux 1 (512 in): 512*128+128 + 2048*1024+1024 + 1024*1000+1000 = 65,664 + 2,098,176 + 1,025,000
    # aux 2 (528 in): 67,712 + 2,098,176 + 1,025,000
    aux1 = 65_664 + 2_098_176 + 1_025_000
    aux2 = 67_712 + 2_098_176 + 1_025_000
    net = build("googlenet", train=True)
    assert net.row("aux 1").params == aux1
    assert net.row("aux 2").params == aux2
    assert net.total("params") == 6_998_552 + aux1 + aux2 == 13_378_280


# ------------------------------------------------------------------ googlenet:torchvision


def test_googlenet_torchvision_params_match_torchvision_exactly():
    # GoogLeNet_Weights.IMAGENET1K_V1.meta["num_params"] = 6,624,904 (the builder drops the aux
    # classifiers unless asked for them).
    net = build("googlenet:torchvision")
    assert net.total("params") == 6_624_904
    # the only biases left are the final linear's
    assert net.total("bias") == 1000


def test_googlenet_torchvision_train_params_equal_googlenet_aux_logits_true():
    # torchvision InceptionAux(C_in): BasicConv2d(C_in, 128, 1x1) = 128*C_in weights + 2*128 BN,
    # fc1 Linear(2048, 1024) = 2,098,176, fc2 Linear(1024, 1000) = 1,025,000.
    # aux1 (C_in 512): 65,536 + 256 + 2,098,176 + 1,025,000 = 3,188,968
    # aux2 (C_in 528): 67,584 + 256 + 2,098,176 + 1,025,000 = 3,191,016
    # GoogLeNet(aux_logits=True) numel = 6,624,904 + 3,188,968 + 3,191,016 = 13,004,888
    net = build("googlenet:torchvision", train=True)
    assert net.row("aux 1").params == 3_188_968
    assert net.row("aux 2").params == 3_191_016
    assert net.total("params") == 13_004_888


def test_googlenet_torchvision_macs_match_documented_gflops():
    # torchvision documents 1.50 GFLOPS (its metadata: _ops = 1.498), counted as MACs.
    macs = build("googlenet:torchvision").total("macs")
    assert macs == 1_498_376_192
    assert rounded(macs, 10**9, 2) == Fraction("1.50")
    assert rounded(macs, 10**9, 3) == Fraction("1.498")


def test_googlenet_torchvision_layout():
    net = build("googlenet:torchvision")
    ops = [n.op for n in net.nodes]
    assert "lrn" not in ops and "softmax" not in ops
    convs = [n for n in net.nodes if n.op == "conv"]
    assert convs and all(not n.fields["bias"] for n in convs)
    bns = [n for n in net.nodes if n.op == "bn"]
    assert len(bns) == len(convs)  # BasicConv2d everywhere
    assert all(n.fields["eps"] == Fraction(1, 1000) for n in bns)
    # the "5x5" branch is 3x3 (torchvision issue #906), every inception module
    five = [n for n in convs if n.id.endswith("/5x5")]
    assert len(five) == 9 and all(n.fields["k"] == (3, 3) for n in five)
    # max pool before 5a: 2x2/2 with ceil mode, 14 -> 7
    pool4 = net.row("max pool 3x3/2 #4")
    assert pool4.patch == "2x2/2" and pool4.shape == (832, 7, 7)
    assert [n.fields["p"] for n in net.nodes if n.op == "dropout"] == [Fraction(1, 5)]


def test_googlenet_torchvision_aux_pools_adaptively_to_4x4():
    net = build("googlenet:torchvision", train=True)
    aux = net.row("aux 1")
    pool, conv = aux.nodes[0], aux.nodes[1]
    assert pool.op == "adaptive_avgpool" and pool.shape == (512, 4, 4)
    assert conv.shape == (128, 4, 4)  # flattened: 2048 features into fc1
    fc1 = next(n for n in aux.nodes if n.op == "linear")
    assert fc1.params == 2048 * 1024 + 1024


def test_googlenet_torchvision_min_size_is_15():
    # torchvision: GoogLeNet_Weights meta "min_size": (15, 15)
    assert build("googlenet:torchvision", params={"resolution": 15}).output_shape == (1000,)
    with pytest.raises(SpecError):
        build("googlenet:torchvision", params={"resolution": 14})


# ------------------------------------------------------------------ inception_v3

# Every BasicConv2d's batch norm, inception_v3 at inference (sum of out channels, hand count):
# stem 32+32+64+80+192 = 400; InceptionA 432 + pool_features -> 464, 496, 496 = 1,456;
# InceptionB 384+64+96+96 = 640; InceptionC 768 + 6*c7 -> 1,536, 1,728, 1,728, 1,920 = 6,912;
# InceptionD 192+320+4*192 = 1,280; InceptionE 320+3*384+448+3*384+192 = 3,264, twice = 6,528.
BN_CHANNELS = 400 + 1456 + 640 + 6912 + 1280 + 6528  # 17,216

# AuxLogits (InceptionAux(768)): conv0 BasicConv2d(768, 128, 1) = 98,304 + 256;
# conv1 BasicConv2d(128, 768, 5) = 2,457,600 + 1,536; fc Linear(768, 1000) = 769,000.
AUX_V3 = 98_304 + 256 + 2_457_600 + 1_536 + 769_000  # 3,326,696


def test_inception_v3_params_match_torchvision_exactly():
    # torchvision's Inception_V3_Weights meta "num_params" = 27,161,264 counts the model as
    # Inception3() builds it by default, i.e. with AuxLogits: it is archcost's --train total.
    # At inference (no AuxLogits) the network has 27,161,264 - 3,326,696 = 23,834,568.
    infer = build("inception_v3")
    train = build("inception_v3", train=True)
    assert train.total("params") == 27_161_264
    assert train.row("AuxLogits").params == AUX_V3 == 3_326_696
    assert infer.total("params") == 27_161_264 - AUX_V3 == 23_834_568


def test_inception_v3_matches_keras_summary():
    # Independent check of the inference count: Keras' InceptionV3 (same released network, no
    # aux, BN without gamma) prints Total 23,851,784 / Trainable 23,817,352 / Non-trainable
    # 34,432. Its trainable = ours minus the BN gammas; its non-trainable = our buffers.
    net = build("inception_v3")
    assert net.total("buffers") == 2 * BN_CHANNELS == 34_432
    assert net.total("params") - BN_CHANNELS == 23_817_352
    assert net.total("params") + BN_CHANNELS == 23_851_784


def test_inception_v3_macs_match_documented_gflops():
    # torchvision documents 5.71 GFLOPS (metadata _ops = 5.713) for inception_v3 at 299x299,
    # counted as MACs at inference (with AuxLogits it would be 5.719).
    net = build("inception_v3")
    assert net.total("macs") == 5_713_216_096
    assert rounded(net.total("macs"), 10**9, 2) == Fraction("5.71")
    assert rounded(net.total("macs"), 10**9, 3) == Fraction("5.713")
    train = build("inception_v3", train=True)
    assert train.total("macs") - net.total("macs") == train.row("AuxLogits").macs == 5_683_200


def test_inception_v3_aux_macs_by_hand():
    # 17x17x768 -> avg pool 5x5/3 -> 5x5x768 -> conv0 1x1 128: 25 * 768*128 = 2,457,600
    # -> conv1 5x5 768 (valid, 1x1 out): 25*128*768 = 2,457,600 -> fc 768*1000 = 768,000
    aux = build("inception_v3", train=True).row("AuxLogits")
    assert aux.macs == 2_457_600 + 2_457_600 + 768_000


def test_inception_a_block_by_hand():
    # Mixed_5b = InceptionA(192, pool_features=32) on 35x35x192; weights per conv:
    #   branch1x1       192*64          = 12,288
    #   branch5x5_1     192*48          =  9,216
    #   branch5x5_2     5*5*48*64       = 76,800
    #   branch3x3dbl_1  192*64          = 12,288
    #   branch3x3dbl_2  3*3*64*96       = 55,296
    #   branch3x3dbl_3  3*3*96*96       = 82,944
    #   branch_pool     192*32          =  6,144      sum = 254,976
    # BN gamma+beta: 2*(64+48+64+64+96+96+32) = 928  -> params 255,904
    # MACs: every conv keeps the 35x35 grid: 254,976 * 1,225 = 312,345,600
    row = build("inception_v3").row("Mixed_5b")
    weights = 12_288 + 9_216 + 76_800 + 12_288 + 55_296 + 82_944 + 6_144
    assert weights == 254_976
    assert conv_weights(row) == weights
    assert row.params == weights + 928 == 255_904
    assert row.macs == weights * 35 * 35 == 312_345_600
    assert row.shape == (64 + 64 + 96 + 32, 35, 35)
    assert row.columns == {"pool proj": 32}


def test_inception_e_block_by_hand():
    # Mixed_7b = InceptionE(1280) on 8x8x1280; weights per conv:
    #   branch1x1        1280*320        =   409,600
    #   branch3x3_1      1280*384        =   491,520
    #   branch3x3_2a     1*3*384*384     =   442,368
    #   branch3x3_2b     3*1*384*384     =   442,368
    #   branch3x3dbl_1   1280*448        =   573,440
    #   branch3x3dbl_2   3*3*448*384     = 1,548,288
    #   branch3x3dbl_3a  1*3*384*384     =   442,368
    #   branch3x3dbl_3b  3*1*384*384     =   442,368
    #   branch_pool      1280*192        =   245,760      sum = 5,038,080
    # BN: 2*(320+384+384+384+448+384+384+384+192) = 2*3,264 = 6,528 -> params 5,044,608
    # MACs: all 'same' on 8x8: 5,038,080 * 64 = 322,437,120
    # Output: 320 + (384+384) + (384+384) + 192 = 2,048 channels
    row = build("inception_v3").row("Mixed_7b")
    weights = (409_600 + 491_520 + 442_368 + 442_368 + 573_440 + 1_548_288 + 442_368
               + 442_368 + 245_760)  # fmt: skip
    assert weights == 5_038_080
    assert conv_weights(row) == weights
    assert row.params == weights + 6_528 == 5_044_608
    assert row.macs == weights * 64 == 322_437_120
    assert row.shape == (2048, 8, 8)
    # the split branches: 1x3 and 3x1 from the same 1x1, concatenated
    nodes = {n.id.split("/", 1)[1]: n for n in row.nodes}
    assert nodes["branch3x3_2a"].fields["k"] == (1, 3)
    assert nodes["branch3x3_2b"].fields["k"] == (3, 1)
    assert nodes["branch3x3_2b"].inputs[0] is nodes["branch3x3_1/relu"]
    assert nodes["branch3x3"].shape == (768, 8, 8)


def test_inception_c_asymmetric_kernels():
    # Mixed_6b: channels_7x7 = 128; 1x7 pads [0, 3] and 7x1 pads [3, 0] keep 17x17.
    row = build("inception_v3").row("Mixed_6b")
    convs = {n.id.split("/", 1)[1]: n for n in row.nodes if n.op == "conv"}
    assert convs["branch7x7_2"].fields["k"] == (1, 7) and convs["branch7x7_2"].fields["p"] == (0, 3)
    assert convs["branch7x7_3"].fields["k"] == (7, 1) and convs["branch7x7_3"].fields["p"] == (3, 0)
    assert all(n.shape[1:] == (17, 17) for n in convs.values())
    # 768*192 + (768*128 + 7*128*128 + 7*128*192) + (768*128 + 3*7*128*128 + 7*128*192) + 768*192
    weights = 147_456 + (98_304 + 114_688 + 172_032) + (98_304 + 344_064 + 172_032) + 147_456
    assert conv_weights(row) == weights == 1_294_336
    assert row.params == weights + 2 * (192 + 128 + 128 + 192 + 4 * 128 + 192 + 192)


def test_inception_v3_stage_shapes():
    # The released network's shapes (torchvision's forward() comments), H x W x C.
    expected = {
        "Conv2d_1a_3x3": "149x149x32", "Conv2d_2a_3x3": "147x147x32",
        "Conv2d_2b_3x3": "147x147x64", "maxpool1": "73x73x64", "Conv2d_3b_1x1": "73x73x80",
        "Conv2d_4a_3x3": "71x71x192", "maxpool2": "35x35x192", "Mixed_5b": "35x35x256",
        "Mixed_5c": "35x35x288", "Mixed_5d": "35x35x288", "Mixed_6a": "17x17x768",
        "Mixed_6b": "17x17x768", "Mixed_6e": "17x17x768", "Mixed_7a": "8x8x1280",
        "Mixed_7b": "8x8x2048", "Mixed_7c": "8x8x2048", "avgpool": "1x1x2048", "fc": "1000",
    }  # fmt: skip
    net = build("inception_v3")
    assert {k: fmt_shape(net.row(k).shape) for k in expected} == expected


def test_inception_v3_layout():
    net = build("inception_v3")
    convs = [n for n in net.nodes if n.op == "conv"]
    bns = [n for n in net.nodes if n.op == "bn"]
    assert len(convs) == len(bns) == 94  # torchvision: 94 BasicConv2d outside AuxLogits
    assert all(not n.fields["bias"] for n in convs)
    assert all(n.fields["eps"] == Fraction(1, 1000) for n in bns)
    assert [n.fields["p"] for n in net.nodes if n.op == "dropout"] == [Fraction(1, 2)]
    assert "softmax" not in {n.op for n in net.nodes}


def test_inception_v3_torchvision_is_an_alias():
    for train in (False, True):
        a = build("inception_v3", train=train)
        b = build("inception_v3:torchvision", train=train)
        assert [(n.id, n.op, n.shape, n.params, n.macs, n.ops) for n in a.nodes] == [
            (n.id, n.op, n.shape, n.params, n.macs, n.ops) for n in b.nodes
        ]


def test_inception_v3_min_size_is_75():
    # torchvision: Inception_V3_Weights meta "min_size": (75, 75); Mixed_7a's 3x3/2 convs need
    # a 3x3 grid: 75 -> 37 -> 35 -> 35 -> 17 -> 17 -> 15 -> 7 -> (Mixed_6a) 3 -> (Mixed_7a) 1.
    assert build("inception_v3", params={"resolution": 75}).output_shape == (1000,)
    with pytest.raises(SpecError):
        build("inception_v3", params={"resolution": 74})


# ------------------------------------------------------------------ the paper's Table 1


def test_inception_v3_paper_table():
    """Table 1 is checked against inception_v3:paper (its own stem): every cell matches; the
    released network differs from it exactly in the two stem sizes Table 1 prints."""
    result = check_table(find_table("inception-v3-paper"))
    assert result.ok and len(result.cells) == 20
    assert all(c.status == "match" for c in result.cells)
    paper, released = build("inception_v3:paper"), build("inception_v3")
    assert paper.row("Conv2d_4a_3x3").shape == (80, 71, 71)  # Table 1: 71x71x80
    assert released.row("Conv2d_4a_3x3").shape == (192, 71, 71)
    assert paper.row("Conv2d_5b_3x3").shape == (288, 35, 35)  # Table 1: 35x35x288
    assert released.row("maxpool2").shape == (192, 35, 35)

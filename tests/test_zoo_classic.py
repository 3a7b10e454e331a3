"""The classic model zoo: LeNet-5, AlexNet, VGG, SqueezeNet specs and their published tables.

Oracles are computed by hand from the papers' layer shapes; the arithmetic is written out in each
test, independent of archcost's layer functions.
"""

from __future__ import annotations

import pytest

from archcost.errors import SpecError
from archcost.graph import QUANTITIES
from archcost.spec import build

SPECS = ["lenet5", "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn",
         "vgg16_bn", "vgg19_bn", "squeezenet1_0", "squeezenet1_1"]  # fmt: skip
TABLES = ["lenet5-lecture", "alexnet-paper", "vgg16-lecture", "vgg-paper-table2"]


def all_networks():
    names = []
    for spec in SPECS:
        names.append(spec)
        names += [f"{spec}:{v}" for v in build(spec).meta["variants"]]
    return names


def test_variants_exist():
    names = set(all_networks())
    for expected in ["lenet5:paper", "alexnet:single", "alexnet:torchvision", "vgg11:lrn",
                     "vgg16:c", "vgg11:torchvision", "vgg13:torchvision", "vgg16:torchvision",
                     "vgg19:torchvision", "vgg16_bn:torchvision", "squeezenet1_0:torchvision",
                     "squeezenet1_1:torchvision"]:  # fmt: skip
        assert expected in names


# ---------------------------------------------------------------- every spec and variant


@pytest.mark.parametrize("name", all_networks())
def test_builds_and_totals_are_sums_of_rows(name):
    net = build(name)
    assert net.rows
    for quantity in QUANTITIES:
        if quantity == "weights":
            rows = sum(r.weights for r in net.rows)
        else:
            rows = sum(getattr(r, quantity) for r in net.rows)
        assert net.total(quantity) == rows, quantity
    # every node belongs to exactly one row
    assert sum(len(r.nodes) for r in net.rows) == len(net.nodes)
    assert net.total("params") > 0 and net.total("macs") > 0


# ---------------------------------------------------------------- torchvision parameter counts

TORCHVISION_PARAMS = {
    "alexnet": 61_100_840,
    "vgg11": 132_863_336,
    "vgg11_bn": 132_868_840,
    "vgg13": 133_047_848,
    "vgg13_bn": 133_053_736,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "vgg19": 143_667_240,
    "vgg19_bn": 143_678_248,
    "squeezenet1_0": 1_248_424,
    "squeezenet1_1": 1_235_496,
}

# torchvision's documented GFLOPS: MACs of conv + linear at 224x224, two decimals
TORCHVISION_GMACS = {
    "alexnet": "0.71",
    "vgg11": "7.61",
    "vgg13": "11.31",
    "vgg16": "15.47",
    "vgg19": "19.63",
    "squeezenet1_0": "0.82",
    "squeezenet1_1": "0.35",
}


@pytest.mark.parametrize("name", sorted(TORCHVISION_PARAMS))
def test_torchvision_params(name):
    assert build(f"{name}:torchvision").total("params") == TORCHVISION_PARAMS[name]


@pytest.mark.parametrize("name", sorted(TORCHVISION_GMACS))
def test_torchvision_gflops(name):
    net = build(f"{name}:torchvision")
    assert net.input.shape == (3, 224, 224)
    assert f"{net.total('macs') / 10**9:.2f}" == TORCHVISION_GMACS[name]


@pytest.mark.parametrize("depth", [11, 13, 16, 19])
def test_vgg_bn_is_torchvision_vgg_plus_batch_norm(depth):
    plain = build(f"vgg{depth}:torchvision")
    bn = build(f"vgg{depth}_bn")
    convs = [r for r in plain.rows if r.id.startswith("conv")]
    channels = sum(r.shape[0] for r in convs)
    # each BatchNorm2d: gamma and beta (params), running mean and var (buffers)
    assert bn.total("params") == plain.total("params") + 2 * channels
    assert bn.total("buffers") == 2 * channels
    assert bn.total("macs") == plain.total("macs")
    assert [n.op for n in bn.row("conv1_1").nodes] == ["conv", "bn", "relu"]
    assert build(f"vgg{depth}_bn:torchvision").totals() == bn.totals()


# ---------------------------------------------------------------- LeNet-5


def test_lenet5_lecture_every_layer():
    net = build("lenet5")
    # (row, output shape C,H,W, weights, biases, MACs)
    expected = [
        ("conv1", (6, 28, 28), 5 * 5 * 1 * 6, 6, 28 * 28 * 5 * 5 * 1 * 6),  # 32 - 5 + 1 = 28
        ("pool1", (6, 14, 14), 0, 0, 0),
        ("conv2", (16, 10, 10), 5 * 5 * 6 * 16, 16, 10 * 10 * 5 * 5 * 6 * 16),  # 14 - 5 + 1
        ("pool2", (16, 5, 5), 0, 0, 0),
        ("flatten", (400,), 0, 0, 0),
        ("fc1", (120,), 400 * 120, 120, 400 * 120),
        ("fc2", (84,), 120 * 84, 84, 120 * 84),
        ("fc3", (10,), 84 * 10, 10, 84 * 10),
    ]
    assert [r.id for r in net.rows] == [e[0] for e in expected]
    for row_id, shape, weights, bias, macs in expected:
        row = net.row(row_id)
        assert (row.shape, row.weights, row.bias, row.macs) == (shape, weights, bias, macs), row_id
    # max pool 2x2: 3 comparisons per output
    assert net.row("pool1").ops == 3 * 6 * 14 * 14
    # the lecture's Params line: 25*6 + 25*6*16 + 400*120 + 120*84 + 84*10 = 61,470 weights
    assert net.total("weights") == 150 + 2400 + 48000 + 10080 + 840 == 61_470
    assert net.total("params") == 61_470 + (6 + 16 + 120 + 84 + 10) == 61_706
    assert net.total("macs") == 117_600 + 240_000 + 48_000 + 10_080 + 840 == 416_520
    # tanh after conv1, conv2, fc1, fc2 only
    tanh = [n.row.id for n in net.nodes if n.op == "tanh"]
    assert tanh == ["conv1", "conv2", "fc1", "fc2"]


def test_lenet5_paper_every_layer():
    net = build("lenet5:paper")
    # LeCun et al. 1998, Section II.B: trainable parameters and connections of each layer.
    # (row, output shape, params, connections); connections = MACs + one per bias add.
    expected = [
        ("C1", (6, 28, 28), 6 * (25 + 1), 28 * 28 * 6 * (25 + 1)),  # 156, 122,304
        ("S2", (6, 14, 14), 6 * 2, None),  # coefficient + bias per map: 12
        ("C3", (16, 10, 10), 60 * 25 + 16, 10 * 10 * (60 * 25 + 16)),  # 1,516, 151,600
        ("S4", (16, 5, 5), 16 * 2, None),  # 32
        ("C5", (120, 1, 1), 120 * (16 * 25 + 1), 120 * (16 * 25 + 1)),  # 48,120
        ("F6", (84,), 84 * (120 + 1), 84 * (120 + 1)),  # 10,164
        ("output", (10,), 0, 84 * 10),  # 840 fixed RBF centres: buffers, not params
    ]
    assert [r.id for r in net.rows] == [e[0] for e in expected]
    for row_id, shape, params, connections in expected:
        row = net.row(row_id)
        assert row.shape == shape and row.params == params, row_id
        if connections is not None:
            weight_nodes = [n for n in row.nodes if n.weight]
            # conv/linear nodes' ops are their bias adds
            assert sum(n.macs + n.ops for n in weight_nodes) == connections, row_id
    assert (156, 12, 1516, 32, 48_120, 10_164) == tuple(r.params for r in net.rows[:6])
    # "60,000 trainable parameters"; the 840 RBF centres are fixed: buffers
    assert sum(r.params for r in net.rows[:6]) == 60_000
    assert net.total("params") == 60_000 and net.row("output").buffers == 84 * 10
    # S2: 2x2 average (sum) pool, then one coefficient and one bias per map, then tanh
    assert [n.op for n in net.row("S2").nodes] == ["avgpool", "conv", "tanh"]
    coefficient = net.row("S2").nodes[1]
    assert coefficient.fields["g"] == 6 and coefficient.fields["k"] == (1, 1)


def test_lenet5_paper_c3_connection_table():
    # Table I: maps 0-5 take 3 S2 maps, 6-14 take 4, map 15 takes all 6: 6*3 + 9*4 + 6 = 60
    net = build("lenet5:paper")
    c3 = net.row("C3")
    convs = [n for n in c3.nodes if n.op == "conv"]
    fan_in = [n.inputs[0].shape[0] for n in convs]
    assert fan_in == [3] * 6 + [4] * 9 + [6]
    assert sum(fan_in) == 60
    assert all(n.shape == (1, 10, 10) for n in convs)
    assert c3.macs == 60 * 25 * 10 * 10 == 150_000
    assert c3.weight_layers == 16 and c3.depth == 1
    # which S2 maps each C3 map sees (follow the slices and concats back to S2's output)
    s2 = net.row("S2").output

    def maps(node):
        if node is s2:
            return list(range(6))
        if node.op == "slice":
            assert node.inputs[0] is s2
            return list(range(node.fields["start"], node.fields["end"]))
        assert node.op == "concat"
        return [m for i in node.inputs for m in maps(i)]

    table = [sorted(maps(n.inputs[0])) for n in convs]
    assert table == [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [0, 4, 5], [0, 1, 5],
        [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [0, 3, 4, 5], [0, 1, 4, 5], [0, 1, 2, 5],
        [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5], [0, 1, 2, 3, 4, 5],
    ]  # fmt: skip


def test_slice_primitive():
    net = build("lenet5:paper")
    slices = [n for n in net.row("C3").nodes if n.op == "slice"]
    assert slices and all(n.params == n.macs == n.ops == n.activations == 0 for n in slices)


def test_slice_out_of_range(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("input: [6, 14, 14]\nlayers:\n  - a: {type: slice, start: 4, end: 7}\n")
    with pytest.raises(SpecError, match=r"channels \[4, 7\) are not within the input's 6"):
        build(str(spec))


# ---------------------------------------------------------------- AlexNet


def test_alexnet_paper_conv1_and_fc6():
    net = build("alexnet")
    assert net.input.shape == (3, 227, 227)
    conv1 = net.row("conv1")
    # (227 - 11) / 4 + 1 = 55; 11*11*3 weights per kernel, 96 kernels
    assert conv1.shape == (96, 55, 55)
    assert conv1.weights == 11 * 11 * 3 * 96 == 34_848
    assert conv1.params == 34_848 + 96
    assert conv1.macs == 34_848 * 55 * 55 == 105_415_200
    # pools: 55 -> 27 -> 13 -> 6, so fc6 sees 6*6*256 = 9216 inputs
    assert [net.row(p).shape for p in ("pool1", "pool2", "pool5")] == [
        (96, 27, 27), (256, 13, 13), (256, 6, 6)]  # fmt: skip
    fc6 = net.row("fc6")
    assert fc6.weights == 9216 * 4096 == 37_748_736
    assert fc6.params == 37_748_736 + 4096
    assert fc6.macs == 37_748_736
    # two-GPU grouping: conv2 sees 96/2 maps, conv4 and conv5 384/2
    assert net.row("conv2").weights == 5 * 5 * 48 * 256
    assert net.row("conv3").weights == 3 * 3 * 256 * 384
    assert net.row("conv4").weights == 3 * 3 * 192 * 384
    assert net.row("conv5").weights == 3 * 3 * 192 * 256
    assert net.total("params") == (34_944 + 307_456 + 885_120 + 663_936 + 442_624 + 37_752_832
                                   + 16_781_312 + 4_097_000) == 60_965_224  # fmt: skip
    # LRN after conv1 and conv2, with the paper's k = 2, n = 5
    norm1 = net.row("norm1").nodes[0]
    assert norm1.op == "lrn" and norm1.fields["size"] == 5 and norm1.fields["k_const"] == 2


def test_alexnet_neurons():
    # the abstract's "650,000 neurons": outputs of the eight weight layers
    net = build("alexnet")
    layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    neurons = sum(net.row(r).activations for r in layers)
    assert neurons == (55 * 55 * 96 + 27 * 27 * 256 + 13 * 13 * 384 * 2 + 13 * 13 * 256
                       + 4096 * 2 + 1000) == 659_272  # fmt: skip
    # truncated to two significant figures, like "60 million" for 60,965,224 params
    assert neurons // 10_000 * 10_000 == 650_000
    assert net.total("params") // 1_000_000 == 60


def test_alexnet_single_and_torchvision():
    single = build("alexnet:single")
    assert single.row("conv2").weights == 5 * 5 * 96 * 256
    assert single.total("params") == 60_965_224 + 5 * 5 * 48 * 256 + 3 * 3 * 192 * (384 + 256)
    tv = build("alexnet:torchvision")
    conv1 = tv.row("conv1")
    # (224 + 2*2 - 11) // 4 + 1 = 55
    assert conv1.shape == (64, 55, 55) and conv1.weights == 11 * 11 * 3 * 64
    assert tv.row("avgpool").shape == (256, 6, 6)
    ops = [n.op for n in tv.nodes]
    assert "lrn" not in ops and "softmax" not in ops
    # dropout before fc6 and fc7
    order = [r.id for r in tv.rows]
    assert order.index("drop6") + 1 == order.index("fc6")
    assert order.index("drop7") + 1 == order.index("fc7")


# ---------------------------------------------------------------- VGG


def test_vgg16_totals():
    net = build("vgg16")
    conv_weights = 9 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 2 * 256 * 256
                        + 256 * 512 + 5 * 512 * 512)  # fmt: skip
    assert conv_weights == 14_710_464
    conv_bias = 2 * 64 + 2 * 128 + 3 * 256 + 6 * 512
    fc_weights = 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    fc_bias = 4096 + 4096 + 1000
    assert net.total("params") == conv_weights + conv_bias + fc_weights + fc_bias == 138_357_544
    assert net.total("bias") == conv_bias + fc_bias
    conv_macs = (9 * (3 * 64 + 64 * 64) * 224**2 + 9 * (64 * 128 + 128 * 128) * 112**2
                 + 9 * (128 * 256 + 2 * 256 * 256) * 56**2 + 9 * (256 * 512 + 2 * 512 * 512) * 28**2
                 + 9 * 3 * 512 * 512 * 14**2)  # fmt: skip
    assert net.total("macs") == conv_macs + fc_weights == 15_470_264_320
    assert net.weight_layers == 16
    assert net.row("pool5").shape == (512, 7, 7)


def test_vgg_configurations():
    # Table 1: weight layers A 11, A-LRN 11, B 13, C 16, D 16, E 19
    for name, layers in [("vgg11", 11), ("vgg11:lrn", 11), ("vgg13", 13), ("vgg16:c", 16),
                         ("vgg16", 16), ("vgg19", 19)]:  # fmt: skip
        assert build(name).weight_layers == layers, name
    lrn = build("vgg11:lrn")
    assert [r.id for r in lrn.rows[:3]] == ["conv1_1", "norm1", "pool1"]
    c = build("vgg16:c")
    for row_id, channels in [("conv3_3", 256), ("conv4_3", 512), ("conv5_3", 512)]:
        row = c.row(row_id)
        assert row.label == f"conv1-{channels}"
        assert row.weights == channels * channels  # 1x1 convolution
    # C = B + the three 1x1 layers
    assert c.total("params") == 133_047_848 + (256 * 256 + 256) + 2 * (512 * 512 + 512)


def test_torchvision_adaptive_pools_fix_the_classifier():
    # AdaptiveAvgPool2d((7, 7)) / ((6, 6)) makes the FC input, hence params, resolution-free;
    # the paper's VGG flattens whatever pool5 gives (256 -> 8x8x512 into fc6)
    for name, params in [("vgg16:torchvision", 138_357_544), ("alexnet:torchvision", 61_100_840)]:
        assert build(name, params={"resolution": 256}).total("params") == params
    paper = build("vgg16", params={"resolution": 256})
    assert paper.row("fc6").weights == 8 * 8 * 512 * 4096
    # at 224 the VGG adaptive pool has one-element windows: C*7*7 ops, no MACs
    avgpool = build("vgg16:torchvision").row("avgpool")
    assert avgpool.shape == (512, 7, 7) and avgpool.ops == 512 * 7 * 7 and avgpool.macs == 0


# ---------------------------------------------------------------- SqueezeNet


def test_squeezenet1_0_table1():
    net = build("squeezenet1_0")
    # Table 1: output sizes on the 227 input
    shapes = {"conv1": (96, 111, 111), "maxpool1": (96, 55, 55), "fire2": (128, 55, 55),
              "fire4": (256, 55, 55), "maxpool4": (256, 27, 27), "fire8": (512, 27, 27),
              "maxpool8": (512, 13, 13), "fire9": (512, 13, 13), "conv10": (1000, 13, 13),
              "avgpool10": (1000, 1, 1)}  # fmt: skip
    for row_id, shape in shapes.items():
        assert net.row(row_id).shape == shape, row_id

    def fire(c_in, s, e1, e3):  # squeeze 1x1, expand 1x1, expand 3x3, all with bias
        return (c_in * s + s) + (s * e1 + e1) + (9 * s * e3 + e3)

    assert net.row("fire2").params == fire(96, 16, 64, 64) == 11_920
    assert net.row("fire9").params == fire(512, 64, 256, 256) == 197_184
    assert net.row("conv1").params == 7 * 7 * 3 * 96 + 96 == 14_208
    assert net.row("conv10").params == 512 * 1000 + 1000 == 513_000
    assert net.row("fire2").columns == {"s1x1": 16, "e1x1": 64, "e3x3": 64}

"""archcost.conventions: each preset's total as hand arithmetic over the network's layers.

No torch: the oracles below are sums of layer sizes worked out by hand from the torchvision
architectures; each equals what the real tool printed for torchvision's model
(benchmarks/peers.py, BENCHMARKS.md), which is the point of the presets.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from archcost import conventions
from archcost.cli import cli
from archcost.spec import build

# ---------------------------------------------------------------- ResNet-50 (torchvision v1.5)
R50_MACS = 4_089_184_256  # conv + fc multiply-adds, archcost's own count
# batch norm output elements: stem 64x112x112 = 802,816; conv2_x 3 x (64+64+256) x 56^2
# + projection 256 x 56^2 = 4,415,488; conv3_x first unit 128x56^2 + 128x28^2 + 512x28^2
# + 512x28^2 = 1,304,576, then 3 x 768 x 28^2 = 1,806,336; conv4_x 652,288 + 5 x 1536 x 14^2 =
# 2,157,568; conv5_x 326,144 + 2 x 3072 x 7^2 = 627,200
R50_BN = 802_816 + 4_415_488 + 1_304_576 + 1_806_336 + 2_157_568 + 627_200
# a ReLU follows every BN except each unit's last and the projections' (the post-add ReLU
# takes the last BN's shape): BN minus the 4 projections 802,816 + 401,408 + 200,704 + 100,352
R50_RELU = R50_BN - (802_816 + 401_408 + 200_704 + 100_352)
R50_MAXPOOL_IN = 64 * 112 * 112  # the stem max pool's input
R50_AVGPOOL_IN = 2048 * 7 * 7
R50_FC_BIAS = 1000
# BN params 2C: channels 64 + (3*(64+64+256) + 256) + (4*(128+128+512) + 512)
# + (6*(256+256+1024) + 1024) + (3*(512+512+2048) + 2048) = 26,560
R50_BN_PARAMS = 2 * (64 + 1408 + 3584 + 10240 + 11264)


def test_resnet50_hand_sums():
    assert R50_BN_PARAMS == 53_120
    assert R50_BN == 11_113_984
    assert R50_RELU == 9_608_704


@pytest.mark.parametrize(("preset", "expected"), [
    ("archcost", R50_MACS),
    # torch's FlopCounterMode: 2 per multiply-add, nothing else
    ("torch", 2 * R50_MACS),
    # ptflops aten backend: convolution and addmm, with the fc's bias adds
    ("ptflops-aten", R50_MACS + R50_FC_BIAS),
    # torchinfo: conv weights x positions (= MACs), fc params (MACs + bias), BN params 2C
    ("torchinfo", R50_MACS + R50_FC_BIAS + R50_BN_PARAMS),
    # fvcore: batch_norm 2 per element, adaptive_avg_pool2d 1 per input element, no bias
    ("fvcore", R50_MACS + 2 * R50_BN + R50_AVGPOOL_IN),
    # thop: BN 2 x 2 per element (calculate_norm doubles, then affine doubles again);
    # AdaptiveAvgPool2d (7*7/1 + 1) per output element; ReLU and max pool zero_ops
    ("thop", R50_MACS + 4 * R50_BN + (49 + 1) * 2048),
    # ptflops: fc bias; BN 2/element; nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d modules twice
    # their input (the module hook and the patched F.relu / F.max_pool2d /
    # F.adaptive_avg_pool2d their forward calls); += not counted
    ("ptflops", R50_MACS + R50_FC_BIAS + 2 * R50_BN + 2 * R50_RELU + 2 * R50_MAXPOOL_IN
     + 2 * R50_AVGPOOL_IN),
])  # fmt: skip
def test_resnet50_torchvision_presets(preset, expected):
    got = conventions.totals(build("resnet50:torchvision"), preset)
    assert got["count"] == expected
    assert got["params"] == 25_557_032  # every tool counts all trainable params


def test_resnet50_presets_equal_the_tools_measured_totals():
    # what ptflops 0.7.5, thop 0.1.1, fvcore 0.1.5 printed for torchvision's resnet50
    # (benchmarks/results/peers.json); the sums above reproduce them
    net = build("resnet50:torchvision")
    assert conventions.totals(net, "ptflops")["count"] == 4_132_436_968
    assert conventions.totals(net, "thop")["count"] == 4_133_742_592
    assert conventions.totals(net, "fvcore")["count"] == 4_111_512_576


# ---------------------------------------------------------------- GoogLeNet (torchvision)
G_MACS = 1_498_376_192
# every conv is BasicConv2d (conv, BN, F.relu): BN elements = conv output elements:
# stem 64x112^2 + 64x56^2 + 192x56^2 = 1,605,632; inception blocks' conv channels x area:
# 3a 368 x 28^2, 3b 640 x 28^2, 4a..4e (624, 648, 664, 704, 1024) x 14^2, 5a 1024 x 7^2,
# 5b 1264 x 7^2
G_BN = 1_605_632 + (368 + 640) * 784 + (624 + 648 + 664 + 704 + 1024) * 196 + (1024 + 1264) * 49
# max pool inputs: maxpool1..4 64x112^2, 192x56^2, 480x28^2, 832x14^2; the 3x3/1 pool in each
# inception block sees the block input: 192, 256 x 28^2; 480, 512, 512, 512, 528 x 14^2;
# 832, 832 x 7^2
G_MAXPOOL_IN = (802_816 + 602_112 + 376_320 + 163_072 + (192 + 256) * 784
                + (480 + 512 * 3 + 528) * 196 + 832 * 2 * 49)  # fmt: skip
G_AVGPOOL_IN = 1024 * 7 * 7
G_BN_PARAMS = 2 * (64 + 64 + 192 + 368 + 640 + 624 + 648 + 664 + 704 + 1024 + 1024 + 1264)


def test_googlenet_hand_sums():
    assert G_BN == 3_226_160
    assert G_MAXPOOL_IN == 2_875_712
    assert G_BN_PARAMS == 14_560


@pytest.mark.parametrize(("preset", "expected"), [
    ("archcost", G_MACS),
    ("torch", 2 * G_MACS),
    ("ptflops-aten", G_MACS + 1000),
    ("torchinfo", G_MACS + 1000 + G_BN_PARAMS),
    ("fvcore", G_MACS + 2 * G_BN + G_AVGPOOL_IN),
    ("thop", G_MACS + 4 * G_BN + (49 + 1) * 1024),
    # torchvision's BasicConv2d calls F.relu: ptflops counts its input once (no module hook);
    # the max pools and the average pool are modules: twice
    ("ptflops", G_MACS + 1000 + 2 * G_BN + 1 * G_BN + 2 * G_MAXPOOL_IN + 2 * G_AVGPOOL_IN),
])  # fmt: skip
def test_googlenet_torchvision_presets(preset, expected):
    got = conventions.totals(build("googlenet:torchvision"), preset)
    assert got["count"] == expected
    assert got["params"] == 6_624_904


def test_googlenet_torchvision_relu_is_functional():
    net = build("googlenet:torchvision")
    # the spec says so per layer (`defaults: {relu: {call: functional}}`), not a table of names
    assert {n.call for n in net.nodes if n.op == "relu"} == {"functional"}
    assert {n.call for n in net.nodes if n.op != "relu"} == {"module"}
    assert {n.call for n in build("resnet50:torchvision").nodes} == {"module"}
    # the same ReLU as a module would count twice in ptflops: the difference is G_BN
    for n in net.nodes:
        n.call = "module"
    as_module = sum(conventions.PRESETS["ptflops"].node(n) for n in net.nodes)
    net = build("googlenet:torchvision")
    assert as_module - conventions.totals(net, "ptflops")["count"] == G_BN


def test_paper_googlenet_fvcore_counts_only_multiply_adds():
    # the paper's GoogLeNet has no batch norm and pools with AvgPool2d (unsupported by fvcore,
    # 0), so fvcore's total is archcost's MACs; conv biases are not counted
    net = build("googlenet")
    assert conventions.totals(net, "fvcore")["count"] == net.total("macs") == 1_582_671_872


def test_paper_googlenet_ptflops_counts_lrn_from_its_inner_calls():
    # F.local_response_norm calls patched ops: input.mul(input), avg_pool3d over the input
    # padded by size - 1 channels, .mul(alpha), .add(k): 3 per element + 1 per padded element.
    # The paper's first LRN is on 64 x 56 x 56: 3 * 200,704 + (64 + 4) * 3,136 = 815,360
    counted = conventions.count(build("googlenet"), "ptflops")
    lrn = [n for n in build("googlenet").nodes if n.op == "lrn"][0]
    assert conventions.PRESETS["ptflops"].node(lrn) == 3 * 200_704 + 68 * 3_136 == 815_360
    assert counted.unknown_ops == () and counted.total is not None
    # the first row: conv 7x7/2 MACs 118,013,952 + its bias adds 802,816 + nn.ReLU twice
    assert counted.rows["conv 7x7/2"] == 118_013_952 + 802_816 + 2 * 802_816


def test_unknown_is_never_zero(monkeypatch):
    # an op no preset has a rule for (a primitive added after the presets) is unknown to all
    from types import SimpleNamespace

    odd = SimpleNamespace(op="upsample", fields={}, shape=(4, 8, 8), macs=0, params=0, call="module",
                          inputs=(SimpleNamespace(shape=(4, 4, 4)),))
    for name, preset in conventions.PRESETS.items():
        # archcost's own MACs are always known; torch's counter has a rule for every built-in
        # primitive (matrix products and convolutions only), but not for a user's primitive
        if name not in ("archcost", "torch"):
            assert preset.node(odd) is None, name
    assert conventions.PRESETS["torch"].node(odd) == 0
    user = SimpleNamespace(**{**vars(odd), "op": "custom", "macs": 10})
    assert conventions.PRESETS["torch"].node(user) is None
    # an unknown node makes its row and the total unknown, not smaller
    monkeypatch.setitem(conventions.PRESETS, "thop", conventions.Convention(
        "thop", "thop MACs", "MACs", "test", lambda n: None if n.op == "lrn" else 1))
    counted = conventions.count(build("googlenet"), "thop")
    assert counted.total is None and counted.unknown_ops == ("lrn",)
    assert counted.rows["max pool 3x3/2"] is None  # pool + LRN
    assert counted.rows["conv 7x7/2"] == 2  # the conv and its ReLU, 1 each


@pytest.mark.parametrize("preset", conventions.NAMES)
def test_rows_and_nodes_add_up_to_the_total(preset):
    net = build("resnet50:torchvision")
    counted = conventions.count(net, preset)
    assert sum(counted.rows.values()) == sum(counted.nodes.values()) == counted.total


def test_unknown_preset_is_an_error():
    with pytest.raises(ValueError, match="unknown convention"):
        conventions.get("flopsy")


def test_table_convention_option_prints_the_tool_total():
    runner = CliRunner()
    result = runner.invoke(cli, ["table", "resnet50:torchvision", "--convention", "ptflops",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["convention"]["name"] == "ptflops"
    assert data["total"]["count"] == data["convention"]["total"] == 4_132_436_968
    assert sum(rec["count"] for rec in data["layers"]) == 4_132_436_968
    assert data["total"]["macs"] == R50_MACS  # archcost's own columns are unchanged
    text = runner.invoke(cli, ["table", "resnet50:torchvision", "--convention", "ptflops"])
    assert "ptflops MACs" in text.output and "4,132,436,968" in text.output


def test_table_without_convention_is_unchanged():
    data = json.loads(CliRunner().invoke(cli, ["table", "googlenet", "--format", "json"]).output)
    assert "convention" not in data and "count" not in data["total"]


# ---------------------------------------------------------------- torch, beyond the CNNs


def test_torch_preset_against_flop_counter_mode_on_an_independent_vit():
    """torch's own FlopCounterMode (autograd on) on torchvision's ViT-B/16 as written out in
    benchmarks/_torch_models.py (nn.MultiheadAttention, LayerNorm, GELU), against the preset
    on archcost's vit_b_16:torchvision: every attention, layernorm and reshape has a rule. On
    CPU, scaled_dot_product_attention has no formula: the count is 2 x MACs less QK^T and AV
    (2 x 197^2 x 768 per layer, 12 layers), which the test states apart."""
    torch = pytest.importorskip("torch")
    import os
    import sys

    from torch.utils.flop_counter import FlopCounterMode

    from .conftest import ROOT

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import _torch_models as TM
    finally:
        sys.path.pop(0)
    model = TM.build("vit_b_16")
    with FlopCounterMode(display=False) as counter:
        model(torch.randn(1, 3, 224, 224))
    net = build("vit_b_16:torchvision")
    got = conventions.totals(net, "torch")
    assert got["unknown_ops"] == [] and got["count"] == counter.get_total_flops()
    assert got["count"] == 2 * net.total("macs") - 2 * 12 * 2 * 197**2 * 768


def test_torch_preset_for_recurrent_layers_against_flop_counter_mode():
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from archcost.spec import build_text

    for kind, module in (("gru", nn.GRU(8, 16, batch_first=True)),
                         ("lstm", nn.LSTM(8, 16, batch_first=True))):  # fmt: skip
        with FlopCounterMode(display=False) as counter:
            module(torch.randn(1, 5, 8))
        net = build_text(f"input: {{tokens: [5, 8]}}\nlayers:\n  - r: {{type: {kind}, "
                         f"hidden: 16}}\n")  # fmt: skip
        assert conventions.totals(net, "torch")["count"] == counter.get_total_flops(), kind

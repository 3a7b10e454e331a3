"""The modern zoo of issue 12: EfficientNet, EfficientNetV2, DenseNet, MNASNet, RegNet, ...

Oracles: torchvision's documented parameter counts and GFLOPS (``num_params`` and ``_ops`` in
the weights' meta of torchvision/models/*.py, shown as "num_params" and "GFLOPS" on
pytorch.org/vision/stable/models; torchvision's GFLOPS are multiply-accumulates, so they are
compared with archcost's MACs / 1e9 at two decimals), and block costs worked out by hand in
the comments next to them. No number here is copied from archcost's output.
"""

from __future__ import annotations

import pytest

from archcost.spec import build

# (network, torchvision num_params, torchvision _ops: GFLOPS as printed in the source, to up to
# three decimals; the docs show them rounded to two)
TORCHVISION = [
    # torchvision/models/efficientnet.py, EfficientNet_B*_Weights.IMAGENET1K_V1 meta
    ("efficientnet_b0", 5_288_548, "0.386"),
    ("efficientnet_b1", 7_794_184, "0.687"),
    ("efficientnet_b2:torchvision", 9_109_994, "1.088"),  # _ops 1.088, at its 288 crop
    ("efficientnet_b3", 12_233_232, "1.827"),
    ("efficientnet_b4", 19_341_616, "4.394"),
    ("efficientnet_b5", 30_389_784, "10.266"),
    ("efficientnet_b6", 43_040_704, "19.068"),
    ("efficientnet_b7", 66_347_960, "37.746"),
    # EfficientNet_V2_*_Weights.IMAGENET1K_V1 meta (_ops 8.366, 24.582, 56.08)
    ("efficientnet_v2_s", 21_458_488, "8.366"),
    ("efficientnet_v2_m", 54_139_356, "24.582"),
    ("efficientnet_v2_l", 118_515_272, "56.08"),
    # torchvision/models/densenet.py (_ops 2.834, 7.728, 3.36, 4.291)
    ("densenet121", 7_978_856, "2.834"),
    ("densenet161", 28_681_000, "7.728"),
    ("densenet169", 14_149_480, "3.36"),
    ("densenet201", 20_013_928, "4.291"),
    # torchvision/models/mnasnet.py (_ops 0.104, 0.215, 0.314, 0.526)
    ("mnasnet0_5", 2_218_512, "0.104"),
    ("mnasnet0_75", 3_170_208, "0.215"),
    ("mnasnet1_0", 4_383_312, "0.314"),
    ("mnasnet1_3", 6_282_256, "0.526"),
    # torchvision/models/regnet.py (_ops 0.402, 0.414)
    ("regnet_y_400mf", 4_344_144, "0.402"),
    ("regnet_x_400mf:torchvision", 5_495_976, "0.414"),  # stage 4: 400, not 384
    # torchvision/models/shufflenetv2.py (_ops 0.04, 0.145, 0.296, 0.583)
    ("shufflenet_v2_x0_5", 1_366_792, "0.04"),
    ("shufflenet_v2_x1_0", 2_278_604, "0.145"),
    ("shufflenet_v2_x1_5", 3_503_624, "0.296"),
    ("shufflenet_v2_x2_0", 7_393_996, "0.583"),
    # torchvision/models/vision_transformer.py (vit_h_14: IMAGENET1K_SWAG_LINEAR_V1, at 224)
    ("vit_b_16", 86_567_656, "17.564"),
    ("vit_b_32", 88_224_232, "4.409"),
    ("vit_l_16", 304_326_632, "61.555"),
    ("vit_l_32", 306_535_400, "15.378"),
    ("vit_h_14", 632_045_800, "167.295"),
    # torchvision/models/convnext.py
    ("convnext_tiny", 28_589_128, "4.456"),
    ("convnext_small", 50_223_688, "8.684"),
    ("convnext_base", 88_591_464, "15.355"),
    ("convnext_large", 197_767_336, "34.361"),
    # torchvision/models/swin_transformer.py
    ("swin_t", 28_288_354, "4.491"),
    ("swin_s", 49_606_258, "8.741"),
    ("swin_b", 87_768_224, "15.431"),
]


@pytest.mark.parametrize("name, params, gflops", TORCHVISION, ids=[t[0] for t in TORCHVISION])
def test_torchvision_published_counts(name, params, gflops):
    totals = build(name).totals()
    assert totals["params"] == params
    decimals = len(gflops.split(".")[1])
    assert f"{totals['macs'] / 1e9:.{decimals}f}" == gflops


@pytest.mark.parametrize("name", sorted({t[0].split(":")[0] for t in TORCHVISION}))
def test_torchvision_variant_exists_and_keeps_the_params(name):
    net = build(name + ":torchvision")
    if name != "regnet_x_400mf":  # the one whose torchvision layout differs (stage 4 width)
        assert net.total("params") == build(name).total("params")
    assert net.meta.get("family")


# ---------------------------------------------------------------- EfficientNet


def test_efficientnet_mbconv1_block_by_hand():
    # B0 stage 2: MBConv1, k3x3, 32 -> 16 channels on 112x112, stride 1, t = 1 (no expansion).
    row = build("efficientnet_b0").row("stage 2 MBConv1, k3x3")
    assert row.shape == (16, 112, 112)
    # depthwise 3x3 on 32 channels: 9*32 = 288, BN 64; SE squeeze = 32 // 4 = 8:
    # fc1 32*8 + 8 = 264, fc2 8*32 + 32 = 288; project 32*16 = 512, BN 32.
    assert row.params == 288 + 64 + 264 + 288 + 512 + 32 == 1448
    # MACs: 9*32*112*112 = 3,612,672; SE 256 + 256 on a 1x1 map; 512*112*112 = 6,422,528.
    assert row.macs == 3_612_672 + 512 + 6_422_528 == 10_035_712


def test_efficientnet_phi_picks_the_published_scaling():
    # phi = 4 is B4: width 1.4, depth 1.8, resolution 380. Stem: make_divisible(32*1.4 = 44.8)
    # = 48 channels at 190x190 (stride 2, padding 1: (380 + 2 - 3) // 2 + 1 = 190).
    net = build("efficientnet_b0", {"phi": 4})
    assert net.input.shape == (3, 380, 380)
    assert net.rows[0].shape == (48, 190, 190)
    # stage 3 has ceil(2 * 1.8) = 4 layers; stage 7 ceil(4 * 1.8) = 8.
    assert net.total("params") == build("efficientnet_b4").total("params") == 19_341_616


def test_efficientnet_scaled_variant_is_b0_at_unit_scaling():
    assert build("efficientnet_b0:scaled").totals() == build("efficientnet_b0").totals()


def test_fused_mbconv_by_hand():
    # V2-S stage 2's first block: Fused-MBConv4, k3x3, 24 -> 48 at stride 2 on 192x192:
    # 3x3 conv 24 -> 96 (9*24*96 = 20,736, BN 192) to 96x96, 1x1 96 -> 48 (4,608, BN 96).
    net = build("efficientnet_v2_s")
    first = [n for n in net.row("stage 2 Fused-MBConv4, k3x3").nodes if n.op == "conv"][:2]
    assert [n.params for n in first] == [20_736, 4_608]
    assert [n.macs for n in first] == [20_736 * 96 * 96, 4_608 * 96 * 96]


# ---------------------------------------------------------------- DenseNet


def test_dense_layer_by_hand():
    # DenseNet-121's first dense layer on 56x56x64, growth k = 32, bottleneck 4k = 128:
    # BN 2*64, conv 1x1 64*128 = 8,192, BN 2*128, conv 3x3 9*128*32 = 36,864.
    net = build("densenet121")
    block = net.row("dense block (1)")
    layer = [n for n in block.nodes if n.id.startswith(block.nodes[0].id.rsplit("/", 1)[0])]
    assert sum(n.params for n in layer) == 128 + 8192 + 256 + 36_864 == 45_440
    # 6 layers: 64 + 6*32 = 256 channels; the transition halves them and pools: 28x28x128.
    assert block.shape == (256, 56, 56)
    assert net.row("transition layer (1)").shape == (128, 28, 28)
    # first layer's MACs: 56*56*(8,192 + 36,864) = 3,136 * 45,056 = 141,295,616
    assert sum(n.macs for n in layer) == 141_295_616


def test_densenet_161_has_growth_48():
    net = build("densenet161")
    assert net.rows[0].shape == (96, 112, 112)
    # dense block (4): 2208 channels at the end (torchvision's classifier is Linear(2208, 1000))
    assert net.row("dense block (4)").shape == (2208, 7, 7)


# ---------------------------------------------------------------- MNASNet and RegNet


def test_mnasnet_alpha_rounds_channels():
    # alpha 0.5: 32 -> 16, 16 -> 8, 24 -> 16 (12 rounds to 16), 320 -> 160; last conv 1280.
    net = build("mnasnet0_5")
    assert net.rows[0].shape[0] == 16
    assert net.row("SepConv, k3x3 pw").shape[0] == 8
    assert net.row("MBConv3, k3x3").shape[0] == 16
    assert net.row("Conv1x1").shape == (1280, 7, 7)


def test_regnet_y_block_by_hand():
    # RegNetY-400MF stage 1: one block 32 -> 48 at stride 2 on 112x112, group width 8 (6 groups),
    # SE squeeze round(0.25 * 32) = 8.
    row = build("regnet_y_400mf").row("stage 1")
    # a 1x1 32*48 = 1,536 (+96 BN); b 3x3 grouped 9*8*48 = 3,456 (+96); SE 48*8+8 = 392 and
    # 8*48+48 = 432; c 1x1 48*48 = 2,304 (+96); projection 32*48 = 1,536 (+96).
    assert row.params == 1536 + 96 + 3456 + 96 + 392 + 432 + 2304 + 96 + 1536 + 96 == 10_040
    assert row.shape == (48, 56, 56)


def test_shufflenet_v2_units_by_hand():
    net = build("shufflenet_v2_x1_0")
    stage = net.row("Stage2")
    assert stage.shape == (116, 28, 28)
    convs = [n for n in stage.nodes if n.op == "conv"]
    # first unit (stride 2) on 56x56x24, 58 channels per branch:
    # left: dw 9*24 = 216 (28x28), 1x1 24*58 = 1,392; right: 1x1 24*58 = 1,392 (56x56),
    # dw 9*58 = 522 (28x28), 1x1 58*58 = 3,364.
    assert [n.params for n in convs[:5]] == [216, 1392, 1392, 522, 3364]
    assert [n.macs for n in convs[:5]] == [216 * 784, 1392 * 784, 1392 * 3136, 522 * 784,
                                           3364 * 784]  # fmt: skip
    # the stride-1 units split 116 channels: the right half (58) goes through 58*58, 9*58,
    # 58*58; the left half passes through.
    assert [n.params for n in convs[5:8]] == [3364, 522, 3364]
    ops = [n.op for n in stage.nodes]
    assert ops.count("channel_shuffle") == 4 and ops.count("chunk") == 6


# ---------------------------------------------------------------- Vision Transformer


def test_vit_b_16_by_hand():
    d, m, n_layers, tokens = 768, 3072, 12, 197  # Table 1: ViT-Base; 14*14 patches + class
    net = build("vit_b_16")
    # Eq. 1: embedding 16*16*3 = 768 -> 768 with bias; class token; position embedding.
    embed = 768 * d + d
    per_layer = (4 * d * d + 4 * d) + (d * m + m + m * d + d) + 2 * (2 * d)
    head = d * 1000 + 1000
    assert net.total("params") == embed + d + tokens * d + n_layers * per_layer + 2 * d + head
    # MACs: 196 patches embedded; per layer 4*L*D^2 projections + 2*L^2*D for QK^T and AV +
    # 2*L*D*M for the MLP; the head sees the class token only.
    attn_products = n_layers * 2 * tokens * tokens * d
    projections = n_layers * 4 * tokens * d * d
    assert attn_products == 715_327_488  # the QK^T + AV share of torchvision's 17.56 G
    assert projections == 5_577_375_744  # and the projections nn.MultiheadAttention hides
    macs = 196 * 768 * d + projections + attn_products + n_layers * 2 * tokens * d * m + d * 1000
    assert net.total("macs") == macs == 17_563_828_224
    assert net.row("encoder").shape == (tokens, d)


# ---------------------------------------------------------------- ConvNeXt


def test_convnext_block_by_hand():
    # ConvNeXt-T stage res2: 3 blocks of C = 96 on 56x56. One block: dw 7x7 49*96 + 96,
    # LN 2*96, Linear 96 -> 384 (+384), Linear 384 -> 96 (+96), gamma 96 = 8*C^2 + 58*C.
    c, hw = 96, 56 * 56
    per_block = 49 * c + c + 2 * c + (c * 4 * c + 4 * c) + (4 * c * c + c) + c
    assert per_block == 8 * c * c + 58 * c == 79_296
    row = build("convnext_tiny").row("res2")
    assert row.params == 3 * per_block
    # MACs per block: 49*C per position (depthwise) + 8*C^2 per position (the two linears).
    assert row.macs == 3 * hw * (49 * c + 8 * c * c)
    assert row.shape == (c, 56, 56)


# ---------------------------------------------------------------- Swin


def test_swin_t_stage_1_by_hand():
    # Stage 1: two blocks (W-MSA, SW-MSA) on 56x56 positions of C = 96, 3 heads, window 7.
    c, heads, w, hw = 96, 3, 7, 56 * 56
    attn = 4 * c * c + 4 * c + (2 * w - 1) ** 2 * heads  # qkv, proj, bias table 13*13*3
    mlp = c * 4 * c + 4 * c + 4 * c * c + c
    block = attn + mlp + 2 * (2 * c)
    row = build("swin_t").row("stage 1")
    assert row.params == 2 * block == 224_694
    # MACs per block: projections 4*HW*C^2, QK^T and AV 2*HW*w^2*C (64 windows of 49 tokens
    # each: 64 * 2 * 49 * 49 * 96), MLP 8*HW*C^2.
    assert row.macs == 2 * (4 * hw * c * c + 2 * hw * w * w * c + 8 * hw * c * c)
    # patch merging 2: 4C = 384 -> LN 768 params, linear 384 -> 192 without bias.
    assert build("swin_t").row("patch merging 2").params == 2 * 384 + 384 * 192


# ---------------------------------------------------------------- GPT-2


@pytest.mark.parametrize("name, layers, d", [("gpt2", 12, 768), ("gpt2_medium", 24, 1024)])
def test_gpt2_by_hand(name, layers, d):
    vocab, n_ctx, seq = 50_257, 1024, 1024
    per_layer = (4 * d * d + 4 * d) + (d * 4 * d + 4 * d + 4 * d * d + d) + 2 * (2 * d)
    params = vocab * d + n_ctx * d + layers * per_layer + 2 * d  # head tied to wte: no params
    net = build(name)
    assert net.total("params") == params
    # per layer: projections 4*L*D^2, QK^T and AV 2*L^2*D (dense, causal masks nothing off),
    # MLP 8*L*D^2; the tied head still multiplies: L*D*vocab.
    macs = layers * (4 * seq * d * d + 2 * seq * seq * d + 8 * seq * d * d) + seq * d * vocab
    assert net.total("macs") == macs


def test_gpt2_124m_with_tied_embeddings():
    # The number, and the one HF transformers reports for GPT2LMHeadModel ("gpt2").
    assert build("gpt2").total("params") == 124_439_808
    # without tying, the head would add another vocab x 768 matrix
    untied = build("gpt2").row("lm head (tied to wte)")
    assert untied.params == 0 and untied.macs == 1024 * 768 * 50_257


def test_gpt2_seq_len_changes_macs_not_params():
    short, full = build("gpt2", {"seq_len": 128}), build("gpt2")
    assert short.total("params") == full.total("params")
    d, layers, vocab = 768, 12, 50_257
    assert short.total("macs") == layers * (12 * 128 * d * d + 2 * 128 * 128 * d) + 128 * d * vocab


# ---------------------------------------------------------------- M5 (1-D audio)


def test_m5_by_hand():
    net = build("m5")
    # 32,000 samples: conv 80/4 'same' -> 8,000; pools of 4 -> 2,000, 500, 125, 31.
    assert [net.row(r).shape for r in ("[80/4, 128]", "maxpool 4 (1)", "maxpool 4 (2)",
                                       "maxpool 4 (3)", "maxpool 4 (4)")] == [
        (128, 8000), (128, 2000), (256 // 2, 500), (256, 125), (512, 31)]  # fmt: skip
    kernels = 80 * 128 + 3 * 128 * 128 + 3 * 128 * 256 + 3 * 256 * 512 + 512 * 10
    assert kernels == 556_032  # Table 1's "0.5M", truncated
    biases = 128 + 128 + 256 + 512 + 10
    bn = 2 * (128 + 128 + 256 + 512)
    assert net.total("params") == kernels + biases + bn
    macs = 80 * 128 * 8000 + 3 * 128 * 128 * 2000 + 3 * 128 * 256 * 500 + 3 * 256 * 512 * 125
    assert net.total("macs") == macs + 5120


# ---------------------------------------------------------------- list, formula


def test_list_shows_the_new_families():
    import json

    from click.testing import CliRunner

    from archcost.cli import cli

    result = CliRunner().invoke(cli, ["list", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0
    family = {e["name"]: e["family"] for e in json.loads(result.output)["networks"]}
    expected = {"efficientnet_b0": "efficientnet", "efficientnet_v2_l": "efficientnet",
                "densenet201": "densenet", "shufflenet_v2_x2_0": "shufflenet",
                "mnasnet1_3": "mnasnet", "regnet_x_400mf": "regnet", "convnext_large": "convnext",
                "vit_h_14": "vit", "swin_b": "swin", "gpt2_xl": "gpt", "m5": "audio"}  # fmt: skip
    for name, fam in expected.items():
        assert family[name] == fam, name


def test_gpt2_formula_in_seq_len_has_the_attention_square():
    from click.testing import CliRunner

    from archcost.cli import cli

    result = CliRunner().invoke(cli, ["formula", "gpt2", "--in", "seq_len"],
                                catch_exceptions=False)  # fmt: skip
    # 12 layers x 2 * L^2 * 768 (QK^T and AV) = 18,432 L^2; per token 12 x 12 * 768^2
    # (projections and MLP) + 768 * 50,257 (the tied head) = 123,532,032.
    assert 12 * 2 * 768 == 18_432 and 12 * 12 * 768**2 + 768 * 50_257 == 123_532_032
    assert "MACs = 18432*seq_len**2 + 123532032*seq_len" in result.output
    assert "params = 124439808" in result.output


# ---------------------------------------------------------------- LSTM classifier


def test_lstm_classifier_by_hand():
    # CTC-3L-250H: 123 inputs, 3 bidirectional layers of H = 250, 62 outputs, 300 frames.
    h, i, steps = 250, 123, 300
    first = 2 * 4 * (h * i + h * h + 2 * h)  # two directions, two bias vectors (torch)
    deeper = 2 * 4 * (h * 2 * h + h * h + 2 * h)  # input is both directions' 500 features
    out = 2 * h * 62 + 62
    net = build("lstm_classifier")
    assert net.total("params") == first + 2 * deeper + out == 3_789_062
    # MACs: every step runs both matrix products in every layer and direction.
    macs = steps * (2 * 4 * (h * i + h * h) + 2 * 2 * 4 * (h * 2 * h + h * h)) + steps * 2 * h * 62
    assert net.total("macs") == macs
    assert net.rows[0].shape == (steps, 2 * h)


def test_regnet_x_400mf_paper_and_torchvision_round_392_differently():
    # pycls: round(392 / 16) * 16 = round(24.5) * 16 = 24 * 16 = 384 (ties to even);
    # torchvision _make_divisible: int(392 + 8) // 16 * 16 = 400.
    paper, tv = build("regnet_x_400mf"), build("regnet_x_400mf:torchvision")
    assert paper.row("stage 4").shape == (384, 7, 7) and tv.row("stage 4").shape == (400, 7, 7)
    # the difference is stage 4 and the head: 12 blocks of width 400 vs 384 (25 vs 24 groups of
    # 16) plus the projection from 160 and the FC.
    def block(w, c_in):  # 1x1 c_in -> w, 3x3 with 16 channels per group, 1x1 w -> w, 3 BNs
        return c_in * w + 9 * 16 * w + w * w + 3 * 2 * w

    def stage4(w):  # first block from 160 channels with its projection (+ BN), then 11 more
        return block(w, 160) + 11 * block(w, w) + 160 * w + 2 * w + w * 1000  # + the FC

    assert tv.total("params") - paper.total("params") == stage4(400) - stage4(384) == 338_464


def test_efficientnet_phi_outside_the_published_table_is_an_error():
    from archcost.errors import SpecError

    for phi in (8, 1.5, -1):
        with pytest.raises(SpecError, match="input must be at least 1"):
            build("efficientnet_b0", {"phi": phi})

"""MobileNet v1/v2/v3 specs: hand-computed block oracles, torchvision's published counts,
the v1 paper's width/resolution grid, and the published tables in specs/tables/mobilenet-*.yaml.

Every expected number below is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import textwrap
from fractions import Fraction

import pytest

from archcost.graph import QUANTITIES
from archcost.spec import build, builtin_names

from .conftest import static_totals, torch_totals

MOBILE_SPECS = ["mobilenet", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]
MOBILE_VARIANTS = [
    "mobilenet", "mobilenet:folded", "mobilenet:full", "mobilenet:shallow",
    "mobilenet_v2", "mobilenet_v2:torchvision",
    "mobilenet_v3_large", "mobilenet_v3_large:torchvision",
    "mobilenet_v3_small", "mobilenet_v3_small:torchvision",
]  # fmt: skip
TABLES = ["mobilenet-paper", "mobilenet-lecture"]


def spec_file(tmp_path, text: str) -> str:
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def nodes_under(net, prefix):
    return [n for n in net.nodes if n.id.startswith(prefix)]


# ---------------------------------------------------------------- block oracles


def test_depthwise_separable_block_oracle(tmp_path):
    # Input 56x56x32 (M = 32), one dw_separable block to N = 64 at stride 1, next to a full
    # 3x3 convolution 32 -> 64 on the same input, both without bias, with BN and ReLU.
    path = spec_file(
        tmp_path,
        """
        input: [32, 56, 56]
        defaults: {conv: {bias: false, bn: true, act: relu}}
        layers:
          - full: {type: conv, out: 64, k: 3, p: 1}
          - sep: {type: dw_separable, c: 64, in: input}
    """,
    )
    net = build(path)
    full, sep = net.row("full"), net.row("sep")
    assert sep.shape == full.shape == (64, 56, 56)
    # depthwise 3x3: 9*32 = 288 weights; pointwise 32*64 = 2,048; BN 2*32 + 2*64 = 192.
    assert sep.params == 288 + 2048 + 64 + 128 == 2528
    assert sep.bias == 0
    # MACs = D_K^2 * M * D_F^2 + M * N * D_F^2 = 9*32*3136 + 32*64*3136
    #      = 903,168 + 6,422,528 = 7,325,696.
    assert [n.macs for n in sep.nodes if n.op == "conv"] == [903_168, 6_422_528]
    assert sep.macs == 7_325_696
    # full 3x3 convolution: 9*32*64*3136 = 57,802,752 MACs.
    assert full.macs == 57_802_752
    # The paper's Eq. 5 / the lecture's ratio: separable / full = 1/N + 1/D_K^2 = 1/64 + 1/9.
    assert Fraction(sep.macs, full.macs) == Fraction(1, 64) + Fraction(1, 9) == Fraction(73, 576)
    # The same ratio holds for the kernels (BN aside): (288 + 2,048) / (9*32*64 = 18,432).
    kernels = [n.params for n in (*sep.nodes, *full.nodes) if n.op == "conv"]
    assert kernels == [288, 2048, 18_432]
    assert Fraction(288 + 2048, 18_432) == Fraction(73, 576)


def test_depthwise_separable_in_mobilenet_table1():
    # Table 1's first separable pair on 112x112x32: dw 3x3x32 then 1x1x32x64.
    net = build("mobilenet")
    row = net.row("dw separable (s1, 64)")
    assert row.shape == (64, 112, 112)
    # 9*32*12544 + 32*64*12544 = 3,612,672 + 25,690,112
    assert row.macs == 29_302_784
    assert row.params == 9 * 32 + 32 * 64 + 2 * 32 + 2 * 64 == 2528
    # the stride-2 one halves the map: 112 -> 56 (TF 'SAME': ceil(112 / 2)).
    assert net.row("dw separable (s2, 128)").shape == (128, 56, 56)


def test_inverted_residual_oracle(tmp_path):
    # MobileNetV2 bottleneck t = 6, c = 24 on 56x56x24 at stride 1 (bottleneck 2's second copy):
    # hidden = 24 * 6 = 144.
    path = spec_file(
        tmp_path,
        """
        input: [24, 56, 56]
        layers:
          - b: {type: inverted_residual, t: 6, c: 24}
          - b2: {type: inverted_residual, t: 6, c: 32, s: 2}
    """,
    )
    net = build(path)
    b = net.row("b")
    # expand 24*144 = 3,456 (+ BN 288); depthwise 9*144 = 1,296 (+ BN 288);
    # project 144*24 = 3,456 (+ BN 48): 8,832 params.
    assert b.params == 3456 + 288 + 1296 + 288 + 3456 + 48 == 8832
    # MACs = 3136 * (3,456 + 1,296 + 3,456) = 3136 * 8,208 = 25,740,288.
    assert b.macs == 25_740_288
    assert [n.op for n in b.nodes] == ["conv", "bn", "relu6", "conv", "bn", "relu6", "conv",
                                       "bn", "add"]  # fmt: skip
    add = b.nodes[-1]
    assert add.ops == 24 * 56 * 56  # one add per element: 75,264
    assert b.shape == (24, 56, 56)
    # stride 2 and 24 -> 32 channels: no residual, the map halves, hidden = 144 again.
    b2 = net.row("b2")
    assert "add" not in [n.op for n in b2.nodes]
    assert b2.shape == (32, 28, 28)
    # expand 24*144 = 3,456 at 56x56; dw 9*144 = 1,296 and project 144*32 = 4,608 at 28x28:
    # 3,456*3136 + (1,296 + 4,608)*784 = 10,838,016 + 4,628,736 = 15,466,752.
    assert b2.macs == 15_466_752


def test_inverted_residual_t1_has_no_expansion_and_same_as_network_row():
    net = build("mobilenet_v2")
    first = net.row("bottleneck 1")  # t = 1, 32 -> 16 at 112x112
    assert [n.op for n in first.nodes if n.op == "conv"] == ["conv", "conv"]
    # dw 9*32 = 288 + BN 64; project 32*16 = 512 + BN 32 = 896
    assert first.params == 896
    # bottleneck 2 = first copy (16 -> 24, s2, hidden 96) + second copy (the oracle above):
    # first copy: 16*96 + 192 + 9*96 + 192 + 96*24 + 48 = 5,136; 5,136 + 8,832 = 13,968.
    row = net.row("bottleneck 2")
    assert sum(n.params for n in nodes_under(net, "bottleneck 2.2/")) == 8832
    assert row.params == 13_968
    assert net.row("bottleneck 2").nodes[-1].op == "add"  # the residual of the second copy
    assert not [n for n in nodes_under(net, "bottleneck 2.1/") if n.op == "add"]


def test_bneck_with_se_oracle():
    # MobileNetV3-Large, Table 1's "bneck, 5x5 | 120 | 40 | SE | RE | 1" on 28x28x40.
    net = build("mobilenet_v3_large")
    row = net.row("bneck 5x5 #2")
    assert row.shape == (40, 28, 28)
    # SE squeeze = make_divisible(120 // 4, 8) = make_divisible(30, 8) = 32.
    fc1, fc2 = [n for n in row.nodes if n.id.endswith(("/fc1", "/fc2"))]
    assert fc1.shape == (32, 1, 1) and fc2.shape == (120, 1, 1)
    # expand 40*120 = 4,800 + BN 240; dw 25*120 = 3,000 + BN 240;
    # SE fc1 120*32 + 32 = 3,872, fc2 32*120 + 120 = 3,960; project 120*40 = 4,800 + BN 80.
    assert row.params == 4800 + 240 + 3000 + 240 + 3872 + 3960 + 4800 + 80 == 20_992
    assert row.bias == 32 + 120
    # MACs = 784 * (4,800 + 3,000 + 4,800) + 3,840 + 3,840 = 9,878,400 + 7,680 = 9,886,080.
    assert row.macs == 9_886_080
    ops = [n.op for n in row.nodes]
    assert ops == ["conv", "bn", "relu", "conv", "bn", "relu", "global_avgpool", "conv", "relu",
                   "conv", "hardsigmoid", "scale", "conv", "bn", "add"]  # fmt: skip
    # the gate multiplies every element of the 28x28x120 map once.
    assert [n.ops for n in row.nodes if n.op == "scale"] == [120 * 28 * 28]
    # Table 1's first bneck has exp 16 = in 16: no expansion conv, no SE, residual.
    first = net.row("bneck 3x3")
    assert [n.op for n in first.nodes] == ["conv", "bn", "relu", "conv", "bn", "add"]


def test_v3_small_first_bneck_se_without_expansion():
    # Table 2's "bneck, 3x3 | 16 | 16 | SE | RE | 2" on 112x112x16: dw 9*16 = 144 + BN 32,
    # SE squeeze make_divisible(4, 8) = 8: 16*8 + 8 + 8*16 + 16 = 280, project 256 + BN 32.
    row = build("mobilenet_v3_small").row("bneck 3x3")
    assert row.shape == (16, 56, 56)
    assert row.params == 144 + 32 + 280 + 256 + 32 == 744
    assert "add" not in [n.op for n in row.nodes]  # stride 2: no residual


# ---------------------------------------------------------------- torchvision


@pytest.mark.parametrize(
    "name, params, gflops",
    [
        # torchvision's model docs: num_params and GFLOPS (MACs, 2 decimals).
        ("mobilenet_v2:torchvision", 3_504_872, "0.30"),
        ("mobilenet_v3_large:torchvision", 5_483_032, "0.22"),
        ("mobilenet_v3_small:torchvision", 2_542_856, "0.06"),
    ],
)
def test_torchvision_published_counts(name, params, gflops):
    totals = build(name).totals()
    assert totals["params"] == params
    assert f"{totals['macs'] / 1e9:.2f}" == gflops


def test_torchvision_variants_are_aliases_of_the_papers():
    for name in ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"):
        assert build(name).totals() == build(name + ":torchvision").totals()


def test_exact_totals_at_224():
    # torch's totals at 224 (benchmarks/verify_full.py: numel, FlopCounterMode / 2, output
    # numel of a module built from the spec's fields), not archcost's own output
    for name in ("mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mobilenet"):
        assert static_totals(build(name)) == torch_totals(name), name
    # v1: conv and FC kernels 4,209,088 + FC bias 1,000 + BN scale/shift 2 x 10,944 channels
    # = 4,231,976 params (Keras' MobileNet(alpha=1) reports the same number of trainable
    # params); the BN running statistics, another 21,888, are buffers.
    t = build("mobilenet").totals()
    assert t["params"] == 4_209_088 + 1000 + 21_888 == 4_231_976
    assert t["buffers"] == 21_888


def test_v2_width_multiplier_keeps_last_conv_at_1280():
    # make_divisible(1280 * max(1, 0.5), 8) = 1280; the first conv make_divisible(16, 8) = 16.
    net = build("mobilenet_v2", params={"alpha": Fraction(1, 2)})
    assert net.row("conv2d 1x1").shape[0] == 1280
    assert net.row("conv2d 3x3").shape[0] == 16
    # bottleneck 1: make_divisible(16 * 0.5, 8) = 8; bottleneck 7: make_divisible(160, 8) = 160.
    assert net.row("bottleneck 1").shape[0] == 8
    assert net.row("bottleneck 7").shape[0] == 160
    # and at 1.4 it widens: make_divisible(1792, 8) = 1792.
    assert build("mobilenet_v2", params={"alpha": 1.4}).row("conv2d 1x1").shape[0] == 1792


# ---------------------------------------------------------------- every spec builds, rows add up


@pytest.mark.parametrize("name", MOBILE_VARIANTS)
@pytest.mark.parametrize("setting", [{}, {"alpha": Fraction(1, 2), "resolution": 160},
                                     {"alpha": 0.75, "resolution": 192}])  # fmt: skip
def test_builds_and_totals_equal_sum_of_rows(name, setting):
    net = build(name, params=setting)
    for q in QUANTITIES:
        assert net.total(q) == sum(getattr(r, q) for r in net.rows), q
    assert net.output_shape == (1000,)
    assert all(type(net.total(q)) is int for q in QUANTITIES)


def test_all_mobile_specs_and_variants_listed():
    assert set(MOBILE_SPECS) <= set(builtin_names())
    assert {v for v in MOBILE_VARIANTS if ":" in v} == {
        f"{s}:{v}" for s in MOBILE_SPECS for v in build(s).meta["variants"]
    }


def test_param_types_give_identical_networks():
    # Fraction, float and int (and a float that is not a binary fraction) all mean the same.
    ref = build("mobilenet", params={"alpha": Fraction(3, 4), "resolution": 192}).totals()
    assert build("mobilenet", params={"alpha": 0.75, "resolution": 192}).totals() == ref
    assert build("mobilenet", params={"alpha": "3/4", "resolution": 192}).totals() == ref
    a = build("mobilenet", params={"alpha": 0.1}).totals()
    assert a == build("mobilenet", params={"alpha": Fraction(1, 10)}).totals()


def test_mobilenet_width_rounding_truncates_with_minimum_8():
    # int(0.3 * 32) = 9 (9.6 truncated), int(0.3 * 64) = 19; at 0.1: int(3.2) -> minimum 8.
    net = build("mobilenet", params={"alpha": Fraction(3, 10)})
    assert net.row("conv/s2").shape[0] == 9
    assert net.row("dw separable (s1, 64)").shape[0] == 19
    net = build("mobilenet", params={"alpha": Fraction(1, 10)})
    assert net.row("conv/s2").shape[0] == 8
    assert net.row("dw separable (s1, 64)").shape[0] == 8
    assert net.row("dw separable (s1, 1024)").shape[0] == 102


# ---------------------------------------------------------------- the v1 paper


def test_mobilenet_half_width_160_reproduces_paper():
    # 0.5 MobileNet-160 (Table 8/9): 76 M mult-adds (see below), 1.32 M parameters.
    net = build("mobilenet", params={"alpha": Fraction(1, 2), "resolution": 160})
    folded = build("mobilenet:folded", params={"alpha": Fraction(1, 2), "resolution": 160})
    assert net.row("conv/s2").shape == (16, 80, 80)
    assert net.output_shape == (1000,) and net.row("dw separable (s1, 1024)").shape == (512, 5, 5)
    # kernels: 1,319,648 (1.32 M); with BN scale/shift (2 x 5,472 channels) 1,330,592.
    assert folded.total("weights") == 1_319_648
    assert net.total("weights") == 1_319_648 + 10_944
    assert round(folded.total("weights") / 1e6, 2) == 1.32
    # folding BN changes no multiply.
    assert folded.total("macs") == net.total("macs") == 76_524_800
    # the paper's 76 is the 224 count scaled by (160/224)^2; the FC (512*1000) does not scale:
    at224 = build("mobilenet", params={"alpha": Fraction(1, 2)}).total("macs")
    assert at224 == 149_497_088
    fc = 512 * 1000
    assert (at224 - fc) * Fraction(160, 224) ** 2 + fc == 76_524_800
    assert round(at224 * Fraction(160, 224) ** 2 / 10**6) == 76


@pytest.mark.parametrize(
    "alpha, resolution, mmacs, mparams",
    [
        # Table 6 (width multiplier at 224) and Table 7 (resolution at alpha 1); the printed
        # 290 for 1.0-160 is an erratum (see specs/tables/mobilenet-paper.yaml): 291 here.
        (1, 224, 569, "4.2"), (0.75, 224, 325, "2.6"), (0.5, 224, 149, "1.3"),
        (0.25, 224, 41, "0.5"), (1, 192, 418, "4.2"), (1, 160, 291, "4.2"), (1, 128, 186, "4.2"),
    ],
)  # fmt: skip
def test_mobilenet_paper_grid(alpha, resolution, mmacs, mparams):
    net = build("mobilenet:folded", params={"alpha": alpha, "resolution": resolution})
    assert round(Fraction(net.total("macs"), 10**6)) == mmacs
    assert f"{net.total('weights') / 1e6:.1f}" == mparams

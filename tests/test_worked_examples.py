"""The lectures' Inception worked examples, built through archcost from
specs/tables/nets/*.yaml (the networks of the inception-walkthrough table).

Sources: /work/shared/seeds/001_*.txt ("Features of GoogleNet": the 1x1 bottleneck on
14x14x480) and 002_*.txt ("Inception Blocks": the walk-through on 28x28x192).

Conventions of the printed numbers, one rule for every total (no rule chosen per cell):
- "Params" are weights only, no biases (every term is k*k*C_in*C_out); the specs have no biases.
- "FLOPS" are multiply-accumulates (every term is H*W*k*k*C_in*C_out): archcost's MACs.
- K = 1000, M = 10**6, rounded to nearest (half up) at the printed significant figures: the
  trailing zeros of a whole number are not significant, so 540K and 170K are counts to the
  ten thousand. This reproduces 112.9M, 5.3M, 540K, 1.2M, 963M, 170K and 133M; the one total
  it does not is 423M (423,886,848 rounds to 424M: the slide truncated it), an erratum of
  specs/tables/inception-walkthrough.yaml.
- The 159K of the pool-projection slide is GoogLeNet Table 1's inception (3a) cell, in that
  table's own convention (K = 1024, truncated): 163,328 / 1024 = 159.5.
- The pool-projection slide's FLOPS formula includes a pooling term 9*28*28*192 = 1,354,752,
  but its printed 128M leaves it out: the convolutions alone give 128,049,152 (128M), with the
  term 129,403,904 (129M). archcost keeps pooling out of MACs altogether (in `ops`, as
  k*k - 1 = 8 comparisons per output element: 8*28*28*192 = 1,204,224).

The arithmetic here is by hand, independent of archcost/tables.py, which applies the same
conventions to the table file (tests/test_tables.py checks that file).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import pytest

from archcost.spec import build

SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "specs",
                     "tables", "nets")
K, K2, M = 1000, 1024, 10**6


def spec(name):
    return os.path.join(SPECS, name)


def shown(value, unit, text):
    """value / unit, rounded half up at the significant figures printed in `text`."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    step = Fraction(1, 10**decimals)
    if decimals == 0:
        step = Fraction(10 ** (len(text) - len(text.rstrip("0"))))
    return math.floor(Fraction(value, unit) / step + Fraction(1, 2)) * step


def check(value, unit, text):
    assert shown(value, unit, text) == Fraction(text), (value, unit, text)


def node_costs(net):
    return {n.id: (n.params, n.macs) for n in net.nodes if n.op == "conv"}


@pytest.fixture(params=["conv5x5_14x14x480.yaml", "conv5x5_14x14x480.yaml:reduced",
                        "inception_naive.yaml", "inception_single_5x5.yaml",
                        "inception_bottleneck.yaml", "inception_bottleneck.yaml:pool_projection"])
def any_example(request):  # fmt: skip
    return build(spec(request.param))


def test_examples_build_without_biases_and_sum_up(any_example):
    net = any_example
    assert net.total("bias") == 0
    assert net.total("params") == net.total("weights")
    for q in ("params", "macs", "ops", "activations"):
        assert net.total(q) == sum(getattr(r, q) for r in net.rows)


# ------------------------------------------------------------------ seed 001


def test_5x5_on_14x14x480_is_112_9M():
    # (14x14x48) x (5x5x480) = 196*48*12,000 = 112,896,000 -> 112.9M
    net = build(spec("conv5x5_14x14x480.yaml"))
    assert net.output_shape == (48, 14, 14)
    assert net.total("macs") == (14 * 14 * 48) * (5 * 5 * 480) == 112_896_000
    check(net.total("macs"), M, "112.9")


def test_1x1_reduction_to_16_is_5_3M():
    # (14x14x16) x (1x1x480) + (14x14x48) x (5x5x16) = 1,505,280 + 3,763,200 = 5,268,480 -> 5.3M
    net = build(spec("conv5x5_14x14x480.yaml:reduced"))
    assert node_costs(net) == {"1x1 conv": (480 * 16, 14 * 14 * 16 * 480),
                               "5x5 conv": (25 * 16 * 48, 14 * 14 * 48 * 25 * 16)}  # fmt: skip
    assert net.total("macs") == 1_505_280 + 3_763_200 == 5_268_480
    check(net.total("macs"), M, "5.3")


# ------------------------------------------------------------------ seed 002, 28x28x192


def test_naive_block_540K_423M():
    # Params 192x64 + 9x192x128 + 25x192x64 = 12,288 + 221,184 + 307,200 = 540,672
    # FLOPS  28x28x(the same) = 784 * 540,672 = 423,886,848
    net = build(spec("inception_naive.yaml"))
    assert net.output_shape == (256, 28, 28)
    assert node_costs(net) == {
        "inception/1x1": (192 * 64, 28 * 28 * 192 * 64),
        "inception/3x3": (9 * 192 * 128, 9 * 28 * 28 * 192 * 128),
        "inception/5x5": (25 * 192 * 64, 25 * 28 * 28 * 192 * 64),
    }
    params, macs = net.total("params"), net.total("macs")
    assert (params, macs) == (540_672, 423_886_848)
    check(params, K, "540")  # 540.672K to the ten thousand
    # 423.887M: the printed 423M is truncated, the one total the rule does not reproduce
    assert shown(macs, M, "423") == 424 and math.floor(Fraction(macs, M)) == 423


def test_single_5x5_1_2M_963M():
    # Params 25*192x256 = 1,228,800 -> 1.2M; FLOPS 25*28x28x192x256 = 963,379,200 -> 963M
    net = build(spec("inception_single_5x5.yaml"))
    assert net.output_shape == (256, 28, 28)  # the same output as the naive block
    params, macs = net.total("params"), net.total("macs")
    assert (params, macs) == (25 * 192 * 256, 25 * 28 * 28 * 192 * 256) == (1_228_800, 963_379_200)
    check(params, M, "1.2")
    check(macs, M, "963")


def test_bottleneck_block_170K_133M():
    # Params 192x64 + (192x96 + 9x96x128) + (192x16 + 25x16x64)
    #      = 12,288 + 18,432 + 110,592 + 3,072 + 25,600 = 169,984
    # FLOPS 28x28x(the same) = 784 * 169,984 = 133,267,456
    net = build(spec("inception_bottleneck.yaml"))
    assert net.output_shape == (256, 28, 28)
    assert node_costs(net) == {
        "inception/1x1": (192 * 64, 28 * 28 * 192 * 64),
        "inception/3x3 reduce": (192 * 96, 28 * 28 * 192 * 96),
        "inception/3x3": (9 * 96 * 128, 9 * 28 * 28 * 96 * 128),
        "inception/5x5 reduce": (192 * 16, 28 * 28 * 192 * 16),
        "inception/5x5": (25 * 16 * 64, 25 * 28 * 28 * 16 * 64),
    }
    params, macs = net.total("params"), net.total("macs")
    assert (params, macs) == (169_984, 133_267_456)
    check(params, K, "170")  # 169.984K
    check(macs, M, "133")


def test_pool_projection_block_159K_128M():
    # Params 192x64 + 192x96 + 9x96x128 + 192x16 + 25x16x32 + 192x32
    #      = 12,288 + 18,432 + 110,592 + 3,072 + 12,800 + 6,144 = 163,328
    # 163,328 / 1024 = 159.5 -> "159K" (K = 1024, truncated; GoogLeNet Table 1, inception (3a));
    # 163,328 / 1000 = 163.3 -> it is not K = 1000.
    # FLOPS (convolutions) 784 * 163,328 = 128,049,152 -> 128M
    net = build(spec("inception_bottleneck.yaml:pool_projection"))
    assert net.output_shape == (256, 28, 28)
    params, macs = net.total("params"), net.total("macs")
    assert params == 12_288 + 18_432 + 110_592 + 3_072 + 12_800 + 6_144 == 163_328
    assert macs == 28 * 28 * params == 128_049_152
    assert Fraction(params, K2) == Fraction("159.5")  # Table 1: K = 1024, truncated -> 159K
    assert math.floor(Fraction(params, K2)) == 159
    assert shown(params, K, "159") == 163  # not K = 1000
    check(macs, M, "128")
    # The printed formula's pooling term, 9*28*28*192, is not in the printed 128M:
    pool_term = 9 * 28 * 28 * 192
    assert pool_term == 1_354_752
    assert shown(macs + pool_term, M, "128") == 129
    # archcost keeps the pool out of MACs: 8 comparisons per output element, in ops
    pool = next(n for n in net.nodes if n.op == "maxpool")
    assert pool.shape == (192, 28, 28) and pool.macs == 0
    assert pool.ops == net.total("ops") == 8 * 28 * 28 * 192


def test_pool_projection_is_googlenet_inception_3a():
    # The slide's block is Table 1's inception (3a): same weights and MACs as that row of the
    # googlenet spec (which has biases: 64+96+128+16+32+32 = 368 of them).
    block = build(spec("inception_bottleneck.yaml:pool_projection"))
    row = build("googlenet").row("inception (3a)")
    assert row.macs == block.total("macs")
    assert row.params - row.bias == block.total("params")
    assert row.bias == 64 + 96 + 128 + 16 + 32 + 32

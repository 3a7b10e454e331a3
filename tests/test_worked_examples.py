"""The lectures' Inception worked examples, built through archcost from tests/specs/*.yaml.

Sources: /work/shared/seeds/001_*.txt ("Features of GoogleNet": the 1x1 bottleneck on
14x14x480) and 002_*.txt ("Inception Blocks": the walk-through on 28x28x192).

Conventions of the printed numbers, as verified below:
- "Params" are weights only, no biases (every term is k*k*C_in*C_out); the specs have no biases.
- "FLOPS" are multiply-accumulates (every term is H*W*k*k*C_in*C_out): archcost's MACs.
- M = 10**6. K = 1000 for 540K and 170K; the 159K of the pool-projection slide is GoogLeNet
  Table 1's inception (3a) figure, where K = 1024: 163,328 / 1024 = 159.5 exactly (K = 1000
  would print 163K).
- Rounding is not uniform: 540K (540.672K) and 423M (423.887M) are truncated (to nearest they
  would be 541K and 424M); 170K (169.984K), 112.9M (112.896M) and 5.3M (5.268M) are rounded
  to nearest (truncated they would be 169K, 112.8M, 5.2M); 159K (159.5 with K = 1024) is
  truncated (half up would give 160K). 133M, 128M, 1.2M and 963M come out the same either way.
  Each cell is checked with the rule that reproduces it, and the tests also assert that the
  other rule would not, where it differs.
- The pool-projection slide's FLOPS formula includes a pooling term 9*28*28*192 = 1,354,752,
  but its printed 128M leaves it out: the convolutions alone give 128,049,152 (128M), with the
  term 129,403,904 (129M). archcost keeps pooling out of MACs altogether (in `ops`, as
  k*k - 1 = 8 comparisons per output element: 8*28*28*192 = 1,204,224).
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


def shown(value, unit, decimals, rule):
    """value / unit at `decimals` places: 'nearest' (half up) or 'floor' (truncate)."""
    scaled = Fraction(value, unit) * 10**decimals
    n = math.floor(scaled + Fraction(1, 2)) if rule == "nearest" else math.floor(scaled)
    return Fraction(n, 10**decimals)


def printed(text):
    """'112.9' -> (Fraction(1129, 10), 1 decimal)."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return Fraction(text), decimals


def check(value, unit, text, rule):
    number, decimals = printed(text)
    assert shown(value, unit, decimals, rule) == number, (value, unit, text, rule)
    return decimals


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
    check(net.total("macs"), M, "112.9", "nearest")
    assert shown(net.total("macs"), M, 1, "floor") == Fraction("112.8")  # not truncated


def test_1x1_reduction_to_16_is_5_3M():
    # (14x14x16) x (1x1x480) + (14x14x48) x (5x5x16) = 1,505,280 + 3,763,200 = 5,268,480 -> 5.3M
    net = build(spec("conv5x5_14x14x480.yaml:reduced"))
    assert node_costs(net) == {"1x1 conv": (480 * 16, 14 * 14 * 16 * 480),
                               "5x5 conv": (25 * 16 * 48, 14 * 14 * 48 * 25 * 16)}  # fmt: skip
    assert net.total("macs") == 1_505_280 + 3_763_200 == 5_268_480
    check(net.total("macs"), M, "5.3", "nearest")
    assert shown(net.total("macs"), M, 1, "floor") == Fraction("5.2")  # truncation would not do


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
    check(params, K, "540", "floor")  # 540.672K, truncated
    check(macs, M, "423", "floor")  # 423.887M, truncated
    assert shown(params, K, 0, "nearest") == 541 and shown(macs, M, 0, "nearest") == 424


def test_single_5x5_1_2M_963M():
    # Params 25*192x256 = 1,228,800 -> 1.2M; FLOPS 25*28x28x192x256 = 963,379,200 -> 963M
    net = build(spec("inception_single_5x5.yaml"))
    assert net.output_shape == (256, 28, 28)  # the same output as the naive block
    params, macs = net.total("params"), net.total("macs")
    assert (params, macs) == (25 * 192 * 256, 25 * 28 * 28 * 192 * 256) == (1_228_800, 963_379_200)
    for rule in ("nearest", "floor"):
        check(params, M, "1.2", rule)
        check(macs, M, "963", rule)


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
    check(params, K, "170", "nearest")  # 169.984K, rounded
    assert shown(params, K, 0, "floor") == 169  # truncation would print 169K
    check(macs, M, "133", "nearest")
    check(macs, M, "133", "floor")


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
    check(params, K2, "159", "floor")
    assert Fraction(params, K2) == Fraction("159.5")
    assert shown(params, K2, 0, "nearest") == 160
    assert shown(params, K, 0, "floor") == 163 and shown(params, K, 0, "nearest") == 163
    check(macs, M, "128", "nearest")
    # The printed formula's pooling term, 9*28*28*192, is not in the printed 128M:
    pool_term = 9 * 28 * 28 * 192
    assert pool_term == 1_354_752
    assert shown(macs + pool_term, M, 0, "nearest") == 129
    assert shown(macs + pool_term, M, 0, "floor") == 129
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

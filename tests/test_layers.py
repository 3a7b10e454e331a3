"""Hand-computed oracles for every primitive, and registry-driven checks over all of them.

Each oracle states its arithmetic; the registry test fails when a primitive is added
without an oracle here.
"""

from fractions import Fraction

import pytest

from archcost import layers as L
from archcost.errors import SpecError


def run(op, /, *shapes, **fields):
    """Call a primitive with its registry defaults filled in (as the spec expander does)."""
    prim = L.PRIMITIVES[op]
    values = {}
    for f in prim.fields:
        if f.name in fields:
            v = fields[f.name]
        else:
            assert f.default is not L.REQUIRED, f"{op} needs {f.name}"
            v = f.default
        if f.kind == "pair" and isinstance(v, int):
            v = (v, v)
        if f.kind == "number" and isinstance(v, str):
            v = Fraction(v)
        values[f.name] = v
    return prim.fn(*shapes, **values)


def test_conv_3x3_same_64_to_128_on_56x56():
    # the oracle: 3x3 conv 64->128 on 56x56, stride 1, same padding
    # MACs = 3*3*64*128 * 56*56 = 231,211,008; params = 3*3*64*128 + 128 = 73,856
    c = run("conv", (64, 56, 56), out=128, k=3, p="same")
    assert c.shape == (128, 56, 56)
    assert c.macs == 231_211_008
    assert c.params == 73_856 and c.bias == 128
    assert c.ops == 128 * 56 * 56  # one bias add per output element


def test_conv_stride_padding_dilation_groups_no_bias():
    # 5x5 conv, dilation 2 (effective 9x9), stride 2, pad 4, groups 4, 32->64 on 3x... 33x33
    # H_out = (33 + 8 - 2*(5-1) - 1)//2 + 1 = 32//2 + 1 = 17
    c = run("conv", (32, 33, 33), out=64, k=5, s=2, p=4, d=2, g=4, bias=False)
    assert c.shape == (64, 17, 17)
    assert c.params == 5 * 5 * (32 // 4) * 64 == 12_800
    assert c.macs == 12_800 * 17 * 17 == 3_699_200
    assert c.ops == 0 and c.bias == 0


def test_conv_rectangular_kernel_and_tf_same_with_stride():
    # 1x7 kernel with padding [0, 3] keeps 17x17 (Inception v3)
    c = run("conv", (128, 17, 17), out=192, k=(1, 7), p=(0, 3), bias=False)
    assert c.shape == (192, 17, 17) and c.params == 7 * 128 * 192
    # TF 'same' with stride 2 on 224: out = ceil(224/2) = 112, total pad = 111*2 + 3 - 224 = 1
    c = run("conv", (3, 224, 224), out=32, k=3, s=2, p="same", bias=False)
    assert c.shape == (32, 112, 112)
    assert L.resolve_padding("same", 224, 224, (3, 3), (2, 2), (1, 1)) == (0, 1, 0, 1)


def test_depthwise_conv():
    # depthwise 3x3 on 112x112x32: params 9*32 = 288, MACs 288 * 112*112 = 3,612,672
    c = run("conv", (32, 112, 112), out=32, k=3, p=1, g=32, bias=False)
    assert c.params == 288 and c.macs == 3_612_672


def test_conv_errors():
    with pytest.raises(SpecError, match="groups=3 must divide"):
        run("conv", (32, 8, 8), out=64, k=3, g=3)
    with pytest.raises(SpecError, match="below 1"):
        run("conv", (3, 4, 4), out=8, k=7)


def test_linear_auto_flattens():
    # VGG fc6: 7*7*512 = 25,088 -> 4096: MACs 102,760,448, params + bias 4096
    c = run("linear", (512, 7, 7), out=4096)
    assert c.shape == (4096,)
    assert c.macs == 102_760_448 and c.params == 102_760_448 + 4096 and c.ops == 4096
    assert run("linear", (84,), out=10, bias=False).params == 840


def test_maxpool_floor_and_ceil_rules():
    # GoogLeNet pool 3x3/2 on 112: floor (112-3)//2+1 = 55; Caffe's ceil ceil(109/2)+1 = 56
    assert run("maxpool", (64, 112, 112), k=3, s=2).shape == (64, 55, 55)
    c = run("maxpool", (64, 112, 112), k=3, s=2, ceil=True)
    assert c.shape == (64, 56, 56)
    assert c.ops == (9 - 1) * 64 * 56 * 56  # 8 comparisons per output element
    # ceil rule's last window must start inside the input: 2x2/2 ceil on 14 -> 7, on 13 -> 7
    assert run("maxpool", (8, 13, 13), k=2, s=2, ceil=True).shape == (8, 7, 7)
    # ... or its left padding: 3x3/3 p 1 on 5: ceil((5+2-3)/3) + 1 = 3, but window 3 would
    # start at 2*3 = 6 >= 5 + 1 (the right padding): dropped -> 2. Likewise on 8: 4 -> 3.
    assert run("maxpool", (8, 5, 5), k=3, s=3, p=1, ceil=True).shape == (8, 2, 2)
    assert run("avgpool", (8, 8, 8), k=3, s=3, p=1, ceil=True).shape == (8, 3, 3)
    # torch: MaxPool2d(3, 1, 1, ceil_mode=True) keeps 28x28
    assert run("maxpool", (8, 28, 28), k=3, s=1, p=1, ceil=True).shape == (8, 28, 28)
    # default stride = kernel
    assert run("maxpool", (6, 28, 28), k=2).shape == (6, 14, 14)


def test_avgpool_and_global_and_adaptive():
    c = run("avgpool", (1024, 7, 7), k=7, s=1)
    assert c.shape == (1024, 1, 1) and c.ops == 49 * 1024
    g = run("global_avgpool", (2048, 7, 7))
    assert g.shape == (2048, 1, 1) and g.ops == 2048 * 49
    # AdaptiveAvgPool2d(6) on 13x13: windows [0,3),[2,5),[4,7),[6,9),[8,11),[10,13): 3 each
    a = run("adaptive_avgpool", (256, 13, 13), size=6)
    assert a.shape == (256, 6, 6) and a.ops == 256 * 18 * 18
    # identity-sized adaptive pool (torchvision VGG at 224): windows of 1
    assert run("adaptive_avgpool", (512, 7, 7), size=7).ops == 512 * 49


def test_lrn_bn_activation_dropout():
    x = (96, 55, 55)
    n = 96 * 55 * 55
    assert run("lrn", x, size=5).ops == (5 + 3) * n
    b = run("bn", x)
    assert (b.params, b.buffers, b.ops, b.macs) == (192, 192, 2 * n, 0)
    for act in L.ACTIVATIONS:
        a = run(act, x)
        assert (a.shape, a.params, a.macs, a.ops) == (x, 0, 0, n)
        assert L.PRIMITIVES[act].inplace
    d = run("dropout", x, p="0.5")
    assert (d.shape, d.params, d.ops) == (x, 0, 0) and L.PRIMITIVES["dropout"].inplace


def test_flatten_softmax():
    assert run("flatten", (512, 7, 7)).shape == (25_088,)
    s = run("softmax", (1000,))
    assert s.shape == (1000,) and s.ops == 3000


def test_concat_add_scale():
    c = run("concat", (64, 28, 28), (128, 28, 28), (32, 28, 28), (32, 28, 28))
    assert c.shape == (256, 28, 28) and c.ops == 0
    with pytest.raises(SpecError, match="spatial size"):
        run("concat", (64, 28, 28), (64, 14, 14))
    a = run("add", (256, 56, 56), (256, 56, 56))
    assert a.ops == 256 * 56 * 56
    assert run("add", (8, 4, 4), (8, 4, 4), (8, 4, 4)).ops == 2 * 128
    with pytest.raises(SpecError, match="differ in shape"):
        run("add", (256, 56, 56), (128, 56, 56))
    s = run("scale", (256, 56, 56), (256, 1, 1))
    assert s.shape == (256, 56, 56) and s.ops == 256 * 56 * 56
    with pytest.raises(SpecError, match="gate"):
        run("scale", (256, 56, 56), (128, 1, 1))


def test_zero_pad():
    # ResNet option-A shortcut: 64 -> 128 channels by appending 64 zero channels
    z = run("zero_pad", (64, 28, 28), c=64)
    assert z.shape == (128, 28, 28) and (z.params, z.macs, z.ops) == (0, 0, 0)
    assert run("zero_pad", (3, 5, 5), p=(1, 2)).shape == (3, 7, 9)


def test_slice():
    # LeNet-5's partially connected C3 takes maps [0, 3) of S2: a view, no cost, no new memory
    s = run("slice", (6, 14, 14), start=0, end=3)
    assert s.shape == (3, 14, 14) and (s.params, s.macs, s.ops) == (0, 0, 0)
    assert L.PRIMITIVES["slice"].inplace
    with pytest.raises(SpecError, match="not within"):
        run("slice", (6, 14, 14), start=4, end=7)


ORACLE_TESTS = {
    "slice": test_slice,
    "zero_pad": test_zero_pad,
    "conv": test_conv_3x3_same_64_to_128_on_56x56,
    "linear": test_linear_auto_flattens,
    "maxpool": test_maxpool_floor_and_ceil_rules,
    "avgpool": test_avgpool_and_global_and_adaptive,
    "global_avgpool": test_avgpool_and_global_and_adaptive,
    "adaptive_avgpool": test_avgpool_and_global_and_adaptive,
    "lrn": test_lrn_bn_activation_dropout,
    "bn": test_lrn_bn_activation_dropout,
    "dropout": test_lrn_bn_activation_dropout,
    "flatten": test_flatten_softmax,
    "softmax": test_flatten_softmax,
    "concat": test_concat_add_scale,
    "add": test_concat_add_scale,
    "scale": test_concat_add_scale,
    **{a: test_lrn_bn_activation_dropout for a in L.ACTIVATIONS},
}


ENGINE_TEST_MODULES = ("tests.test_layers_rank", "tests.test_attention", "tests.test_layers_nd",
                       "tests.test_recurrent", "tests.test_user_primitives",
                       "tests.test_layers_new_ops", "tests.test_unknown_rows")  # fmt: skip


def all_oracles() -> dict:
    """ORACLE_TESTS and the ORACLES of the engine's other test modules (imported here, not at
    the top, because they import :func:`run` from this module)."""
    import importlib

    oracles = dict(ORACLE_TESTS)
    for mod in ENGINE_TEST_MODULES:
        try:
            oracles.update(importlib.import_module(mod).ORACLES)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise
    return oracles


@pytest.mark.parametrize("name", sorted(L.PRIMITIVES))
def test_every_primitive_has_an_oracle_and_a_documented_formula(name):
    assert name in all_oracles(), f"primitive {name} has no hand-computed oracle test"
    prim = L.PRIMITIVES[name]
    assert prim.doc, f"primitive {name} has no docstring giving its formula"


@pytest.mark.parametrize("name", sorted(L.PRIMITIVES))
def test_every_primitive_is_consistent(name):
    """Registry-driven: sensible input, non-negative integer costs, shape of ints."""
    prim = L.PRIMITIVES[name]
    shapes = [(16, 8, 8)] * (2 if prim.arity in (None, 2) else abs(prim.arity))
    shapes = SAMPLE_INPUTS.get(name, shapes)
    fields = {"out": 4, "k": 3, "size": 2, "start": 0, "end": 8, "heads": 2, "shape": [2, 4],
              "groups": 2, "chunks": 2, "vocab": 10, "dim": 4, "dims": [1, 2, 0], "p": 1,
              "hidden": 4, "axis": 0, "by": 3}  # fmt: skip
    if name == "dropout":
        fields["p"] = 0
    if name == "custom":
        fields.update(shape=[4, 2, 2], params=3, macs=0)
    if name == "unknown":
        fields.update(op="torch.cumsum", shape=[4, 2, 2])
    cost = run(name, *shapes, **{k: v for k, v in fields.items() if k in prim.field_map})
    if name == "unknown":  # its MACs and other ops are unknown (None), never 0: archcost.unknown
        assert cost.macs is None and cost.ops is None and cost.shape == (4, 2, 2)
        return
    for q in ("params", "bias", "buffers", "macs", "ops"):
        value = getattr(cost, q)
        assert type(value) is int and value >= 0, (name, q, value)
    assert all(type(d) is int and d >= 1 for d in cost.shape)
    assert cost.bias <= cost.params
    # only weight layers have MACs, and the product of two inputs (matmul)
    assert (cost.macs > 0) == (prim.weight or name in TWO_INPUT_PRODUCTS)
    for f in prim.positional:
        assert f in prim.field_map


TOKENS = L.shaped((6, 8), "LC")
SAMPLE_INPUTS = {
    "scale": [(16, 8, 8), (16, 1, 1)],
    "attention": [TOKENS], "cross_attention": [TOKENS, TOKENS], "lstm": [TOKENS],
    "gru": [TOKENS], "window_attention": [L.shaped((8, 8, 16), "HWC")],
    "embedding": [L.shaped((6,), "L")], "matmul": [(2, 4, 4), (2, 4, 4)],
    "transpose": [(16, 8)], "reshape": [(2, 4)], "conv1d": [(16, 20)], "maxpool1d": [(16, 20)],
    "avgpool1d": [(16, 20)], "conv3d": [(16, 4, 8, 8)], "maxpool3d": [(16, 4, 8, 8)],
    "avgpool3d": [(16, 4, 8, 8)], "conv_transpose1d": [(16, 20)],
    "conv_transpose3d": [(16, 4, 8, 8)], "global_avgpool1d": [(16, 20)],
    "global_avgpool3d": [(16, 4, 8, 8)], "adaptive_avgpool1d": [(16, 20)],
    "adaptive_maxpool1d": [(16, 20)], "adaptive_avgpool3d": [(16, 4, 8, 8)],
    "adaptive_maxpool3d": [(16, 4, 8, 8)],
}  # fmt: skip
TWO_INPUT_PRODUCTS = {"matmul"}


def test_registry_rejects_duplicates():
    with pytest.raises(RuntimeError, match="registered twice"):
        L.primitive("conv")(lambda x: None)

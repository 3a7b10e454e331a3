"""Hand-computed oracles for 1-D and 3-D convolution and pooling, transposed convolution,
dilation and upsampling (output sizes from torch's documented formulas)."""

import pytest

from archcost import spec
from archcost.errors import SpecError
from archcost.shapes import shaped
from tests.test_layers import run
from tests.test_layers_rank import write


def test_conv1d_m5_first_layer():
    # M5 (Dai et al. 2017): 8000 samples, 128 filters of 80 with stride 4
    c = run("conv1d", (1, 8000), out=128, k=80, s=4)
    L_out = (8000 - 80) // 4 + 1  # 1981
    assert c.shape == (128, L_out) == (128, 1981)
    assert c.params == 80 * 1 * 128 + 128
    assert c.macs == 80 * 1 * 128 * 1981 and c.ops == 128 * 1981
    # padding, dilation, groups
    c = run("conv1d", (32, 100), out=64, k=3, p=2, d=2, g=4)
    assert c.shape == (64, (100 + 4 - 2 * 2 - 1) // 1 + 1) == (64, 100)
    assert c.params == 3 * 8 * 64 + 64
    c = run("conv1d", (4, 10), out=4, k=3, s=2, p="same", bias=False)
    assert c.shape == (4, 5)  # ceil(10 / 2)
    with pytest.raises(SpecError, match=r"conv1d needs a \(C, L\) input"):
        run("conv1d", (3, 8, 8), out=4, k=3)


def test_conv3d():
    # C3D-style 3x3x3 on 16 frames of 112x112, padding 1: same size
    c = run("conv3d", (3, 16, 112, 112), out=64, k=3, p=1)
    assert c.shape == (64, 16, 112, 112)
    assert c.params == 27 * 3 * 64 + 64
    assert c.macs == 27 * 3 * 64 * 16 * 112 * 112
    c = run("conv3d", (8, 9, 20, 20), out=8, k=(3, 5, 5), s=(1, 2, 2), d=(2, 1, 1), bias=False)
    # D: 9 - 2*2 - 1 + 1 = 5; H, W: (20 - 4 - 1) // 2 + 1 = 8
    assert c.shape == (8, 5, 8, 8) and c.params == 75 * 8 * 8


def test_pools_1d_3d():
    c = run("maxpool1d", (128, 1981), k=4)
    assert c.shape == (128, 495) and c.ops == 3 * 128 * 495  # 1981 // 4
    c = run("avgpool1d", (8, 10), k=3, s=2, p=1)
    assert c.shape == (8, 5) and c.ops == 3 * 8 * 5
    c = run("maxpool3d", (64, 16, 56, 56), k=(1, 2, 2), s=(1, 2, 2))
    assert c.shape == (64, 16, 28, 28) and c.ops == 3 * 64 * 16 * 28 * 28
    c = run("avgpool3d", (4, 4, 4, 4), k=2, ceil=True)
    assert c.shape == (4, 2, 2, 2) and c.ops == 8 * 32
    c = run("maxpool1d", (2, 10), k=3, s=1, d=2)  # dilated: span 5
    assert c.shape == (2, 6)


def test_maxpool2d_dilation_and_global_pools():
    c = run("maxpool", (2, 10, 10), k=3, s=1, d=2)
    assert c.shape == (2, 6, 6) and c.ops == 8 * 2 * 36
    g = run("global_avgpool", (512, 30))
    assert g.shape == (512, 1) and g.ops == 512 * 30
    g = run("global_avgpool", (8, 2, 3, 3))
    assert g.shape == (8, 1, 1, 1) and g.ops == 8 * 18
    with pytest.raises(SpecError, match="global_avgpool needs"):
        run("global_avgpool", shaped((4, 8), "LC"))


def test_conv_transpose():
    # DCGAN-style: 4x4, stride 2, padding 1 doubles 16x16 to 32x32
    c = run("conv_transpose", (128, 16, 16), out=64, k=4, s=2, p=1)
    assert c.shape == (64, (16 - 1) * 2 - 2 + 3 + 1, 32) == (64, 32, 32)
    assert c.params == 16 * 128 * 64 + 64
    assert c.macs == 16 * 128 * 64 * 16 * 16  # every input element through the kernel
    assert c.ops == 64 * 32 * 32
    c = run("conv_transpose", (8, 7, 7), out=8, k=3, s=2, p=1, output_padding=1, g=2,
            bias=False)
    assert c.shape == (8, 14, 14) and c.params == 9 * 8 * 4
    with pytest.raises(SpecError, match="output_padding"):
        run("conv_transpose", (8, 7, 7), out=8, k=3, s=1, output_padding=1)
    c1 = run("conv_transpose1d", (16, 50), out=8, k=4, s=2)
    assert c1.shape == (8, 49 * 2 + 3 + 1) and c1.macs == 4 * 16 * 8 * 50
    c3 = run("conv_transpose3d", (4, 2, 3, 3), out=2, k=2, s=2)
    assert c3.shape == (2, 4, 6, 6) and c3.params == 8 * 4 * 2 + 2


def test_upsample():
    c = run("upsample", (64, 28, 28), scale=2)
    assert c.shape == (64, 56, 56) and (c.params, c.macs, c.ops) == (0, 0, 0)
    c = run("upsample", (64, 28, 28), scale=2, mode="bilinear")
    assert c.ops == 4 * 64 * 56 * 56
    c = run("upsample", (8, 10), size=[25], mode="linear")
    assert c.shape == (8, 25) and c.ops == 2 * 8 * 25
    with pytest.raises(SpecError, match="for 2-D maps"):
        run("upsample", (8, 10), scale=2, mode="bilinear")
    with pytest.raises(SpecError, match="one of 'scale' or 'size'"):
        run("upsample", (8, 10, 10))


def test_1d_network_from_a_spec(tmp_path):
    net = spec.build(write(tmp_path, """
        input: [1, 8000]
        layers:
          - conv1: {type: conv1d, out: 128, k: 80, s: 4, bn: true, act: relu}
          - pool1: {type: maxpool1d, k: 4}
          - conv2: {type: conv1d, out: 128, k: 3, p: same}
          - gap: {type: global_avgpool}
          - fc: {type: linear, out: 35}
        """))
    assert net.output_shape == (35,)
    assert net.total("params") == (80 * 128 + 128) + 256 + (3 * 128 * 128 + 128) + 128 * 35 + 35
    from archcost.shapes import fmt_shape

    assert fmt_shape(net.row("pool1").shape) == "128x495"


ORACLES = {
    "conv1d": test_conv1d_m5_first_layer,
    "conv3d": test_conv3d,
    "maxpool1d": test_pools_1d_3d,
    "maxpool3d": test_pools_1d_3d,
    "avgpool1d": test_pools_1d_3d,
    "avgpool3d": test_pools_1d_3d,
    "conv_transpose": test_conv_transpose,
    "conv_transpose1d": test_conv_transpose,
    "conv_transpose3d": test_conv_transpose,
    "upsample": test_upsample,
}

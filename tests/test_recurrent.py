"""Hand-computed oracles for LSTM and GRU: parameter counts as torch's nn.LSTM / nn.GRU
define their tensors (weight_ih, weight_hh and two bias vectors per layer and direction),
MACs over every time step."""

import pytest

from archcost.errors import SpecError
from archcost.shapes import layout_of, shaped
from tests.test_layers import run


def test_lstm_one_layer():
    # 100 steps of 300 features, 512 hidden units
    c = run("lstm", shaped((100, 300), "LC"), hidden=512)
    H, F, L = 512, 300, 100
    assert c.shape == (100, 512) and layout_of(c.shape) == "LC"
    assert c.params == 4 * (H * F + H * H + 2 * H) == 1_667_072
    assert c.bias == 8 * H
    assert c.macs == L * 4 * (H * F + H * H)
    assert c.ops == L * H * (13 + 8)


def test_lstm_two_layers_bidirectional():
    H, F, L = 128, 40, 50
    c = run("lstm", shaped((L, F), "LC"), hidden=H, layers=2, bidirectional=True)
    assert c.shape == (L, 2 * H)
    layer1 = 4 * (H * F + H * H + 2 * H)
    layer2 = 4 * (H * 2 * H + H * H + 2 * H)  # its input is both directions: 2H
    assert c.params == 2 * (layer1 + layer2)
    assert c.macs == 2 * L * 4 * (H * F + H * H) + 2 * L * 4 * (H * 2 * H + H * H)
    c = run("lstm", shaped((L, F), "LC"), hidden=H, bias=False)
    assert c.params == 4 * (H * F + H * H) and c.ops == L * H * 13


def test_gru():
    H, F, L = 256, 80, 20
    c = run("gru", shaped((L, F), "LC"), hidden=H)
    assert c.params == 3 * (H * F + H * H + 2 * H)
    assert c.macs == L * 3 * (H * F + H * H)
    assert c.ops == L * H * (11 + 6)
    c = run("gru", shaped((L, F), "LC"), hidden=H, layers=3)
    assert c.params == 3 * (H * F + H * H + 2 * H) + 2 * 3 * (H * H + H * H + 2 * H)


def test_recurrent_needs_a_sequence():
    with pytest.raises(SpecError, match=r"lstm needs a tokens \(L, D\) input; got a 1-D map"):
        run("lstm", (40, 100), hidden=8)


ORACLES = {"lstm": test_lstm_one_layer, "gru": test_gru}

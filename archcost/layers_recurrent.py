"""Recurrent layers: LSTM (Hochreiter & Schmidhuber 1997; torch ``nn.LSTM``) and GRU
(Cho et al. 2014; torch ``nn.GRU``), over a sequence of L time steps (tokens (L, I)).

Parameters are exactly torch's: per layer and direction, ``weight_ih`` (G*H x I_k),
``weight_hh`` (G*H x H) and **two** bias vectors ``bias_ih`` and ``bias_hh`` (G*H each), with
G = 4 gates for the LSTM and 3 for the GRU; I_k is the input size for the first layer and
dirs*H after it. MACs are the two matrix-vector products at every one of the L steps.
"""

from __future__ import annotations

from .layers import Cost, Field, need, primitive
from .shapes import shaped

_RNN_FIELDS = (
    Field("hidden", "int", doc="hidden size H"),
    Field("layers", "int", 1, doc="stacked layers"),
    Field("bidirectional", "bool", False, doc="a second direction per layer"),
    Field("bias", "bool", True, doc="the two bias vectors b_ih, b_hh"),
)


def _recurrent(x, hidden, layers, bidirectional, bias, gates, ops_per_unit, bias_ops, what):
    steps, features = need(x, what, "LC")
    dirs = 2 if bidirectional else 1
    b = 2 * gates * hidden if bias else 0
    # closed form (no loop, so `formula --in layers` works): the first layer reads the input,
    # the other layers - 1 read both directions of the layer below (dirs*H features)
    first = gates * hidden * features + gates * hidden * hidden
    later = gates * hidden * dirs * hidden + gates * hidden * hidden
    params = dirs * (first + b) + (layers - 1) * dirs * (later + b)
    bias_total = layers * dirs * b
    macs = dirs * steps * first + (layers - 1) * dirs * steps * later
    units = layers * dirs * steps * hidden
    ops = units * (ops_per_unit + (bias_ops if bias else 0))
    return Cost(shaped((steps, dirs * hidden), "LC"), params, bias_total, 0, macs, ops)


@primitive("lstm", *_RNN_FIELDS, positional=("hidden", "layers"), weight=True)
def lstm(x, hidden, layers, bidirectional, bias):
    """LSTM over tokens (L, I) -> (L, dirs*H), all hidden states of the last layer.

    params per layer and direction = 4*(H*I_k + H*H + 2*H) (I_1 = I, then dirs*H);
    MACs = L * 4*(H*I_k + H*H) per layer and direction;
    other ops per step and hidden unit = 13 (4 sums of the two products, 4 gate
    nonlinearities, c' = f*c + i*g: 3, h' = o*tanh(c'): 2) + 8 bias adds.
    """
    return _recurrent(x, hidden, layers, bidirectional, bias, 4, 13, 8, "lstm")


@primitive("gru", *_RNN_FIELDS, positional=("hidden", "layers"), weight=True)
def gru(x, hidden, layers, bidirectional, bias):
    """GRU over tokens (L, I) -> (L, dirs*H), all hidden states of the last layer.

    params per layer and direction = 3*(H*I_k + H*H + 2*H) (I_1 = I, then dirs*H);
    MACs = L * 3*(H*I_k + H*H) per layer and direction;
    other ops per step and hidden unit = 11 (r and z sums 2, n = tanh(x_n + r*h_n): 2,
    3 nonlinearities, h' = (1 - z)*n + z*h: 4) + 6 bias adds.
    """
    return _recurrent(x, hidden, layers, bidirectional, bias, 3, 11, 6, "gru")

"""Every archcost primitive that torch has is importable: `archcost import torch` of a small
module written here gives a spec that uses the primitive and whose `table` totals equal the
module's own counts.

The oracle is torch, called here on modules written here (never archcost's torch backend):
params = sum(p.numel() for p in model.parameters()) (a shared tensor once); MACs =
FlopCounterMode's FLOPs / 2, with attention's QK^T and AV products counted as
archcost/layers_attention.py counts them (FlopCounterMode counts them too). FlopCounterMode
counts nothing for nn.LSTM (no formula for its fused kernel), so the LSTM's MACs are the
hand arithmetic of its equations, written below.

Each primitive of archcost.layers.PRIMITIVES is either in MODULES (imported and checked) or in
NO_TORCH with the reason it has no torch counterpart; a new primitive with neither fails
test_every_primitive_is_decided.
"""

import math
import re

import pytest

from .conftest import require_torch

torch = require_torch()  # in CI a failing import fails, never skips
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcost.importers.run import import_torch  # noqa: E402
from archcost.importers.torch_fx import trace  # noqa: E402
from archcost.importers.writer import write_spec  # noqa: E402
from archcost.layers import PRIMITIVES  # noqa: E402
from archcost.spec import build  # noqa: E402


class Chain(nn.Module):
    """``f(x)`` then the layers in order: an op under test, then a layer with MACs reading
    its output, so its output shape is checked through the MACs too."""

    def __init__(self, *layers, f=None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.f = f

    def forward(self, x):
        if self.f is not None:
            x = self.f(x)
        for layer in self.layers:
            x = layer(x)
        return x


def act(module):
    return lambda: Chain(nn.Conv2d(3, 4, 3), module, nn.Conv2d(4, 5, 1)), (3, 6, 6)


class Concat(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 2, 3, padding=1)
        self.c = nn.Conv2d(6, 5, 1)

    def forward(self, x):
        return self.c(torch.cat([self.a(x), self.b(x)], dim=1))


class Add(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(3, 4, 3, padding=1, bias=False)

    def forward(self, x):
        return self.a(x) + self.b(x)


class Scale(nn.Module):
    """A squeeze-and-excitation gate: x * sigmoid(fc(pool(x))), the gate (C, 1, 1)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc1 = nn.Conv2d(8, 2, 1)
        self.fc2 = nn.Conv2d(2, 8, 1)

    def forward(self, x):
        x = self.conv(x)
        g = torch.sigmoid(self.fc2(torch.relu(self.fc1(F.adaptive_avg_pool2d(x, 1)))))
        return x * g


class SelfAttention(nn.Module):
    def __init__(self, batch_first=True):
        super().__init__()
        self.batch_first = batch_first
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first)

    def forward(self, x):
        if not self.batch_first:
            x = x.transpose(0, 1)  # (L, N, D)
        y = self.attn(x, x, x)[0]
        return y if self.batch_first else y.transpose(0, 1)


class CrossAttention(nn.Module):
    """Queries from x (L, 16), keys and values from a context (L, 12) made from x."""

    def __init__(self):
        super().__init__()
        self.ctx = nn.Linear(16, 12)
        self.attn = nn.MultiheadAttention(16, 2, kdim=12, vdim=12, batch_first=True)

    def forward(self, x):
        c = self.ctx(x)
        return self.attn(x, c, c)[0]


class MatMul(nn.Module):
    """Attention scores by hand: q @ k^T (L, L), then a linear layer over them."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(8, 6)
        self.k = nn.Linear(8, 6)
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        s = torch.matmul(self.q(x), self.k(x).transpose(1, 2))
        return self.out(torch.softmax(s, dim=-1))


class Rnn(nn.Module):
    def __init__(self, cls, **kw):
        super().__init__()
        self.rnn = cls(6, 5, batch_first=True, **kw)
        self.head = nn.Linear(10 if kw.get("bidirectional") else 5, 3)

    def forward(self, x):
        return self.head(self.rnn(x)[0])


class LayerNormFn(nn.Module):
    """F.layer_norm with the module's own weight and bias, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(8))
        self.bias = nn.Parameter(torch.zeros(8))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(F.layer_norm(x, (8,), self.weight, self.bias, eps=1e-6))


class PositionParameter(nn.Module):
    """A learned position embedding (1, L, D) added to the tokens; a class token joined."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, 5, 8))
        self.cls = nn.Parameter(torch.zeros(1, 1, 8))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = x + self.pos
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return self.fc(x)


class Reshape(nn.Module):
    """A conv map (8, 4, 4) reshaped to (16, 8) and read as tokens by a linear layer."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        y = self.conv(x)
        return self.fc(y.reshape(y.shape[0], 16, 8))


class Permute(nn.Module):
    """Channels-last for a linear layer over channels (ConvNeXt's MLP), and back."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 6)
        self.out = nn.Conv2d(6, 4, 1)

    def forward(self, x):
        y = self.fc(self.conv(x).permute(0, 2, 3, 1))
        return self.out(y.permute(0, 3, 1, 2))


class Transpose(nn.Module):
    """Tokens (L, D) transposed to a map (D, L) for a 1-D conv over the sequence."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 8)
        self.conv = nn.Conv1d(8, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(self.fc(x).transpose(1, 2))


class Patchify(nn.Module):
    """ViT's patch cut written with views: (C, H, W) -> (H/p * W/p, p*p*C), then a linear
    embedding (torch has no patchify op; archcost imports the views as one reshape)."""

    def __init__(self, p=2):
        super().__init__()
        self.p = p
        self.embed = nn.Linear(3 * p * p, 10)

    def forward(self, x):
        n, c, h, w = x.shape
        p = self.p
        x = x.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return self.embed(x.reshape(n, (h // p) * (w // p), p * p * c))


class Chunk(nn.Module):
    """ShuffleNetV2's channel split: two halves, each to its own conv, joined again."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.left = nn.Conv2d(4, 5, 1)
        self.right = nn.Conv2d(4, 3, 1, bias=False)

    def forward(self, x):
        a, b = self.conv(x).chunk(2, dim=1)
        return torch.cat([self.left(a), self.right(b)], 1)


class Embedding(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = nn.Embedding(50, 8)
        self.fc = nn.Linear(8, 6)

    def forward(self, ids):
        return self.fc(self.wte(ids))


class ZeroPad(nn.Module):
    """ResNet's option-A shortcut: channels appended as zeros (and a border here)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(6, 5, 3)

    def forward(self, x):
        return self.b(F.pad(self.a(x), (1, 1, 1, 1, 0, 2)))


class Slice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return self.b(self.a(x)[:, 2:5])


class MulConst(nn.Module):
    """Attention's scaling written out: by a constant, divided by sqrt(d), and the forms
    torch code writes it in (2 * x, x.mul(c), torch.div(x, c))."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 3)

    def forward(self, x):
        y = self.a(x) * 0.125
        y = 2 * (y / math.sqrt(8))
        return self.b(torch.div(y.mul(0.5), 3))


class Tokens(nn.Module):
    """A linear layer on tokens, then ``f`` of them (a slice, a mean), then a linear head."""

    def __init__(self, f, d_in=8, d_out=8):
        super().__init__()
        self.a = nn.Linear(8, d_in)
        self.f = f
        self.head = nn.Linear(d_out, 3)

    def forward(self, x):
        return self.head(self.f(self.a(x)))


class LayerScale(nn.Module):
    """A gated unit (SwiGLU: two halves of one shape multiplied) and a learned layer scale
    (D,) multiplying tokens."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 6)
        self.b = nn.Linear(8, 6)
        self.out = nn.Linear(6, 8)
        self.gamma = nn.Parameter(torch.ones(8))
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.out(F.silu(self.a(x)) * self.b(x)) * self.gamma)


class PositionSlice(nn.Module):
    """GPT's learned positions (1, T, D), the first L of them added to the tokens."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, 10, 8))
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(x + self.pos[:, :x.shape[1], :])


class ChannelMean(nn.Module):
    """CBAM's spatial attention input: the mean over channels, kept as one channel."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.b = nn.Conv2d(1, 2, 3)

    def forward(self, x):
        return self.b(self.a(x).mean(dim=1, keepdim=True))


class SpatialMean(nn.Module):
    """x.mean((2, 3)): the global average pool a ResNet-style head writes as a mean."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


MODULES = {
    # primitive: (factory, input shape per sample)
    "conv": (lambda: Chain(nn.Conv2d(3, 8, 3, stride=2, padding=1),
                           nn.Conv2d(8, 8, (1, 3), groups=2, bias=False)), (3, 9, 11)),
    "linear": (lambda: Chain(nn.Linear(8, 6), nn.Linear(6, 3, bias=False)), (5, 8)),
    "maxpool": (lambda: Chain(nn.MaxPool2d(3, 2, padding=1, ceil_mode=True),
                              nn.Conv2d(3, 4, 1)), (3, 10, 10)),
    "avgpool": (lambda: Chain(nn.AvgPool2d(2), nn.Conv2d(3, 4, 1)), (3, 9, 8)),
    "global_avgpool": (lambda: Chain(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                     nn.Linear(8, 5)), (3, 7, 7)),
    "adaptive_avgpool": (lambda: Chain(nn.AdaptiveAvgPool2d((3, 2)), nn.Conv2d(3, 4, 1)),
                         (3, 9, 8)),
    "lrn": act(nn.LocalResponseNorm(3)),
    "bn": act(nn.BatchNorm2d(4, eps=1e-3)),
    "relu": act(nn.ReLU()),
    "relu6": act(nn.ReLU6()),
    "leaky_relu": act(nn.LeakyReLU(0.1)),
    "sigmoid": act(nn.Sigmoid()),
    "tanh": act(nn.Tanh()),
    "hardswish": act(nn.Hardswish()),
    "hardsigmoid": act(nn.Hardsigmoid()),
    "silu": act(nn.SiLU()),
    "elu": act(nn.ELU()),
    "softplus": act(nn.Softplus()),
    "mish": act(nn.Mish()),
    "gelu": act(nn.GELU(approximate="tanh")),
    "dropout": act(nn.Dropout(0.2)),
    "flatten": (lambda: Chain(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 25, 3)),
                (3, 7, 7)),
    "softmax": act(nn.Softmax(dim=1)),
    "concat": (Concat, (3, 6, 6)),
    "slice": (Slice, (3, 6, 6)),
    "add": (Add, (3, 6, 6)),
    "scale": (Scale, (3, 8, 8)),
    "zero_pad": (ZeroPad, (3, 5, 5)),
    "attention": (SelfAttention, (7, 16)),
    "cross_attention": (CrossAttention, (7, 16)),
    "matmul": (MatMul, (5, 8)),
    "conv1d": (lambda: Chain(nn.Conv1d(3, 8, 5, stride=2, padding=2),
                             nn.Conv1d(8, 4, 3, dilation=2, groups=4)), (3, 40)),
    "conv3d": (lambda: Chain(nn.Conv3d(2, 4, 3, padding=1),
                             nn.Conv3d(4, 4, (1, 3, 3), stride=(1, 2, 2))), (2, 4, 8, 8)),
    "maxpool1d": (lambda: Chain(nn.MaxPool1d(3, 2), nn.Conv1d(3, 4, 1)), (3, 21)),
    "maxpool3d": (lambda: Chain(nn.MaxPool3d(2), nn.Conv3d(2, 4, 1)), (2, 4, 6, 6)),
    "avgpool1d": (lambda: Chain(nn.AvgPool1d(4, 2, padding=1), nn.Conv1d(3, 4, 1)), (3, 21)),
    "avgpool3d": (lambda: Chain(nn.AvgPool3d(2, 1), nn.Conv3d(2, 4, 1)), (2, 4, 6, 6)),
    "conv_transpose": (lambda: Chain(nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1,
                                                        output_padding=1),
                                     nn.Conv2d(4, 2, 1)), (3, 5, 5)),
    "conv_transpose1d": (lambda: Chain(nn.ConvTranspose1d(3, 4, 4, stride=2),
                                       nn.Conv1d(4, 2, 1)), (3, 9)),
    "conv_transpose3d": (lambda: Chain(nn.ConvTranspose3d(2, 3, 2, stride=2, bias=False),
                                       nn.Conv3d(3, 2, 1)), (2, 3, 4, 4)),
    "upsample": (lambda: Chain(nn.Conv2d(3, 4, 1), nn.Upsample(scale_factor=2,
                                                                 mode="bilinear"),
                               nn.Conv2d(4, 2, 3)), (3, 5, 5)),
    "lstm": (lambda: Rnn(nn.LSTM, num_layers=2, bidirectional=True), (7, 6)),
    "gru": (lambda: Rnn(nn.GRU, num_layers=2), (7, 6)),
    "layernorm": (lambda: Chain(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)), (5, 6)),
    "rmsnorm": (lambda: Chain(nn.Linear(6, 8), nn.RMSNorm(8), nn.Linear(8, 3)), (5, 6)),
    "groupnorm": act(nn.GroupNorm(2, 4)),
    "parameter": (PositionParameter, (5, 8)),
    "reshape": (Reshape, (3, 6, 6)),
    "permute": (Permute, (3, 6, 6)),
    "transpose": (Transpose, (9, 6)),
    "patchify": (Patchify, (3, 8, 6)),
    "chunk": (Chunk, (3, 6, 6)),
    "embedding": (Embedding, (9,)),
    "channel_shuffle": act(nn.ChannelShuffle(2)),
    "pad": (lambda: Chain(nn.ZeroPad2d((1, 2, 0, 3)), nn.Conv2d(3, 4, 3)), (3, 5, 5)),
    "space_to_depth": (lambda: Chain(nn.PixelUnshuffle(2), nn.Conv2d(12, 4, 1)), (3, 6, 8)),
    "mul_const": (MulConst, (5, 8)),
    "mean": (lambda: Tokens(lambda y: y.mean(dim=1)), (5, 8)),
    "adaptive_avgpool1d": (lambda: Chain(nn.AdaptiveAvgPool1d(5), nn.Conv1d(3, 4, 1)), (3, 12)),
    "adaptive_avgpool3d": (lambda: Chain(nn.AdaptiveAvgPool3d((2, 3, None)), nn.Conv3d(2, 4, 1)),
                           (2, 4, 7, 6)),
    "adaptive_maxpool": (lambda: Chain(nn.AdaptiveMaxPool2d((3, 2)), nn.Conv2d(3, 4, 1)),
                         (3, 9, 8)),
    "adaptive_maxpool1d": (lambda: Chain(nn.AdaptiveMaxPool1d(4), nn.Conv1d(3, 4, 1)), (3, 13)),
    "adaptive_maxpool3d": (lambda: Chain(nn.AdaptiveMaxPool3d((1, 2, 3)), nn.Conv3d(2, 4, 1)),
                           (2, 3, 5, 7)),
}

# the primitive the import writes where torch's op is another archcost primitive of equal cost
WRITTEN_AS = {
    "patchify": "reshape",  # torch cuts patches with views: a reshape, then a permute
}

NO_TORCH = {
    "custom": "a user primitive: its costs are the user's expressions, not a torch op",
    "unknown": "an op archcost has no primitive for: what --allow-unknown writes in its place "
               "(tests/test_unknown_rows.py)",
    "window_attention": "Swin's shifted window attention is torchvision code "
                        "(ShiftedWindowAttention), not a torch op or nn module",
    "drop_path": "stochastic depth is torchvision's StochasticDepth or a model's own code; "
                 "at inference it is the identity, which the import follows",
}


def test_every_primitive_is_decided():
    assert not set(MODULES) & set(NO_TORCH)
    assert set(PRIMITIVES) == set(MODULES) | set(NO_TORCH)


def torch_counts(model, shape):
    """(params, MACs) of the module, counted by torch."""
    model.eval()
    dtype = torch.long if len(shape) == 1 else torch.float32
    counter = FlopCounterMode(display=False)
    with counter:  # autograd on: nn.MultiheadAttention's fast path hides its matmuls otherwise
        model(torch.zeros(1, *shape, dtype=dtype))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2


def lstm_macs(steps, i, h, layers, dirs):
    """The LSTM's equations (torch.nn.LSTM docs): 4 gates, each W_i x_t + W_h h_{t-1}."""
    total, width = 0, i
    for _ in range(layers):
        total += dirs * steps * 4 * (h * width + h * h)
        width = dirs * h
    return total


def imported(model, shape, tmp_path, flat=False, hooks=False):
    """The built spec and its text: torch.fx's trace, or the hook trace (the fallback)."""
    if hooks:
        text = write_spec(trace(model, shape, hooks_only=True))
    else:
        text, _ = import_torch(model, input_shape=shape, flat=flat)
    path = tmp_path / "imported.yaml"
    path.write_text(text)
    return build(str(path)), text


@pytest.mark.parametrize("name", sorted(MODULES))
def test_primitive_round_trip(name, tmp_path):
    make, shape = MODULES[name]
    model = make()
    params, macs = torch_counts(model, shape)
    if name == "lstm":
        assert macs == 7 * 10 * 3  # FlopCounterMode sees only the head (7 x 10 -> 3)
        macs += lstm_macs(7, 6, 5, 2, 2)
    for flat, hooks in ((False, False), (True, False), (False, True)):
        net, text = imported(model, shape, tmp_path, flat, hooks)
        ops = {n.op for n in net.nodes}
        assert WRITTEN_AS.get(name, name) in ops, text
        t = net.totals()
        assert (t["params"], t["macs"]) == (params, macs), text
        assert macs > 0


def test_sequence_first_attention(tmp_path):
    model = SelfAttention(batch_first=False)
    net, text = imported(model, (7, 16), tmp_path)
    t = net.totals()
    assert (t["params"], t["macs"]) == torch_counts(model, (7, 16))
    # by hand: 4 D^2 + 4 D params; 4 L D^2 + 2 L^2 D MACs (layers_attention.py)
    assert (t["params"], t["macs"]) == (4 * 16 * 16 + 4 * 16, 4 * 7 * 16 * 16 + 2 * 49 * 16)
    assert "permute" not in text and "reshape" not in text  # the batch axis moves alone


def test_functional_forms(tmp_path):
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.fc = nn.Linear(8 * 4 * 4, 5)

        def forward(self, x):
            x = F.gelu(F.silu(F.relu(self.conv(x))), approximate="tanh")
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = F.max_pool2d(x, 2)
            return self.fc(torch.flatten(x, 1).view(x.shape[0], -1))

    for model, shape in ((Functional(), (3, 6, 6)), (LayerNormFn(), (5, 8))):
        net, text = imported(model, shape, tmp_path)
        t = net.totals()
        assert (t["params"], t["macs"]) == torch_counts(model, shape), text


class SequenceFirstRnn(nn.Module):
    """nn.GRU with batch_first=False reading (L, N, I): the tokens transposed first."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(6, 5, bias=False, bidirectional=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        return self.head(self.rnn(x.transpose(0, 1))[0].transpose(0, 1))


class PositionTwice(nn.Module):
    """One learned tensor added before and after a layer: one parameter, counted once."""

    def __init__(self):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(5, 8))
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x + self.pos) + self.pos


VARIANTS = {
    "parameter read twice": (PositionTwice, (5, 8)),
    # more forms of the primitives above: (factory, input shape)
    "bn1d on (C, L)": (lambda: Chain(nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4),
                                     nn.Conv1d(4, 2, 1)), (3, 12)),
    "bn3d": (lambda: Chain(nn.Conv3d(2, 4, 1), nn.BatchNorm3d(4), nn.Conv3d(4, 2, 1)),
             (2, 3, 4, 4)),
    "gru sequence-first": (SequenceFirstRnn, (7, 6)),
    "maxpool with dilation": (lambda: Chain(nn.MaxPool2d(3, 1, dilation=2),
                                            nn.Conv2d(3, 4, 1)), (3, 9, 9)),
    "conv padding same": (lambda: Chain(nn.Conv2d(3, 4, (3, 5), padding="same", dilation=2),
                                        nn.Conv2d(4, 2, 1)), (3, 9, 9)),
    "upsample to a size": (lambda: Chain(nn.Conv1d(3, 4, 1), nn.Upsample(size=11, mode="linear"),
                                         nn.Conv1d(4, 2, 3)), (3, 5)),
    "constant pad 1d": (lambda: Chain(nn.Conv1d(3, 4, 1), nn.ConstantPad1d((2, 1), 0.5),
                                      nn.Conv1d(4, 2, 3)), (3, 5)),
    # slices of tokens (issue 15): GPT's last-token head, ViT without its class token, the
    # class token itself, a slice of the features, learned positions cut to the sequence
    "last token x[:, [-1], :]": (lambda: Tokens(lambda y: y[:, [-1], :]), (5, 8)),
    "last token x[:, -1:, :]": (lambda: Tokens(lambda y: y[:, -1:, :]), (5, 8)),
    "tokens without the first x[:, 1:, :]": (lambda: Tokens(lambda y: y[:, 1:, :]), (5, 8)),
    "class token x[:, 0]": (lambda: Tokens(lambda y: y[:, 0]), (5, 8)),
    "features x[..., :4]": (lambda: Tokens(lambda y: y[..., :4], d_out=4), (5, 8)),
    "positions self.pos[:, :L]": (PositionSlice, (5, 8)),
    "narrow of tokens": (lambda: Tokens(lambda y: y.narrow(1, 1, 3)), (5, 8)),
    "select the last token": (lambda: Tokens(lambda y: torch.select(y, 1, -1)), (5, 8)),
    "split into unequal token ranges": (lambda: Tokens(lambda y: y.split([2, 3], dim=1)[1]),
                                        (5, 8)),
    # means (issue 15)
    "mean over tokens, keepdim": (lambda: Tokens(lambda y: torch.mean(y, 1, keepdim=True)),
                                  (5, 8)),
    "mean over features": (lambda: Tokens(lambda y: y.mean(-1), d_out=5), (5, 8)),
    "mean over channels, keepdim": (ChannelMean, (3, 6, 6)),
    "mean over H and W": (SpatialMean, (3, 7, 7)),
    # adaptive pools as functions, global max pooling, products of tensors
    "F.adaptive_max_pool2d": (lambda: Chain(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 2, 1),
                                            f=lambda x: F.adaptive_max_pool2d(x, (2, 3))),
                              (3, 7, 9)),
    "F.adaptive_avg_pool3d": (lambda: Chain(nn.Conv3d(2, 4, 1),
                                            f=lambda x: F.adaptive_avg_pool3d(x, 2)),
                              (2, 5, 5, 5)),
    "global max pool": (lambda: Chain(nn.Conv2d(3, 8, 3), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                                      nn.Linear(8, 5)), (3, 7, 7)),
    "gated product and layer scale": (LayerScale, (5, 8)),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_round_trip(name, tmp_path):
    make, shape = VARIANTS[name]
    model = make()
    expected = torch_counts(model, shape)
    for hooks in (False, True):
        net, text = imported(model, shape, tmp_path, hooks=hooks)
        t = net.totals()
        assert (t["params"], t["macs"]) == expected, text


def test_new_ops_are_written_as_their_primitives(tmp_path):
    """What each form of issue 15's ops becomes in the spec (the counts are checked above)."""
    expect = {  # the row's type, then its fields
        "last token x[:, [-1], :]": ("slice", "{start: 4, end: 5}"),
        "tokens without the first x[:, 1:, :]": ("slice", "{start: 1, end: 5}"),
        "features x[..., :4]": ("slice", "{start: 0, end: 4, axis: 1}"),
        "mean over tokens, keepdim": ("mean", "{axis: 0, keepdim: true}"),
        "mean over features": ("mean", "{axis: 1}"),
        "mean over channels, keepdim": ("mean", "{axis: 0, keepdim: true}"),
        "mean over H and W": ("global_avgpool", ""),
        "global max pool": ("adaptive_maxpool", "size: 1}"),
        "gated product and layer scale": ("scale", ""),
    }
    for name, (kind, fields) in expect.items():
        make, shape = VARIANTS[name]
        net, text = imported(make(), shape, tmp_path, flat=True)
        assert kind in {n.op for n in net.nodes}, (name, text)
        assert re.search(rf"{kind}[:,}}].*{re.escape(fields)}", text), (name, text)
    _, text = imported(MulConst(), (5, 8), tmp_path, flat=True)
    # x * 0.125, / sqrt(8), 2 *, .mul(0.5), torch.div(, 3): five constants, in order
    factors = [float(v) for v in re.findall(r"mul_const, by: ([0-9.e-]+)|"
                                            r"(?:mul|div): \{by: ([0-9.e-]+)", text) for v in v if v]
    assert factors == [0.125, 1 / math.sqrt(8), 2, 0.5, 1 / 3], text


def test_ops_without_a_primitive_are_still_errors(tmp_path):
    """A division by a tensor, a mean over the batch, a strided slice: named errors, never a
    zero or a silent skip."""
    from archcost.errors import SpecError

    for f, what in ((lambda y: y / y, "division by a tensor"),
                    (lambda y: y[:, ::2, :], "indexing a tensor"),
                    (lambda y: y.mean(0, keepdim=True), "the batch axis"),
                    # a number that changes with the batch (torch.fx sees where it comes from)
                    (lambda y: y * y.size(0), "computed from sizes")):  # fmt: skip
        with pytest.raises(SpecError, match=what):
            imported(Tokens(f), (5, 8), tmp_path)

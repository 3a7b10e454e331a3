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

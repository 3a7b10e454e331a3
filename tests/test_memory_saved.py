"""What autograd saves for backward (archcost.memory.SAVED_RULES), primitive by primitive.

The oracle is torch: every tensor autograd saves during one training-mode forward of a module
written in the tests (tests/test_import_primitives.py ``MODULES``, and the variants below),
measured with ``torch.autograd.graph.saved_tensors_hooks`` (each storage once, parameters and
buffers excluded), vs ``memory.training(spec, 2, "float32", "cpu", "sgd").saved_bytes`` of the
spec archcost's importer writes for the module (the importer gives the architecture only).
Where the model knowingly differs, ``KNOWN`` gives the difference by hand and says why.
"""

import os
import sys

import pytest

from .conftest import ROOT, require_torch, saved_storages

torch = require_torch()
from torch import nn  # noqa: E402

from archcost import memory as M  # noqa: E402
from archcost.importers.run import import_torch  # noqa: E402
from archcost.layers import PRIMITIVES  # noqa: E402
from archcost.spec import build  # noqa: E402

from .test_import_primitives import MODULES, Chain  # noqa: E402

BATCH = 2
F32 = 4


def test_every_primitive_has_a_saved_rule():
    """A primitive added later fails here until its rule is written (never a silent zero)."""
    assert set(PRIMITIVES) == set(M.SAVED_RULES)


def test_every_primitive_has_a_gradient_rule():
    """Backward either passes the output's gradient through (a view) or writes a new one."""
    assert not M._GRAD_PASSTHROUGH & M.GRAD_NEW
    assert set(PRIMITIVES) == M._GRAD_PASSTHROUGH | M.GRAD_NEW


def torch_saved(model, shape, n_inputs=1):
    """{storage: (bytes, dtype)} of what autograd saves in one training forward at BATCH."""
    model.train()
    torch.manual_seed(0)
    if len(shape) == 1:  # token ids
        x = torch.randint(0, 10, (BATCH, *shape))
    else:
        x = torch.randn(BATCH, *shape)
    return saved_storages(torch, model, *([x] * n_inputs))


def imported(model, shape, tmp_path):
    text, _ = import_torch(model, input_shape=shape)
    path = tmp_path / "imported.yaml"
    path.write_text(text)
    return build(str(path))


def model_saved(net):
    return M.training(net, BATCH, "float32", "cpu", "sgd").saved_bytes


# torch - model, by hand, where the model knowingly differs from the module, and why
KNOWN = {
    # nn.MultiheadAttention called with need_weights=True (its default) takes the math path:
    # it saves the scaled q as a new tensor (L x D) and the softmax probabilities
    # (heads x L x L) where the model's path (need_weights=False, the flash kernel, what
    # transformers call) saves the log-sum-exp (heads x L). L 7, D 16, 4 heads.
    "attention": (7 * 16 + 4 * 7 * 7 - 4 * 7) * BATCH * F32,
    # the same for cross-attention; q is its own projection there, scaled or not: only the
    # probabilities (2 heads x 7 x 7) instead of the log-sum-exp (2 x 7)
    "cross_attention": (2 * 7 * 7 - 2 * 7) * BATCH * F32,
    # the modules run out of place (nn.ELU(), nn.LeakyReLU()); the model follows archcost's
    # backend and torchvision (in place where safe): it saves the output, which is the
    # input's storage, where torch saves the input and the next conv a new output (4x4x4)
    "elu": 4 * 4 * 4 * BATCH * F32,
    "leaky_relu": 4 * 4 * 4 * BATCH * F32,
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_saved_bytes_equal_torch(name, tmp_path):
    make, shape = MODULES[name]
    model = make()
    net = imported(model, shape, tmp_path)
    saved = torch_saved(model, shape)
    measured = sum(b for b, _ in saved.values())
    predicted = model_saved(net)
    if name == "lstm":
        # oneDNN's fused LSTM keeps a uint8 workspace per layer and direction, padded in ways
        # the model does not follow: it counts the gates and cell states the workspace must
        # hold (L x 6H per layer and direction), a lower bound. Everything else is exact.
        ws = sum(b for b, dtype in saved.values() if dtype == torch.uint8)
        model_ws = 2 * 2 * 6 * 7 * 5 * BATCH * F32  # 2 layers x 2 directions, L 7, H 5
        assert model_ws <= ws
        assert measured - ws == predicted - model_ws
        return
    assert measured - predicted == KNOWN.get(name, 0)


class SelfAttention(nn.Module):
    def __init__(self, dim=16, heads=4, causal=False, bias=True):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True, bias=bias)
        self.causal = causal

    def forward(self, x):
        if self.causal:
            n = x.shape[1]
            mask = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
            return self.attn(x, x, x, attn_mask=mask, need_weights=False, is_causal=True)[0]
        return self.attn(x, x, x, need_weights=False)[0]


class CrossAttention(nn.Module):
    """Queries from x, keys and values from a context made from x (its width ``kdim``)."""

    def __init__(self, kdim):
        super().__init__()
        self.ctx = nn.Linear(16, kdim)
        kw = {} if kdim == 16 else {"kdim": kdim, "vdim": kdim}
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True, **kw)

    def forward(self, x):
        c = self.ctx(x)
        return self.attn(x, c, c, need_weights=False)[0]


def _window_attention():
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import _torch_models as TM
    finally:
        sys.path.pop(0)
    return TM


class Windows(nn.Module):
    """A conv map made channels last, then torchvision's shifted window attention as
    benchmarks/_torch_models.py writes it (apart from archcost's backend)."""

    def __init__(self, shift):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.attn = _window_attention().ShiftedWindowAttention(8, 4, shift, 2)

    def forward(self, x):
        return self.attn(self.conv(x).permute(0, 2, 3, 1))


EXACT = {
    "attention need_weights=False": (lambda: SelfAttention(), (7, 16)),
    "attention causal": (lambda: SelfAttention(24, 2, causal=True), (9, 24)),
    "attention without biases": (lambda: SelfAttention(bias=False), (7, 16)),
    "cross_attention, context of another width": (lambda: CrossAttention(12), (7, 16)),
    "cross_attention, context of the same width": (lambda: CrossAttention(16), (7, 16)),
    "elu in place": (lambda: Chain(nn.Conv2d(3, 4, 3), nn.ELU(inplace=True),
                                   nn.Conv2d(4, 5, 1)), (3, 6, 6)),
    "leaky_relu in place": (lambda: Chain(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.1, inplace=True),
                                          nn.Conv2d(4, 5, 1)), (3, 6, 6)),
    "maxpool1d after a conv": (lambda: Chain(nn.Conv1d(3, 4, 3), nn.MaxPool1d(3, 2),
                                             nn.Conv1d(4, 2, 1)), (3, 21)),
    "maxpool3d after a conv": (lambda: Chain(nn.Conv3d(2, 3, 1), nn.MaxPool3d(2),
                                             nn.Conv3d(3, 2, 1)), (2, 4, 6, 6)),
    "avgpool1d after a conv": (lambda: Chain(nn.Conv1d(3, 4, 3), nn.AvgPool1d(4, 2, padding=1),
                                             nn.Conv1d(4, 2, 1)), (3, 21)),
    "groupnorm on a 1-D map": (lambda: Chain(nn.Conv1d(3, 4, 3), nn.GroupNorm(2, 4),
                                             nn.Conv1d(4, 2, 1)), (3, 9)),
    "layernorm on tokens after attention": (
        lambda: Chain(SelfAttention(), nn.LayerNorm(16), nn.Linear(16, 3)), (7, 16)),
}

# torchvision's window attention indexes its bias table, which the importer does not take:
# its spec is written here (a 1x1 conv, channels last, the attention)
WINDOWS = {"window attention": (0, (3, 8, 8)), "shifted window attention, padded": (2, (3, 7, 9))}


class BiGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)
        self.rnn = nn.GRU(6, 5, num_layers=2, bidirectional=True, batch_first=True)
        self.head = nn.Linear(10, 3)

    def forward(self, x):
        return self.head(self.rnn(self.fc(x))[0])


EXACT["gru bidirectional, 2 layers"] = (BiGru, (7, 4))


@pytest.mark.parametrize("name", sorted(EXACT))
def test_saved_bytes_equal_torch_exactly(name, tmp_path):
    make, shape = EXACT[name]
    model = make()
    net = imported(model, shape, tmp_path)
    measured = sum(b for b, _ in torch_saved(model, shape).values())
    assert model_saved(net) == measured


@pytest.mark.parametrize("name", sorted(WINDOWS))
def test_window_attention_saved_equals_torch(name, tmp_path):
    shift, shape = WINDOWS[name]
    model = Windows(shift)
    measured = sum(b for b, _ in torch_saved(model, shape).values())
    net = _spec(tmp_path, f"input: {list(shape)}\nlayers:\n"
                          "  - conv: {type: conv, out: 8, k: 1}\n"
                          "  - cl: {type: permute, dims: [1, 2, 0]}\n"
                          f"  - attn: {{type: window_attention, heads: 2, window: 4, "
                          f"shift: {shift}}}\n")  # fmt: skip
    assert model_saved(net) == measured


# ---------------------------------------------------------------- by hand


def _spec(tmp_path, text):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return build(str(path))


def _saved_of(net, node_id, batch=1, dtype="float32"):
    t = M.training(net, batch, dtype, "cpu", "sgd")
    return next(r for r in t.nodes if r.node.id == node_id).saved_bytes


def test_attention_saved_by_hand(tmp_path):
    # L 10 tokens of D 32, 4 heads, batch 1, float32: the input copied sequence-first 10*32,
    # the packed q/k/v 10*96, the heads' output 10*32, all at 4 B: (320 + 960 + 320) * 4 =
    # 6400; the log-sum-exp 4*10 float32 = 160. 6560 B.
    net = _spec(tmp_path, "input: {tokens: [10, 32]}\nlayers:\n"
                          "  - a: {type: attention, heads: 4}\n")  # fmt: skip
    assert _saved_of(net, "a") == 6560
    # bfloat16: 2 B per value, the log-sum-exp stays float32: 1600 * 2 + 160
    assert _saved_of(net, "a", dtype="bfloat16") == 3360


def test_layernorm_saved_by_hand(tmp_path):
    # after a linear 16 -> 24 on 5 tokens, batch 3: the norm saves its input (5*24 values)
    # and the mean and rstd per token (5 each), float32: (120 + 10) * 3 * 4 = 1560 B
    net = _spec(tmp_path, "input: {tokens: [5, 16]}\nlayers:\n"
                          "  - fc: {type: linear, out: 24}\n"
                          "  - ln: {type: layernorm}\n")  # fmt: skip
    assert _saved_of(net, "ln", batch=3) == 1560


def test_lstm_saved_by_hand(tmp_path):
    # one layer, H 8, over L 6 tokens of 4 features, batch 1, float32, after a linear (so
    # the LSTM's input needs a gradient): the sequence-first input copy 6*4 = 24, h_n and
    # c_n 8 each, the workspace 6 * 6*8 = 288, h_0 and c_0 8 each = 344 values = 1376 B; its
    # output (6*8) is the node's own, saved too: + 192 B = 1568
    net = _spec(tmp_path, "input: {tokens: [6, 4]}\nlayers:\n"
                          "  - fc: {type: linear, out: 4}\n"
                          "  - rnn: {type: lstm, hidden: 8}\n")  # fmt: skip
    assert _saved_of(net, "rnn") == 1568


def test_conv1d_saved_by_hand(tmp_path):
    # conv1d 3 -> 8, k 5 on a (3, 40) map, then conv1d 8 -> 4: the second saves the first's
    # output 8*36 values (the first saves the network input 3*40: its weight gradient needs
    # it), batch 2, float32: 288 * 8 = 2304 B and 120 * 8 = 960 B
    net = _spec(tmp_path, "input: [3, 40]\nlayers:\n"
                          "  - a: {type: conv1d, out: 8, k: 5}\n"
                          "  - b: {type: conv1d, out: 4, k: 1}\n")  # fmt: skip
    assert _saved_of(net, "a", batch=2) == 960
    assert _saved_of(net, "b", batch=2) == 2304


def test_unknown_and_custom_rows_make_training_unknown(tmp_path):
    """What a user primitive or an unknown op saves is unknown: the training totals are
    unknown (None), never 0; the known rows before it keep their numbers."""
    for row in ("{type: unknown, op: torch.cumsum, shape: [8, 6, 6], params: 0}",
                "{type: custom, shape: [8, 6, 6], params: 10, macs: 100}"):  # fmt: skip
        net = _spec(tmp_path, "input: [3, 6, 6]\nlayers:\n"
                              "  - c: {type: conv, out: 8, k: 3, p: 1}\n"
                              f"  - u: {row}\n"
                              "  - d: {type: conv, out: 4, k: 1}\n")  # fmt: skip
        t = M.training(net, 2, "float32", "cpu", "adam")
        assert t.saved_bytes is None and t.peak_bytes is None
        assert t.forward_peak_bytes is None and t.peak_layer is None
        saved = {r.node.id: r.saved_bytes for r in t.nodes}
        assert saved["u"] is None
        assert saved["c"] == 3 * 6 * 6 * 2 * 4  # the conv saves the network input, known


def test_memory_train_cli_shows_a_custom_row_as_unknown(tmp_path):
    import json

    from .conftest import run_cli

    path = tmp_path / "custom.yaml"
    path.write_text("input: [3, 6, 6]\nlayers:\n  - c: {type: conv, out: 8, k: 3, p: 1}\n"
                    "  - u: {type: custom, shape: [8, 6, 6], params: 10, macs: 100}\n")
    result = run_cli("memory", str(path), "--train", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["training_bytes"] is None and data["saved_bytes"] is None
    assert data["unknown_rows"] == ["u"] and all(x["saved_bytes"] is None for x in data["layers"])
    text = run_cli("memory", str(path), "--train").stdout
    assert "user primitive (custom) rows 'u'" in text


# ---------------------------------------------------------------- whole transformers


def _tm():
    return _window_attention()


def test_tiny_gpt2_saved_equals_torch():
    """benchmarks/_torch_models.py's GPT-2 (nn.MultiheadAttention, causal; written apart from
    archcost) at a tiny size vs specs/gpt2.yaml with the same parameters, batch 2. The one
    knowing difference: torch's position ids (torch.arange(L).unsqueeze(0)) are one row for
    the whole batch, where the model counts an index tensor per sample: L int64 values."""
    sizes = {"seq_len": 16, "vocab": 64, "n_ctx": 16, "layers": 2, "dim": 32, "heads": 4}
    model = _tm().GPT2(vocab=64, n_ctx=16, layers=2, dim=32, heads=4)
    measured = sum(b for b, _ in torch_saved(model, (16,)).values())
    net = build("gpt2", params=sizes)
    assert model_saved(net) - measured == (BATCH - 1) * 16 * 8


def test_tiny_vit_saved_equals_torch():
    """torchvision's ViT as benchmarks/_torch_models.py writes it, tiny, vs specs/vit_b_16.yaml
    with the same parameters, batch 2. The knowing difference: the head reads the class token
    as a view (x[:, 0]), so torch's linear saves the whole final-norm output storage
    ((L - 1) more tokens of D, L = 17), where the model's class-token row is a new tensor."""
    sizes = {"patch": 8, "resolution": 32, "depth": 2, "dim": 32, "heads": 4, "mlp": 64,
             "classes": 10}
    model = _tm().VisionTransformer(image=32, patch=8, layers=2, heads=4, dim=32, mlp_dim=64,
                                    num_classes=10)
    measured = sum(b for b, _ in torch_saved(model, (3, 32, 32)).values())
    net = build("vit_b_16", params=sizes)
    assert measured - model_saved(net) == BATCH * 16 * 32 * F32

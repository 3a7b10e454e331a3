"""`archcost import torch`: the written spec's totals equal the original module's.

The oracle is torch itself, called here: sum(p.numel()) over the module's parameters, its BN
running statistics, and FlopCounterMode's FLOPs / 2 on one forward pass. The modules are
written in this file (one per primitive the importer maps) or are benchmarks/_torch_models.py's
independently written torchvision-style models; archcost never built any of them.
"""

import math
import os
import re
import sys

import pytest

from .conftest import require_torch  # noqa: E402

torch = require_torch()  # in CI a failing import fails, never skips
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archcost.errors import SpecError  # noqa: E402
from archcost.importers.run import import_torch  # noqa: E402
from archcost.spec import build  # noqa: E402

from .conftest import ROOT, run_cli  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import _torch_models  # noqa: E402


def oracle(model, shape):
    """(params, MACs, BN running stats) of the module, counted by torch (a rank-1 input is
    token ids)."""
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    stats = sum(b.numel() for n, b in model.named_buffers() if n.endswith(("running_mean",
                                                                          "running_var")))  # fmt: skip
    counter = FlopCounterMode(display=False, custom_mapping=_cpu_sdpa())
    with counter:  # autograd on: nn.MultiheadAttention's fast path hides its matmuls otherwise
        model(torch.zeros(1, *shape, dtype=torch.long if len(shape) == 1 else torch.float32))
    return params, counter.get_total_flops() // 2, stats


def _cpu_sdpa():
    """FlopCounterMode has torch's formula (sdpa_flop_count) for the CUDA attention kernels
    but none for the CPU one that nn.MultiheadAttention(need_weights=False) runs (torchvision's
    ViT): register torch's own formula for it, so QK^T and AV are counted on CPU too."""
    from torch.utils.flop_counter import sdpa_flop_count

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None:
        return {}
    return {op: lambda q, k, v, *args, out_shape=None, **kwargs: sdpa_flop_count(q, k, v)}


def spec_totals(model, shape, tmp_path, flat=False):
    text, _ = import_torch(model, input_shape=shape, flat=flat)
    path = tmp_path / "imported.yaml"
    path.write_text(text)
    net = build(str(path))
    t = net.totals()
    return (t["params"], t["macs"], t["buffers"]), text, net


class Seq(nn.Module):
    def __init__(self, *layers, fn=None):
        super().__init__()
        self.body = nn.Sequential(*layers)
        self.fn = fn

    def forward(self, x):
        x = self.body(x)
        return self.fn(x) if self.fn else x


class Branches(nn.Module):
    """concat, add, chunk (slice), a channel shuffle (views), scale (an SE gate)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b = nn.Conv2d(8, 8, 1)
        self.fc1 = nn.Conv2d(16, 4, 1)
        self.fc2 = nn.Conv2d(4, 16, 1)
        self.right = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x)], 1)
        g = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(y, 1)))))
        y = y * g
        left, right = y.chunk(2, dim=1)
        y = torch.cat([left, self.right(right)], 1)
        n, c, h, w = y.shape
        y = y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        return y + torch.cat([x, x], 1)


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder block: LN, self-attention, residual; LN, MLP, residual."""

    def __init__(self, d, heads):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * d, d))  # fmt: skip

    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h)[0]
        return x + self.mlp(self.ln2(x))


class TinyViT(nn.Module):
    """Patches by a strided conv, flattened and transposed to tokens (L, D), encoder blocks."""

    def __init__(self, d=32, depth=3, heads=4):
        super().__init__()
        self.patch = nn.Conv2d(3, d, 4, 4)
        self.blocks = nn.Sequential(*[EncoderBlock(d, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d * 16, 10)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        return self.head(self.norm(self.blocks(x)).flatten(1))


PRIMITIVE_MODULES = {
    "conv": (lambda: Seq(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.Conv2d(8, 8, (1, 3),
             padding=(0, 1), bias=False), nn.Conv2d(8, 16, 3, dilation=2, groups=4),
             nn.Conv2d(16, 16, 3, padding="same", groups=16)), (3, 17, 19)),  # fmt: skip
    "bn": (lambda: Seq(nn.Conv2d(3, 6, 1), nn.BatchNorm2d(6, eps=1e-3), nn.Flatten(),
                       nn.BatchNorm1d(6 * 25)), (3, 5, 5)),  # fmt: skip
    "activations": (lambda: Seq(nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(),
                                nn.Hardswish(), nn.Hardsigmoid(), nn.SiLU(), nn.GELU(), nn.ELU(),
                                nn.Conv2d(3, 4, 1), fn=F.relu6), (3, 4, 4)),  # fmt: skip
    "pools": (lambda: Seq(nn.MaxPool2d(3, 2, ceil_mode=True), nn.AvgPool2d(3, 1, padding=1),
                          nn.MaxPool2d(2, padding=1), nn.AdaptiveAvgPool2d((3, 2)),
                          nn.Conv2d(3, 4, 1)), (3, 23, 23)),  # fmt: skip
    "linear head": (lambda: Seq(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                nn.Dropout(0.3), nn.Linear(8, 5), nn.Linear(5, 4, bias=False),
                                nn.Softmax(dim=1)), (3, 9, 9)),  # fmt: skip
    "mean and view": (lambda: Seq(nn.Conv2d(3, 8, 3), fn=lambda x: x.mean((2, 3))), (3, 9, 9)),
    "lrn": (lambda: Seq(nn.Conv2d(3, 8, 3), nn.LocalResponseNorm(5), nn.Conv2d(8, 4, 1)),
            (3, 9, 9)),  # fmt: skip
    "branches": (Branches, (8, 6, 6)),
    "transformer": (TinyViT, (3, 16, 16)),
}


@pytest.mark.parametrize("name", list(PRIMITIVE_MODULES))
def test_round_trip_per_primitive(name, tmp_path):
    make, shape = PRIMITIVE_MODULES[name]
    model = make()
    expected = oracle(model, shape)
    got, _, _ = spec_totals(model, shape, tmp_path)
    assert got == expected
    got_flat, _, _ = spec_totals(model, shape, tmp_path, flat=True)
    assert got_flat == expected


def test_hand_count_of_a_small_conv_net(tmp_path):
    # hand arithmetic, no torch counter: conv 3->8 3x3 on 10x10 (pad 1) then linear 800->10
    model = Seq(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(800, 10))
    (params, macs, _), _, _ = spec_totals(model, (3, 10, 10), tmp_path)
    assert params == (3 * 3 * 3 * 8 + 8) + (800 * 10 + 10)
    assert macs == 3 * 3 * 3 * 8 * 10 * 10 + 800 * 10


@pytest.mark.parametrize("name", _torch_models.NAMES)
def test_round_trip_of_benchmark_models(name, tmp_path):
    model = _torch_models.build(name)
    expected = oracle(model, (3, 224, 224))
    got, _, net = spec_totals(model, (3, 224, 224), tmp_path)
    assert got == expected
    assert net.output_shape == (1000,)


def test_resnet50_reads_as_blocks(tmp_path):
    _, text, net = spec_totals(_torch_models.build("resnet50"), (3, 224, 224), tmp_path)
    layers = text.split("\nlayers:\n", 1)[1]
    assert len(net.rows) == 15  # stem 4, 8 stage rows, pool, flatten, fc; not 170
    # the paper's "[1x1, 128; 3x3, 128; 1x1, 512] x 4": one downsampling unit, then x3
    assert "- layer2.0: {type: bottleneck_downsample, conv1_out: 128, conv2_s: 2}" in layers
    assert "- layer2.1: {type: bottleneck, conv1_out: 128, repeat: 3}" in layers
    assert "      - conv3: {type: conv, out: 4 * conv1_out, k: 1, bias: false}" in text
    assert text.count("\n    doc: ") == 3  # bottleneck, bottleneck_downsample, conv_bn


def test_transformer_by_hand_and_as_blocks(tmp_path):
    (params, macs, _), text, net = spec_totals(TinyViT(), (3, 16, 16), tmp_path)
    d, L, depth = 32, 16, 3
    block_params = 2 * 2 * d + (4 * d * d + 4 * d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    assert params == (3 * 16 * d + d) + depth * block_params + 2 * d + (d * L * 10 + 10)
    # projections 4*L*D^2, QK^T and AV 2*L^2*D, MLP 8*L*D^2 per block
    block_macs = 4 * L * d * d + 2 * L * L * d + 8 * L * d * d
    assert macs == 3 * 16 * d * L + depth * block_macs + d * L * 10
    assert "- blocks.0: {type: encoder_block, repeat: 3}" in text
    assert "- reshape: {shape: [16, 32], layout: tokens}" in text


def test_googlenet_inception_modules_become_one_block(tmp_path):
    _, text, net = spec_totals(_torch_models.build("googlenet"), (3, 224, 224), tmp_path)
    rows = [r for r in net.rows if r.type == "inception"]
    assert [r.id for r in rows] == ["inception3a", "inception3b", "inception4a", "inception4b",
                                    "inception4c", "inception4d", "inception4e", "inception5a",
                                    "inception5b"]  # fmt: skip
    assert "  inception:\n" in text and "  basic_conv2d:\n" in text


def test_unknown_op_names_the_op_the_module_and_the_line():
    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return torch.cumsum(self.conv(x), dim=1)  # the line reported

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = Up()

        def forward(self, x):
            return self.up(x)

    with pytest.raises(SpecError) as err:
        import_torch(Net(), input_shape=(3, 4, 4))
    message = str(err.value)
    assert "cumsum" in message and "at up " in message
    assert f"test_import_torch.py:{Up.forward.__code__.co_firstlineno + 1}" in message


MODELS_PY = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(torch.relu(self.conv(x))), 1))


class Odd(nn.Module):
    def forward(self, x):
        return torch.sort(x, dim=1).values
'''


def test_cli_imports_a_file_and_the_spec_loads(tmp_path):
    (tmp_path / "models.py").write_text(MODELS_PY)
    out = tmp_path / "net.yaml"
    result = run_cli("import", "torch", f"{tmp_path}/models.py:Net", "--kwargs",
                     '{"classes": 7}', "--input", "3,32,32", "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "params" in result.stderr and "DIFF" not in result.stderr
    # by hand: conv 3*9*16 + 16 = 448; fc 16*7 + 7 = 119; MACs 432*32*32 + 112
    table = run_cli("table", str(out), "--format", "json")
    assert '"params": 567' in table.stdout.replace(" ", "") or "567" in table.stdout
    net = build(str(out))
    assert net.totals()["params"] == 448 + 119
    assert net.totals()["macs"] == 432 * 32 * 32 + 112


def test_cli_unknown_op_is_one_line_exit_2(tmp_path):
    (tmp_path / "models.py").write_text(MODELS_PY)
    result = run_cli("import", "torch", f"{tmp_path}/models.py:Odd", "--input", "3,4,4")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    line = MODELS_PY.splitlines().index("        return torch.sort(x, dim=1).values") + 1
    assert "sort" in result.stderr and f"models.py:{line}" in result.stderr


@pytest.mark.parametrize("args, words", [
    (("x.py",), "expected PACKAGE.MODULE:FACTORY"),
    (("nowhere/models.py:Net",), "no such file"),
    (("archcost.cli:main", "--kwargs", "[1]"), "JSON object"),
    (("archcost.cli:main", "--input", "3,a"), "--input"),
])  # fmt: skip
def test_cli_user_mistakes(args, words):
    result = run_cli("import", "torch", *args)
    assert result.returncode == 2 and words in result.stderr


def test_shared_module_is_reported(tmp_path):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(self.conv(x))

    _, imported = import_torch(Twice(), input_shape=(4, 5, 5))
    assert imported.params == 4 * 9 * 4 + 4
    assert any("reuses parameters" in n for n in imported.notes)


# ---------------------------------------------------------------- the hook trace (fallback)


class Gated(nn.Module):
    """Control flow on a tensor's value: torch.fx cannot trace this."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.big = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = F.relu(self.conv(x))
        if x.sum() > 1e9:  # never on a zero input
            x = self.big(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def test_untraceable_model_falls_back_to_the_hook_trace(tmp_path):
    model = Gated()
    text, imported = import_torch(model, input_shape=(3, 8, 8))
    assert any("torch.fx could not trace" in n for n in imported.notes)
    path = tmp_path / "gated.yaml"
    path.write_text(text)
    t = build(str(path)).totals()
    # the path a zero input takes: conv 3->8 3x3 on 8x8, then fc 8->4 (self.big never runs)
    assert t["params"] == 3 * 9 * 8 + 8 + 8 * 4 + 4
    assert t["macs"] == 3 * 9 * 8 * 64 + 8 * 4
    assert imported.params == sum(p.numel() for p in model.parameters())  # big's are held


@pytest.mark.parametrize("name", [*_torch_models.NAMES, *PRIMITIVE_MODULES])
def test_hook_trace_gives_the_same_spec_totals(name, tmp_path):
    from archcost.importers.torch_fx import trace
    from archcost.importers.writer import write_spec

    if name in PRIMITIVE_MODULES:
        make, shape = PRIMITIVE_MODULES[name]
        model = make()
    else:
        model, shape = _torch_models.build(name), (3, 224, 224)
    path = tmp_path / "hooks.yaml"
    path.write_text(write_spec(trace(model, shape, hooks_only=True)))
    t = build(str(path)).totals()
    assert (t["params"], t["macs"], t["buffers"]) == oracle(model, shape)


def test_hook_trace_unknown_op_names_the_line():
    from archcost.importers.torch_fx import trace

    class Odd(nn.Module):
        def forward(self, x):
            return torch.sort(x, dim=1).values  # the line reported

    with pytest.raises(SpecError) as err:
        trace(Odd(), (3, 4, 4), hooks_only=True)
    assert "sort" in str(err.value)
    assert f"test_import_torch.py:{Odd.forward.__code__.co_firstlineno + 1}" in str(err.value)


def test_tied_linear_weights_are_counted_once(tmp_path):
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(12, 12)
            self.dec = nn.Linear(12, 12)
            self.dec.weight = self.enc.weight  # tied, as an embedding and its output head

        def forward(self, x):
            return self.dec(torch.relu(self.enc(x.flatten(1))))

    model = Tied()
    (params, macs, _), text, _ = spec_totals(model, (3, 2, 2), tmp_path)
    assert params == sum(p.numel() for p in model.parameters()) == 12 * 12 + 12 + 12
    assert macs == 2 * 12 * 12  # the tied layer still multiplies
    assert "- dec: {type: linear, out: 12, tied: true}" in text
    _, imported = import_torch(model, input_shape=(3, 2, 2))
    assert any("tied weights counted once: dec" in n for n in imported.notes)


class TinyGPT(nn.Module):
    """GPT-2's layout in small (Radford et al. 2019; nanoGPT's code): token embedding wte,
    position embedding wpe looked up at arange(L), pre-norm blocks, ln_f, and a head whose
    weight IS wte's table. ``tie``: "head" ties as nanoGPT (wte.weight = lm_head.weight),
    "wte" the other way, "functional" computes the logits with F.linear(x, wte.weight)."""

    def __init__(self, tie="head", vocab=40, n_ctx=12, d=16, heads=2, depth=2):
        super().__init__()
        self.tie = tie
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.blocks = nn.Sequential(*[EncoderBlock(d, heads) for _ in range(depth)])
        self.ln_f = nn.LayerNorm(d)
        if tie != "functional":
            self.lm_head = nn.Linear(d, vocab, bias=False)
            if tie == "head":
                self.wte.weight = self.lm_head.weight
            else:
                self.lm_head.weight = self.wte.weight

    def forward(self, ids):
        pos = torch.arange(ids.size(1))
        x = self.ln_f(self.blocks(self.wte(ids) + self.wpe(pos)))
        return F.linear(x, self.wte.weight) if self.tie == "functional" else self.lm_head(x)


@pytest.mark.parametrize("tie", ["head", "wte", "functional"])
def test_tied_embedding_is_counted_once_and_the_spec_says_so(tie, tmp_path):
    model = TinyGPT(tie)
    L, V, C, D, depth = 10, 40, 12, 16, 2
    expected = oracle(model, (L,))
    (params, macs, _), text, net = spec_totals(model, (L,), tmp_path)
    assert (params, macs) == expected[:2]
    # by hand: the shared table once (V*D), wpe C*D, per block 2 LN (4D), attention
    # 4D^2 + 4D, MLP 8D^2 + 5D; ln_f 2D; the head adds nothing
    block = 4 * D + (4 * D * D + 4 * D) + (8 * D * D + 5 * D)
    assert params == sum(p.numel() for p in model.parameters()) == \
        V * D + C * D + depth * block + 2 * D
    # the head still multiplies: L*D*V; attention 4LD^2 + 2L^2D, MLP 8LD^2 per block
    assert macs == depth * (4 * L * D * D + 2 * L * L * D + 8 * L * D * D) + L * D * V
    assert "input: {ids: [10]}" in text
    assert "{type: embedding, vocab: 40, dim: 16}" in text
    assert "{type: embedding, vocab: 12, dim: 16, in: input}" in text  # wpe reads positions
    assert "tied: true" in text
    head = [n for n in net.nodes if n.op == "linear"][-1]
    assert head.fields["tied"] is True
    _, imported = import_torch(model, input_shape=(L,))
    assert any("tied weights counted once" in n for n in imported.notes)


def test_tied_embedding_by_the_hook_trace(tmp_path):
    from archcost.importers.torch_fx import trace
    from archcost.importers.writer import write_spec

    model = TinyGPT("head")
    path = tmp_path / "hooks.yaml"
    path.write_text(write_spec(trace(model, (10,), hooks_only=True)))
    t = build(str(path)).totals()
    assert (t["params"], t["macs"]) == oracle(model, (10,))[:2]


class EncoderLM(nn.Module):
    """torch's own nn.TransformerEncoderLayer (pre-norm) between a token embedding and a
    head tied to it: torch.nn modules archcost does not map are traced into."""

    def __init__(self, vocab=50, d=32, heads=4, ff=64, depth=2):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([nn.TransformerEncoderLayer(d, heads, ff, batch_first=True,
                                                                norm_first=True)
                                     for _ in range(depth)])  # fmt: skip
        self.head = nn.Linear(d, vocab, bias=False)
        self.head.weight = self.wte.weight

    def forward(self, ids):
        x = self.wte(ids)
        for layer in self.layers:
            x = layer(x)
        return self.head(x)


def test_torch_transformer_encoder_layer_by_hand(tmp_path):
    model = EncoderLM()
    V, D, F_, L, depth = 50, 32, 64, 12, 2
    (params, macs, _), text, _ = spec_totals(model, (L,), tmp_path)
    # by hand: table V*D once; per layer 2 LN 4D, attention 4D^2 + 4D, FF 2*D*F + F + D
    layer = 4 * D + 4 * D * D + 4 * D + 2 * D * F_ + F_ + D
    assert params == sum(p.numel() for p in model.parameters()) == V * D + depth * layer
    # per layer: projections 4LD^2, QK^T and AV 2L^2D, FF 2LDF; the tied head L*D*V
    assert macs == depth * (4 * L * D * D + 2 * L * L * D + 2 * L * D * F_) + L * D * V
    assert "- layers.0: {type: transformer_encoder_layer, repeat: 2}" in text
    assert "tied: true" in text


def test_audio_conv1d_model(tmp_path):
    model = Seq(nn.Conv1d(1, 8, 9, 4), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(4),
                nn.Conv1d(8, 16, 3), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(16, 5))
    got, text, _ = spec_totals(model, (1, 400), tmp_path)
    assert got == oracle(model, (1, 400))
    assert "input: [1, 400]" in text  # a map (C, L): a 1-d conv reads it, not tokens


class NanoCausalAttention(nn.Module):
    """nanoGPT's CausalSelfAttention (Karpathy, model.py): one projection to q, k, v split
    on the feature axis, heads by view and transpose, F.scaled_dot_product_attention."""

    def __init__(self, d=32, heads=4):
        super().__init__()
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.heads, self.d = heads, d

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0, is_causal=True)
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


@pytest.mark.parametrize("hooks", [False, True])
def test_scaled_dot_product_attention_by_hand(hooks, tmp_path):
    from archcost.importers.torch_fx import trace
    from archcost.importers.writer import write_spec

    model, L, D = NanoCausalAttention(), 10, 32
    text = write_spec(trace(model, (L, D), hooks_only=hooks))
    path = tmp_path / "attn.yaml"
    path.write_text(text)
    t = build(str(path)).totals()
    # by hand: 4D^2 + 4D params; projections 4LD^2 and QK^T, AV 2L^2D (causal counted dense)
    assert (t["params"], t["macs"]) == (4 * D * D + 4 * D, 4 * L * D * D + 2 * L * L * D)
    assert t["params"] == sum(p.numel() for p in model.parameters())
    assert "{type: matmul, t: true" in text and "{chunks: 3, axis: 1}" in text


class NanoGPT(nn.Module):
    """nanoGPT's GPT (Karpathy, model.py) in small: transformer = ModuleDict(wte, wpe, drop,
    h, ln_f), blocks of LN, causal attention by sdpa, LN, MLP (GELU); the tie written as
    there, ``transformer.wte.weight = lm_head.weight``; the forward's length assert (which
    torch.fx cannot trace: the hook trace runs)."""

    def __init__(self, vocab=64, block_size=16, d=32, heads=4, depth=2):
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, d), wpe=nn.Embedding(block_size, d), drop=nn.Dropout(0.1),
            h=nn.ModuleList([NanoBlock(d, heads) for _ in range(depth)]), ln_f=nn.LayerNorm(d)))
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        b, t = idx.size()
        assert t <= self.block_size
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class NanoBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = NanoCausalAttention(d, heads)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d),
                                 nn.Dropout(0.1))  # fmt: skip

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


def test_nanogpt_tied_head_by_hand(tmp_path):
    model = NanoGPT()
    V, C, D, L, depth = 64, 16, 32, 12, 2
    (params, macs, _), text, _ = spec_totals(model, (L,), tmp_path)
    # by hand: wte once (the head's weight), wpe, per block 2 LN, attention 4D^2 + 4D,
    # MLP 8D^2 + 5D; ln_f
    block = 4 * D + (4 * D * D + 4 * D) + (8 * D * D + 5 * D)
    assert params == sum(p.numel() for p in model.parameters()) == \
        V * D + C * D + depth * block + 2 * D
    assert macs == depth * (12 * L * D * D + 2 * L * L * D) + L * D * V
    assert "lm_head: {type: linear, out: 64, bias: false, tied: true}" in text


# ---------------------------------------------------------------- issue 15: ops real models use


class NanoGPTLastToken(NanoGPT):
    """nanoGPT's inference forward: ``logits = self.lm_head(x[:, [-1], :])``, only the last
    position (model.py, "inference-time mini-optimization")."""

    def forward(self, idx):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        return self.lm_head(x[:, [-1], :])


def test_nanogpt_last_token_head_by_hand(tmp_path):
    model = NanoGPTLastToken()
    V, D, L, depth = 64, 32, 12, 2
    (params, macs, _), text, _ = spec_totals(model, (L,), tmp_path)
    assert params == sum(p.numel() for p in model.parameters())
    # the head multiplies one token: D x V MACs, not L x D x V
    assert macs == depth * (12 * L * D * D + 2 * L * L * D) + D * V == oracle(model, (L,))[1]
    assert "{type: slice, start: 11, end: 12}" in text or "slice: {start: 11, end: 12}" in text


class ScaledScores(nn.Module):
    """Attention written out as nanoGPT's slow path does (without the mask): scores scaled by
    ``1.0 / math.sqrt(k.size(-1))`` (torch.fx records the size and math.sqrt as nodes: the
    importer computes the number from the traced shapes), softmax, times v;
    ``by_attribute`` divides by a number the module holds instead."""

    def __init__(self, d=16, heads=2, by_attribute=False):
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.d, self.heads, self.by_attribute = d, heads, by_attribute

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.qkv(x).split(self.d, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        if self.by_attribute:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.d // self.heads)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        y = F.softmax(att, dim=-1) @ v
        return self.out(y.transpose(1, 2).contiguous().view(B, T, C))


@pytest.mark.parametrize("by_attribute", [False, True])
def test_attention_scaled_by_a_constant(by_attribute, tmp_path):
    model, L, D = ScaledScores(by_attribute=by_attribute), 5, 16
    (params, macs, _), text, _ = spec_totals(model, (L, D), tmp_path)
    # by hand: qkv and out 4D^2 + 4D params; projections 4LD^2, QK^T and AV 2L^2D
    assert (params, macs) == (4 * D * D + 4 * D, 4 * L * D * D + 2 * L * L * D)
    assert (params, macs) == oracle(model, (L, D))[:2]
    # 1 / sqrt(8), heads of 16 / 2 features
    factor = r"(mul_const, by|(mul|div): \{by): 0\.35355339059327"
    assert re.search(factor, text), text
    _, imported = import_torch(model, input_shape=(L, D))
    assert imported.notes == []  # torch.fx traced it
    from archcost.importers.torch_fx import trace
    from archcost.importers.writer import write_spec

    text = write_spec(trace(model, (L, D), hooks_only=True))  # the hook trace: the same
    assert re.search(factor, text), text


class MeanPooledViT(nn.Module):
    """A ViT-style head without the class token: patch embedding, one encoder layer, the
    tokens averaged (``x.mean(dim=1)``), a classifier; and the same tokens with the first
    dropped (``x[:, 1:]``) before the mean."""

    def __init__(self, drop_first=False):
        super().__init__()
        self.embed = nn.Conv2d(3, 16, 4, 4)
        self.block = EncoderBlock(16, 2)
        self.head = nn.Linear(16, 10)
        self.drop_first = drop_first

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2)
        x = self.block(x)
        if self.drop_first:
            x = x[:, 1:]
        return self.head(x.mean(dim=1))


@pytest.mark.parametrize("drop_first", [False, True])
def test_mean_pooled_tokens(drop_first, tmp_path):
    model = MeanPooledViT(drop_first)
    got, text, _ = spec_totals(model, (3, 16, 16), tmp_path)
    assert got == oracle(model, (3, 16, 16))
    assert "mean" in text and ("slice" in text) == drop_first


def mean_pooled_vit(drop_first=False):
    return MeanPooledViT(drop_first).eval()


@pytest.mark.parametrize("drop_first", [False, True])
def test_imported_tokens_model_verifies_against_itself(drop_first, tmp_path):
    """`verify --against` reads a linear layer on tokens as torch does (in features = the last
    axis, not all elements: it reported 'linear 256->48 in spec; model has linear 16->48'),
    so an imported transformer agrees with the model it came from, layer by layer."""
    from archcost.against import against

    _, _, net = spec_totals(mean_pooled_vit(drop_first), (3, 16, 16), tmp_path)
    out = against(net, "tests.test_import_torch:mean_pooled_vit", {"drop_first": drop_first})
    assert out["ok"], out
    # the patch conv, the MLP's two linears on tokens, the head (attention is no conv/linear)
    assert out["weight_layers"]["matched"] == out["weight_layers"]["model"] == 4

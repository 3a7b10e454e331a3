"""Hand-computed oracles for attention, cross-attention, window attention and matmul.

Every expected number is written out as arithmetic from the formula in the paper or in
torch's module definitions, not copied from archcost's output.
"""

import pytest

from archcost.errors import SpecError
from archcost.shapes import layout_of, shaped
from tests.test_layers import run

TOK = shaped((197, 768), "LC")  # ViT-B/16: 196 patches + the class token, D = 768


def test_self_attention_vit_b_16_layer():
    c = run("attention", TOK, heads=12)
    L, D = 197, 768
    assert c.shape == (L, D) and layout_of(c.shape) == "LC"
    # q, k, v, out: four D x D weights and four D biases (nn.MultiheadAttention)
    assert c.params == 4 * D * D + 4 * D == 2_362_368
    assert c.bias == 4 * D
    # projections 4*L*D^2, QK^T and AV L^2*D each
    assert c.macs == 4 * L * D * D + 2 * L * L * D
    # twelve layers: torchvision's documented 17.56 GFLOPs include 5,577,375,744 MACs of
    # projections and 715,327,488 of QK^T and AV (issue 12)
    assert 12 * 4 * L * D * D == 5_577_375_744 and 12 * 2 * L * L * D == 715_327_488
    scores = 12 * L * L
    assert c.ops == 4 * scores + 3 * L * D + L * D  # scale + softmax; q/k/v and out bias adds
    # q, k, v, scores, probabilities and the heads' output are written besides the output
    assert c.extra == 3 * L * D + 2 * scores + L * D


def test_attention_without_biases_causal_and_head_dim():
    L, D = 1024, 768
    c = run("attention", shaped((L, D), "LC"), heads=12, qkv_bias=False, out_bias=False,
            causal=True)
    assert c.params == 4 * D * D and c.bias == 0
    assert c.macs == 4 * L * D * D + 2 * L * L * D  # causal is counted dense
    assert c.ops == 5 * 12 * L * L  # + the mask, one per score
    # head_dim given: inner width heads*head_dim = 8*32 = 256 on D = 100 features
    c = run("attention", shaped((10, 100), "LC"), heads=8, head_dim=32)
    assert c.shape == (10, 100)
    assert c.params == 100 * 256 * 3 + 256 * 100 + 3 * 256 + 100
    assert c.macs == 10 * 100 * 256 * 3 + 10 * 256 * 100 + 2 * 10 * 10 * 256


def test_grouped_query_attention():
    # 32 heads of 128 (D = 4096), 8 key/value heads: k and v project to 8*128 = 1024
    L, D, kv = 16, 4096, 1024
    c = run("attention", shaped((L, D), "LC"), heads=32, kv_heads=8, qkv_bias=False,
            out_bias=False)
    assert c.params == D * D + 2 * D * kv + D * D
    assert c.macs == L * D * D + 2 * L * D * kv + L * D * D + 2 * L * L * D
    with pytest.raises(SpecError, match="must divide heads"):
        run("attention", shaped((L, D), "LC"), heads=32, kv_heads=5)


def test_cross_attention():
    x, ctx = shaped((10, 64), "LC"), shaped((77, 32), "LC")
    c = run("cross_attention", x, ctx, heads=4)
    assert c.shape == (10, 64)
    assert c.params == 64 * 64 + 2 * 32 * 64 + 64 * 64 + 4 * 64
    assert c.macs == 10 * 64 * 64 + 2 * 77 * 32 * 64 + 10 * 64 * 64 + 2 * 10 * 77 * 64
    assert c.ops == 4 * 4 * 10 * 77 + 10 * 64 + 2 * 77 * 64 + 10 * 64


def test_attention_rejects_maps_and_bad_heads():
    with pytest.raises(SpecError, match=r"attention needs a tokens \(L, D\) input; got a map "
                                        r"\(768, 14, 14\)"):
        run("attention", (768, 14, 14), heads=12)
    with pytest.raises(SpecError, match="do not divide"):
        run("attention", TOK, heads=7)


def test_window_attention_swin_t_stage1():
    # Swin-T stage 1: 56x56x96, 3 heads, window 7: 64 windows of 49 tokens
    x = shaped((56, 56, 96), "HWC")
    c = run("window_attention", x, heads=3, window=7, shift=0)
    C, P = 96, 56 * 56
    assert c.shape == (56, 56, 96) and layout_of(c.shape) == "HWC"
    # qkv (3C^2 + 3C), proj (C^2 + C), relative position bias table (2*7-1)^2 * 3 heads
    assert c.params == 4 * C * C + 4 * C + 13 * 13 * 3
    assert c.buffers == 49 * 49  # relative_position_index
    # projections per position, QK^T and AV: 64 windows x 2 x 49^2 x 96
    assert c.macs == 4 * P * C * C + 64 * 2 * 49 * 49 * C
    scores = 3 * 64 * 49 * 49
    assert c.ops == 5 * scores + 3 * P * C + P * C
    shifted = run("window_attention", x, heads=3, window=7, shift=3)
    assert shifted.ops == c.ops + scores  # the mask
    # 7x7 map, window 7: torchvision drops the shift (one window covers the map)
    last = run("window_attention", shaped((7, 7, 768), "HWC"), heads=24, window=7, shift=3)
    assert last.ops == 5 * 24 * 49 * 49 + 4 * 49 * 768


def test_window_attention_pads_to_the_window():
    # 10x10 map, window 7: padded to 14x14 (4 windows), as torchvision does
    c = run("window_attention", shaped((10, 10, 32), "HWC"), heads=2, window=7, shift=0)
    assert c.shape == (10, 10, 32)
    assert c.macs == 4 * 196 * 32 * 32 + 4 * 2 * 49 * 49 * 32
    with pytest.raises(SpecError, match=r"needs a \(H, W, C\) input"):
        run("window_attention", (32, 10, 10), heads=2)


def test_matmul():
    a, b = (12, 197, 64), (12, 64, 197)
    c = run("matmul", a, b)
    assert c.shape == (12, 197, 197) and c.macs == 12 * 197 * 64 * 197 and c.params == 0
    t = run("matmul", a, a, t=True)  # Q K^T
    assert t.shape == (12, 197, 197) and t.macs == 12 * 197 * 64 * 197
    with pytest.raises(SpecError, match="inner sizes differ"):
        run("matmul", a, a)


ORACLES = {
    "attention": test_self_attention_vit_b_16_layer,
    "cross_attention": test_cross_attention,
    "window_attention": test_window_attention_swin_t_stage1,
    "matmul": test_matmul,
}


TINY_GPT = """
params: {seq_len: 16, vocab: 100, dim: 32, heads: 4, layers: 2}
input: {ids: [seq_len]}
blocks:
  decoder:
    args: [dim, heads]
    layers:
      - ln1: {type: layernorm}
      - attn: {type: attention, heads: heads, causal: true}
      - res1: {type: add, in: [attn, input]}
      - ln2: {type: layernorm}
      - fc: {type: linear, out: 4 * dim}
      - gelu: {approximate: tanh}
      - proj: {type: linear, out: dim}
      - res2: {type: add, in: [proj, res1]}
layers:
  - wte: {type: embedding, vocab: vocab, dim: dim}
  - wpe: {type: parameter, shape: [seq_len, dim], layout: tokens}
  - emb: {type: add, in: [wte, wpe]}
  - blocks: {type: decoder, dim: dim, heads: heads, repeat: layers}
  - ln_f: {type: layernorm}
  - head: {type: linear, out: vocab, bias: false, tied: true}
"""


def test_formula_in_seq_len_shows_the_quadratic_attention_term(tmp_path):
    import sympy

    from archcost import spec
    from archcost.formula import network_formula

    path = tmp_path / "tiny_gpt.yaml"
    path.write_text(TINY_GPT)
    doc, name = spec.load(str(path))
    result = network_formula(doc, name, ["seq_len"])
    (L,) = result.symbols
    D, V, layers = 32, 100, 2
    # per layer: 4*L*D^2 (projections) + 2*L^2*D (QK^T, AV) + 8*L*D^2 (MLP); the tied head L*D*V
    expected = layers * (2 * D * L**2 + 12 * D * D * L) + D * V * L
    assert sympy.expand(result.macs - expected) == 0
    assert sympy.Poly(result.macs, L).coeff_monomial(L**2) == layers * 2 * D
    # the position embedding grows with seq_len: params = wte + wpe + layers + final norm
    per_layer = 2 * 2 * D + (4 * D * D + 4 * D) + (D * 4 * D + 4 * D) + (4 * D * D + D)
    assert sympy.expand(result.params - (V * D + D * L + layers * per_layer + 2 * D)) == 0


def test_formula_in_resolution_for_a_vision_transformer(tmp_path):
    import sympy

    from archcost import spec
    from archcost.formula import network_formula

    path = tmp_path / "tiny_vit.yaml"
    path.write_text("""
params: {resolution: 32, patch: 8, dim: 64}
input: [3, resolution, resolution]
layers:
  - patches: {type: conv, out: dim, k: patch, s: patch}
  - flatten: {from: 1}
  - transpose
  - attn: {type: attention, heads: 4}
""")
    doc, name = spec.load(str(path))
    result = network_formula(doc, name, ["resolution"])
    (r,) = result.symbols
    for size in (32, 64, 224):
        L = (size // 8) ** 2
        assert result.macs.subs(r, size) == 8 * 8 * 3 * 64 * L + 4 * L * 64 * 64 + 2 * L * L * 64
    assert "resolution" in str(result.macs) and sympy.degree(
        result.macs.subs(sympy.floor(r / 8), r), r) == 4  # L^2 = (r/8)^4


def test_a_two_d_list_meant_as_tokens_gets_the_layout_hint():
    # `input: [197, 768]` is (C, L) by the documented default; the error says how to give tokens
    with pytest.raises(SpecError, match=r"input: \{tokens: \[197, 768\]\}"):
        run("attention", (197, 768), heads=12)


def test_verify_ties_a_linear_layer_to_an_earlier_linear_layer(tmp_path):
    # two 16 -> 16 linear layers sharing one matrix (an autoencoder-style tie, or what
    # `archcost import` writes for F.linear(x, fc1.weight)): params by hand = 16*16 + 16
    # (fc1) + 16 (fc2's bias only); verify builds it in torch, which counts the shared
    # matrix once, and agrees
    torch = pytest.importorskip("torch")
    from archcost.spec import build
    from archcost.torch_backend import build_module

    path = tmp_path / "tied.yaml"
    path.write_text("input: [16]\nlayers:\n  - fc1: {type: linear, out: 16}\n"
                    "  - fc2: {type: linear, out: 16, tied: true}\n")  # fmt: skip
    net = build(str(path))
    assert net.total("params") == 16 * 16 + 16 + 16
    model = build_module(net)
    assert sum(p.numel() for p in model.parameters()) == 16 * 16 + 16 + 16  # by hand, too
    assert model.module_for("fc2").weight is model.module_for("fc1").weight
    assert model(torch.zeros(1, 16)).shape == (1, 16)

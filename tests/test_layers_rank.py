"""Shapes of any rank: layouts, printing, the spec's input forms, and hand-computed oracles of
the tensor primitives (normalisation, learned tensors, embeddings, reshaping)."""

import pickle
import subprocess
import sys
import textwrap

import pytest

from archcost import spec
from archcost.errors import SpecError
from archcost.shapes import describe, fmt_shape, layout_of, parse_layout, shaped
from tests.test_layers import run


def tok(L, D):
    return shaped((L, D), "LC")


# ---------------------------------------------------------------- shapes


def test_layouts_default_by_rank_and_carried_otherwise():
    assert layout_of((8,)) == "N" and layout_of((1, 8000)) == "CL"
    assert layout_of((3, 224, 224)) == "CHW" and layout_of((3, 16, 112, 112)) == "CDHW"
    t = tok(197, 768)
    assert layout_of(t) == "LC" and t == (197, 768)  # still equal to the plain tuple
    assert type(shaped((3, 4, 5), "CHW")) is tuple  # the default layout is a plain tuple
    assert layout_of(pickle.loads(pickle.dumps(t))) == "LC"  # noqa: S301 (our own bytes)


def test_shapes_print_in_the_papers_order():
    assert fmt_shape((64, 112, 112)) == "112x112x64"
    assert fmt_shape(tok(197, 768)) == "197x768"
    assert fmt_shape((1, 8000)) == "1x8000"  # a 1-D map prints C x L
    assert fmt_shape((64, 8, 56, 56)) == "8x56x56x64"  # D x H x W x C
    assert fmt_shape(shaped((56, 56, 96), "HWC")) == "56x56x96"
    assert fmt_shape((1000,)) == "1000"
    assert describe(tok(197, 768)) == "tokens (197, 768)"
    assert parse_layout("tokens") == "LC" and parse_layout("LD") == "LC"
    assert parse_layout("hwc") == "HWC" and parse_layout("what") is None


def test_conv_on_tokens_is_a_clear_error():
    with pytest.raises(SpecError, match=r"conv needs a \(C, H, W\) input; got tokens "
                                        r"\(197, 768\)"):
        run("conv", tok(197, 768), out=8, k=3)


def write(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_input_forms(tmp_path):
    net = spec.build(write(tmp_path, """
        input: {tokens: [197, 768]}
        layers:
          - ln: {type: layernorm}
        """))
    assert net.input.shape == (197, 768) and layout_of(net.input.shape) == "LC"
    assert net.total("params") == 2 * 768
    net = spec.build(write(tmp_path, """
        input: {ids: [1024]}
        layers:
          - wte: {type: embedding, vocab: 50257, dim: 768}
        """))
    assert layout_of(net.output_shape) == "LC" and net.total("params") == 50257 * 768
    net = spec.build(write(tmp_path, """
        params: {n: 56}
        input: {shape: [n, n, 96], layout: HWC}
        layers:
          - ln: {type: layernorm}
        """))
    assert layout_of(net.input.shape) == "HWC" and net.total("params") == 2 * 96
    net = spec.build(write(tmp_path, """
        input: [1, 8000]
        layers:
          - bn
        """))
    assert net.total("params") == 2 and net.total("buffers") == 2


@pytest.mark.parametrize("text,message", [
    ("input: {tokens: [197, 768], x: 1}", r"'input' must be \[C, H, W\]"),
    ("input: {shape: [3, 4], layout: QQ}", "unknown layout"),
    ("input: {shape: [3, 4], layout: CHW}", "layout CHW has 3 axes, the shape 2"),
])  # fmt: skip
def test_bad_input_forms(tmp_path, text, message):
    path = write(tmp_path, text + "\nlayers:\n  - relu\n")
    with pytest.raises(SpecError, match=message) as err:
        spec.build(path)
    assert err.value.line == 1


def test_error_names_file_and_line_on_the_command_line(tmp_path):
    path = write(tmp_path, """
        input: {tokens: [197, 768]}
        layers:
          - ln: {type: layernorm}
          - conv: {out: 8, k: 3}
        """)
    proc = subprocess.run([sys.executable, "-m", "archcost", "table", path], capture_output=True,
                          text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"error: {path}:5: row 'conv': conv needs a (C, H, W) input; "
                                   "got tokens (197, 768)")
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- normalisation


def test_layernorm():
    c = run("layernorm", tok(197, 768))
    assert c.shape == (197, 768) and layout_of(c.shape) == "LC"
    assert (c.params, c.bias, c.buffers, c.macs) == (2 * 768, 768, 0, 0)
    assert c.ops == 5 * 197 * 768  # fvcore: 4 per element + 1 for the affine
    # ConvNeXt's LayerNorm2d: over the channels of a (C, H, W) map
    c = run("layernorm", (96, 56, 56))
    assert c.params == 2 * 96 and c.ops == 5 * 96 * 56 * 56
    c = run("layernorm", tok(4, 10), affine=False)
    assert (c.params, c.ops) == (0, 4 * 40)
    c = run("layernorm", tok(4, 10), bias=False)
    assert (c.params, c.bias) == (10, 0)
    with pytest.raises(SpecError, match="channel/feature axis"):
        run("layernorm", shaped((16,), "L"))


def test_rmsnorm_and_groupnorm():
    c = run("rmsnorm", tok(8, 4096))
    assert (c.params, c.ops) == (4096, 3 * 8 * 4096)
    g = run("groupnorm", (64, 28, 28), groups=32)
    assert (g.params, g.buffers, g.ops) == (2 * 64, 0, 5 * 64 * 28 * 28)
    with pytest.raises(SpecError, match="must divide"):
        run("groupnorm", (60, 28, 28), groups=32)
    with pytest.raises(SpecError, match=r"groupnorm needs a \(C, H, W\)"):
        run("groupnorm", tok(4, 64), groups=32)


def test_bn_of_every_rank():
    assert run("bn", (16, 100)).params == 2 * 16  # BatchNorm1d on (C, L)
    c = run("bn", (16, 4, 8, 8))  # BatchNorm3d
    assert (c.params, c.buffers, c.ops) == (32, 32, 2 * 16 * 4 * 8 * 8)
    assert run("bn", (100,)).params == 200  # BatchNorm1d on features
    with pytest.raises(SpecError, match="bn needs"):
        run("bn", tok(4, 8))


# ---------------------------------------------------------------- linear, learned tensors


def test_linear_on_the_last_axis():
    c = run("linear", tok(197, 768), out=3072)
    assert c.shape == (197, 3072) and layout_of(c.shape) == "LC"
    assert c.params == 768 * 3072 + 3072
    assert c.macs == 197 * 768 * 3072  # per token: L*in*out
    assert c.ops == 197 * 3072
    c = run("linear", shaped((7, 7, 96), "HWC"), out=384)
    assert c.shape == (7, 7, 384) and c.macs == 49 * 96 * 384
    # tied to the embedding (GPT-2's head): MACs, no weights; no bias here
    c = run("linear", tok(1024, 768), out=50257, bias=False, tied=True)
    assert (c.params, c.macs) == (0, 1024 * 768 * 50257)
    # a channels-first map is flattened, as the classic heads always were
    assert run("linear", (512, 1), out=35).macs == 512 * 35


def test_parameter():
    c = run("parameter", shape=[1, 768], layout="tokens")
    assert c.shape == (1, 768) and layout_of(c.shape) == "LC"
    assert (c.params, c.macs, c.ops) == (768, 0, 0)
    c = run("parameter", shape=[96, 1, 1])  # ConvNeXt layer scale (C, 1, 1)
    assert c.params == 96 and layout_of(c.shape) == "CHW"
    with pytest.raises(SpecError, match="unknown layout"):
        run("parameter", shape=[2, 3], layout="bogus")


def test_embedding_and_drop_path():
    c = run("embedding", shaped((1024,), "L"), vocab=50257, dim=768)
    assert c.shape == (1024, 768) and c.params == 50257 * 768 and c.macs == 0
    with pytest.raises(SpecError, match="embedding needs"):
        run("embedding", (3, 8, 8), vocab=10, dim=4)
    d = run("drop_path", tok(4, 8), p=0.1)
    assert d.shape == (4, 8) and (d.params, d.ops) == (0, 0)


def test_gelu_softplus_mish():
    for approx in ("none", "tanh"):
        c = run("gelu", tok(4, 8), approximate=approx)
        assert (c.shape, c.params, c.ops) == ((4, 8), 0, 32)
    assert run("softplus", (2, 3, 3)).ops == 18 and run("mish", (2, 3, 3)).ops == 18


# ---------------------------------------------------------------- reshaping


def test_concat_along_any_axis():
    cls = shaped((1, 768), "LC")
    c = run("concat", cls, tok(196, 768))  # the class token joins the sequence
    assert c.shape == (197, 768) and layout_of(c.shape) == "LC" and c.ops == 0
    c = run("concat", tok(4, 8), tok(4, 24), axis=-1)
    assert c.shape == (4, 32)
    with pytest.raises(SpecError, match="differ in size off axis"):
        run("concat", tok(4, 8), tok(5, 24), axis=-1)
    with pytest.raises(SpecError, match="differ in layout"):
        run("concat", tok(4, 8), (4, 8))


def test_flatten_from_to():
    assert run("flatten", (768, 14, 14)).shape == (768 * 196,)
    c = run("flatten", (768, 14, 14), **{"from": 1})
    assert c.shape == (768, 196) and layout_of(c.shape) == "CL"
    c = run("flatten", shaped((7, 7, 96), "HWC"), **{"from": 0, "to": 1})
    assert c.shape == (49, 96) and layout_of(c.shape) == "LC"


def test_transpose_permute_reshape():
    c = run("transpose", (768, 196))
    assert c.shape == (196, 768) and layout_of(c.shape) == "LC"
    c = run("permute", (96, 56, 28), dims=[1, 2, 0])
    assert c.shape == (56, 28, 96) and layout_of(c.shape) == "HWC"
    assert layout_of(run("permute", c.shape, dims=[2, 0, 1]).shape) == "CHW"
    c = run("reshape", tok(197, 768), shape=[197, 12, -1])
    assert c.shape == (197, 12, 64) and (c.params, c.ops) == (0, 0)
    assert layout_of(run("reshape", (4, 6), shape=[24, 1], layout="tokens").shape) == "LC"
    with pytest.raises(SpecError, match="elements"):
        run("reshape", (4, 6), shape=[5, 5])
    with pytest.raises(SpecError, match="not an order"):
        run("permute", (4, 6, 6), dims=[0, 0, 1])


def test_patchify_chunk_shuffle_pad_space_to_depth():
    c = run("patchify", (3, 224, 224), p=16)
    assert c.shape == (196, 16 * 16 * 3) and layout_of(c.shape) == "LC"
    with pytest.raises(SpecError, match="not a multiple"):
        run("patchify", (3, 225, 224), p=16)
    h = run("chunk", (116, 28, 28), chunks=2, index=1)
    assert h.shape == (58, 28, 28) and (h.params, h.ops) == (0, 0)
    with pytest.raises(SpecError, match="does not split"):
        run("chunk", (117, 28, 28), chunks=2)
    s = run("channel_shuffle", (116, 28, 28), groups=2)
    assert s.shape == (116, 28, 28) and s.ops == 0
    assert run("pad", (3, 10, 10), p=[1]).shape == (3, 12, 12)
    assert run("pad", (3, 10, 10), p=[0, 1, 2, 3]).shape == (3, 11, 15)
    assert run("pad", (8, 100), p=[2, 0]).shape == (8, 102)
    assert run("space_to_depth", (3, 8, 8), r=2).shape == (12, 4, 4)
    m = run("space_to_depth", shaped((57, 57, 96), "HWC"), r=2)
    assert m.shape == (29, 29, 384) and layout_of(m.shape) == "HWC"


ORACLES = {
    "layernorm": test_layernorm,
    "rmsnorm": test_rmsnorm_and_groupnorm,
    "groupnorm": test_rmsnorm_and_groupnorm,
    "parameter": test_parameter,
    "embedding": test_embedding_and_drop_path,
    "drop_path": test_embedding_and_drop_path,
    "gelu": test_gelu_softplus_mish,
    "softplus": test_gelu_softplus_mish,
    "mish": test_gelu_softplus_mish,
    "reshape": test_transpose_permute_reshape,
    "permute": test_transpose_permute_reshape,
    "transpose": test_transpose_permute_reshape,
    "patchify": test_patchify_chunk_shuffle_pad_space_to_depth,
    "chunk": test_patchify_chunk_shuffle_pad_space_to_depth,
    "channel_shuffle": test_patchify_chunk_shuffle_pad_space_to_depth,
    "pad": test_patchify_chunk_shuffle_pad_space_to_depth,
    "space_to_depth": test_patchify_chunk_shuffle_pad_space_to_depth,
}


def test_scale_gates_and_layer_scale():
    x = (256, 56, 56)
    assert run("scale", x, (256,)).ops == 256 * 56 * 56  # SE gate from a linear: (C,)
    assert run("scale", x, (256, 1, 1)).ops == 256 * 56 * 56  # SE gate from a 1x1 conv
    assert run("scale", tok(197, 768), (768,)).ops == 197 * 768  # layer scale on tokens
    with pytest.raises(SpecError, match="gate has 128 channels"):
        run("scale", x, (128,))
    with pytest.raises(SpecError, match="does not broadcast"):
        run("scale", tok(197, 768), (197,))


def test_activations_written_per_primitive(tmp_path):
    net = spec.build(write(tmp_path, """
        input: {tokens: [10, 16]}
        layers:
          - cls: {type: parameter, shape: [1, 16], layout: tokens}
          - cat: {type: concat, in: [cls, input]}
          - ln: {type: layernorm}
          - attn: {type: attention, heads: 2}
          - half: {type: chunk, chunks: 11, index: 0}
          - gelu
          - fc: {type: linear, out: 4}
        """))
    acts = {row.id: row.activations for row in net.rows}
    L, D = 11, 16
    assert acts["cls"] == 0  # a learned tensor, not written per sample
    assert acts["cat"] == L * D and acts["ln"] == L * D
    # output L*D + q, k, v (3*L*D) + scores and probabilities (2 * heads * L^2) + heads' output
    assert acts["attn"] == L * D + 3 * L * D + 2 * 2 * L * L + L * D
    assert acts["half"] == 0 and acts["gelu"] == 0  # a view; in place
    assert acts["fc"] == 4


def test_add_broadcasts_and_checks_layouts():
    assert run("add", tok(197, 768), tok(197, 768)).ops == 197 * 768
    assert run("add", tok(197, 768), (768,)).ops == 197 * 768  # a bias-like (D,) broadcasts
    # a (197, 768) tensor without a layout is a 1-D map: adding it to tokens is a mistake
    with pytest.raises(SpecError, match=r"differ in layout: tokens \(197, 768\), a 1-D map"):
        run("add", tok(197, 768), (197, 768))
    with pytest.raises(SpecError, match="differ in shape"):
        run("add", tok(197, 768), (5,))


@pytest.mark.parametrize("op,fields", [
    ("lrn", {}), ("maxpool", {"k": 2}), ("adaptive_maxpool", {"size": (2, 2)}),
    ("global_avgpool", {}), ("zero_pad", {"c": 1}), ("adaptive_avgpool", {"size": 1}),
    ("patchify", {"p": 2}), ("groupnorm", {"groups": 2}), ("upsample", {"scale": 2}),
    ("conv1d", {"out": 4, "k": 3}), ("conv3d", {"out": 4, "k": 3}),
])  # fmt: skip
def test_channel_first_primitives_reject_tokens(op, fields):
    with pytest.raises(SpecError, match=rf"{op} needs a .*; got tokens \(16, 8\)"):
        run(op, tok(16, 8), **fields)

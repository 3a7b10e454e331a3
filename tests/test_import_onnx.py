"""`archcost import onnx`: ONNX files made here with torch.onnx.export of modules written in
the tests and of benchmarks/_torch_models.py's models; the written spec's totals equal the
original module's numel, BN running statistics and FlopCounterMode / 2 (the oracle is torch,
not the ONNX reader's own counts)."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

from archcost.errors import SpecError  # noqa: E402
from archcost.importers.run import import_onnx  # noqa: E402
from archcost.spec import build  # noqa: E402

from .conftest import ROOT, reuse_onnx_op_registry, run_cli  # noqa: E402
from .test_import_torch import PRIMITIVE_MODULES, oracle  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import _torch_models  # noqa: E402

reuse_onnx_op_registry()


def export(model, shape, path, dynamo=False):
    """BN kept (no constant folding), so the file holds what the module holds."""
    model.eval()
    kwargs = {"dynamo": True, "optimize": False} if dynamo else {"dynamo": False,
                                                                   "do_constant_folding": False}  # fmt: skip
    torch.onnx.export(model, (torch.zeros(1, *shape),), str(path), **kwargs)
    return str(path)


def totals(text, tmp_path):
    spec = tmp_path / "from_onnx.yaml"
    spec.write_text(text)
    t = build(str(spec)).totals()
    return t["params"], t["macs"], t["buffers"]


# the legacy exporter's default file (constant folding on) of small modules of the common layers
ONNX_PRIMITIVES = ["conv", "bn", "pools", "linear head", "onnx activations"]
PRIMITIVE_MODULES = {**PRIMITIVE_MODULES, "onnx activations": (lambda: nn.Sequential(
    nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh(), nn.Hardswish(),
    nn.Hardsigmoid(), nn.SiLU(), nn.ELU(), nn.Conv2d(3, 4, 1), nn.SiLU()), (3, 4, 4))}


@pytest.mark.parametrize("name", ONNX_PRIMITIVES)
def test_round_trip_per_primitive(name, tmp_path):
    make, shape = PRIMITIVE_MODULES[name]
    model = make()
    path = export(model, shape, tmp_path / "m.onnx")
    text, _ = import_onnx(path)
    assert totals(text, tmp_path) == oracle(model, shape)


# rows of the spec a legacy export of the module writes (its node names carry the module
# paths; the block names are the importer's rule, onnx.py's where_legacy)
LEGACY_ROWS = {
    "resnet18": ["- layer1.0: {type: layer_block, repeat: 2}  # layer1.0 .. layer1.1",
                 "- layer2.0: {type: layer_block_downsample, conv1_out: 128}",
                 "- downsample: {type: conv_bn, out: conv1_out, in: input}"],
    "mobilenet_v2": ["- features.5: {type: features_block, conv_0_out: 192, repeat: 2}",
                     "- features.17: {type: features_block_without_add, conv_0_out: 960, s: 1, "
                     "conv_2_out: 320}",
                     "- features.18: {type: conv_bn_relu6, out: 1280, k: 1, p: 0, g: 1}"],
}


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "mobilenet_v2"])
def test_round_trip_of_benchmark_models(name, tmp_path):
    model = _torch_models.build(name)
    path = export(model, (3, 224, 224), tmp_path / f"{name}.onnx")
    text, imported = import_onnx(path)
    assert totals(text, tmp_path) == oracle(model, (3, 224, 224))
    assert (imported.params, imported.macs, imported.buffers) == oracle(model, (3, 224, 224))
    for row in LEGACY_ROWS.get(name, []):
        assert row in text, text


def _rows(text):
    """The top-level rows of a spec, labels and types."""
    return text[text.index("\nlayers:") + 1:].splitlines()[1:]


def test_both_exporters_keep_the_module_hierarchy(tmp_path):
    """dynamo's file names the module classes; the legacy file only the module paths. Both
    give ResNet-18 as the same rows of blocks, the legacy one with blocks named by rule."""
    model = _torch_models.resnet18().eval()
    text, _ = import_onnx(export(model, (3, 64, 64), tmp_path / "r18.onnx", dynamo=True))
    assert totals(text, tmp_path) == oracle(model, (3, 64, 64))
    assert "- layer2.0: {type: basic_block_downsample, conv1_out: 128}" in text
    assert "- layer1.0: {type: basic_block, repeat: 2}" in text
    legacy, _ = import_onnx(export(model, (3, 64, 64), tmp_path / "r18_legacy.onnx"))
    assert totals(legacy, tmp_path) == oracle(model, (3, 64, 64))
    named = text.replace("basic_block", "layer_block")
    assert _rows(legacy) == _rows(named)
    assert len(_rows(legacy)) == 14  # stem 4, 7 block rows (layer1 as one), pool, flatten, fc


def test_unknown_op_is_an_error(tmp_path):
    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, dim=1)

    path = export(Cumulative(), (3, 4, 4), tmp_path / "cumsum.onnx")
    with pytest.raises(SpecError, match="ONNX op CumSum"):
        import_onnx(path)
    result = run_cli("import", "onnx", path)
    assert result.returncode == 2 and result.stderr.startswith("error: ")


def test_cli_writes_a_spec(tmp_path):
    make, shape = PRIMITIVE_MODULES["linear head"]
    model = make()
    path = export(model, shape, tmp_path / "head.onnx")
    out = tmp_path / "head.yaml"
    result = run_cli("import", "onnx", path, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stderr and "DIFF" not in result.stderr
    assert totals(out.read_text(), tmp_path) == oracle(model, shape)


def test_missing_file():
    assert run_cli("import", "onnx", "nowhere.onnx").returncode == 2


def test_verify_against_an_onnx_file(tmp_path):
    from archcost.against import against

    model = _torch_models.resnet18().eval()
    path = export(model, (3, 64, 64), tmp_path / "r18.onnx")
    spec = tmp_path / "r18.yaml"
    # the built-in ResNet-18 (torchvision layout) at this input size, as the file holds it
    spec.write_text("extends: resnet18\nparams: {resolution: 64}\n")
    out = against(build(str(spec)), path)
    assert out["ok"], out
    assert out["weight_layers"]["matched"] == 21  # 17 convs + 3 projections + fc
    wrong = tmp_path / "r18_wrong.yaml"
    wrong.write_text("extends: resnet18\nparams: {resolution: 64, classes: 10}\n")
    out = against(build(str(wrong)), path)
    assert not out["ok"]
    assert out["divergence"].endswith("model has linear 512->1000 at fc")


# ------------------------------------------------------- the modules of every primitive

from .test_import_primitives import MODULES, lstm_macs, torch_counts  # noqa: E402

# every module's round trip reads the file of both torch exporters, legacy (TorchScript,
# do_constant_folding off) and dynamo (torch.export, opset 20, optimize off), but these:
NOT_EXPORTED = {
    "rmsnorm": {"legacy": "the legacy exporter refuses aten::rms_norm"},
    "channel_shuffle": {"legacy": "the legacy exporter refuses aten::channel_shuffle"},
    # adaptive pools to a size that does not divide the input
    "adaptive_avgpool1d": {"legacy": "no symbolic for a size that does not divide"},
    "adaptive_avgpool3d": {"legacy": "as adaptive_avgpool1d", "dynamo": "no decomposition"},
    "adaptive_maxpool1d": {"legacy": "as adaptive_avgpool1d", "dynamo": "no decomposition"},
    "adaptive_maxpool3d": {"legacy": "as adaptive_avgpool1d", "dynamo": "no decomposition"},
}
# files that are written but archcost does not read: an error naming the ONNX node
ONNX_NOT_IMPORTED = {
    "adaptive_avgpool1d": {"dynamo": "Gather/Transpose pieces of the uneven windows"},
}
# and these also from dynamo at opset 23, which writes ONNX's own op
OPSET23 = {"groupnorm", "rmsnorm"}
# What the exporters write for the modules whose ONNX form is not one op per layer:
# - lstm, gru: the ONNX op, Transposes of the batch axis around it (batch_first), and
#   W/R/B reordered by Slice/Concat of the torch weights (dynamo: with shape arithmetic);
# - chunk: legacy Slice with bounds from Shape arithmetic; dynamo SplitToSequence + SequenceAt;
# - groupnorm: Reshape, InstanceNormalization, Reshape, Mul, Add (opset 23: GroupNormalization);
# - lrn: Mul, Reshape, Pad, AveragePool (3-d), Squeeze (legacy: in an If), Mul, Add, Pow, Div;
# - rmsnorm: Pow, ReduceMean, Add, Sqrt, Reciprocal, Mul, Mul (opset 23: RMSNormalization);
# - attention, cross_attention: in_proj MatMul (packed, or q/k/v apart for kdim), Reshape/
#   Transpose/Gather of the heads, Mul by 1/sqrt(d), MatMul, Softmax, MatMul, out_proj Gemm,
#   Transposes for batch_first;
# - mish (legacy): x * Tanh(Softplus(x)); softplus (dynamo): Where(x > 20, x, Softplus(x));
#   elu (dynamo): Mul by 1 around Elu; upsample (legacy): Resize by Concat-ed scales.
PATTERNS = {"lstm", "gru", "chunk", "groupnorm", "lrn", "rmsnorm", "attention", "cross_attention"}
# and these from torch.onnx.export's defaults (dynamo, optimize=True), whose optimizer folds
# BN into convs, drops zero biases (so zero parameters are filled first: the file then holds
# what the module holds), merges a Pad into the Conv, precomputes an expanded class token,
# writes chunk as Split and folds the LSTM's weights into new initializers
DEFAULT_EXPORT = {"lstm", "chunk", "attention", "pad", "parameter", "softplus"}
# the primitive the import writes where it is not the module's own
ONNX_WRITTEN_AS = {("chunk", "legacy"): "slice"}  # a Slice of the channels


def test_every_module_is_decided_for_onnx():
    assert OPSET23 | PATTERNS | DEFAULT_EXPORT <= set(MODULES)
    assert not set(ONNX_NOT_IMPORTED) - set(NOT_EXPORTED)  # each states its exporters


def _undecided(table):
    """(module, exporter) pairs of a table, for the modules MODULES has."""
    return [(name, e) for name, exporters in sorted(table.items()) if name in MODULES
            for e in exporters]  # fmt: skip


@pytest.mark.parametrize("name,exporter", _undecided(NOT_EXPORTED))
def test_primitive_module_not_exported(name, exporter, tmp_path):
    make, shape = MODULES[name]
    with pytest.raises(Exception):  # noqa: B017 - torch's exporters raise several kinds
        export_any(make(), shape, tmp_path / "m.onnx", dynamo=exporter == "dynamo")


@pytest.mark.parametrize("name,exporter", _undecided(ONNX_NOT_IMPORTED))
def test_primitive_module_not_imported_is_an_error(name, exporter, tmp_path):
    make, shape = MODULES[name]
    path = export_any(make(), shape, tmp_path / "m.onnx", dynamo=exporter == "dynamo")
    with pytest.raises(SpecError, match="archcost has no primitive for"):
        import_onnx(path)


def export_any(model, shape, path, dynamo, opset=None, optimize=False):
    model.eval()
    dtype = torch.long if len(shape) == 1 else torch.float32
    kwargs = {"dynamo": True, "optimize": optimize} if dynamo else {"dynamo": False,
                                                                      "do_constant_folding": False}  # fmt: skip
    if opset:
        kwargs["opset_version"] = opset
    torch.onnx.export(model, (torch.zeros(1, *shape, dtype=dtype),), str(path), **kwargs)
    return str(path)


def _cases():
    for name in sorted(MODULES):
        for exporter in ("legacy", "dynamo", "opset23", "default"):
            if exporter not in NOT_EXPORTED.get(name, {}) and \
                    exporter not in ONNX_NOT_IMPORTED.get(name, {}) and \
                    (exporter != "opset23" or name in OPSET23) and \
                    (exporter != "default" or name in DEFAULT_EXPORT):  # fmt: skip
                yield name, exporter


def imported_totals(model, shape, tmp_path, exporter):
    if exporter == "default":
        with torch.no_grad():
            for p in model.parameters():
                if not p.any():
                    p.fill_(0.5)
    path = export_any(model, shape, tmp_path / "m.onnx", dynamo=exporter != "legacy",
                      opset=23 if exporter == "opset23" else None,
                      optimize=exporter == "default")  # fmt: skip
    text, imported = import_onnx(path)
    spec = tmp_path / "from_onnx.yaml"
    spec.write_text(text)
    net = build(str(spec))
    t = net.totals()
    return (t["params"], t["macs"]), {n.op for n in net.nodes}, text, imported


@pytest.mark.parametrize("name,exporter", list(_cases()))
def test_primitive_module_round_trip(name, exporter, tmp_path):
    make, shape = MODULES[name]
    model = make()
    expected = torch_counts(model, shape)
    if name == "lstm":  # FlopCounterMode counts no LSTM: its equations by hand
        expected = (expected[0], expected[1] + lstm_macs(7, 6, 5, 2, 2))
    got, ops, text, imported = imported_totals(model, shape, tmp_path, exporter)
    assert got == expected, text
    assert (imported.params, imported.macs) == expected  # the file's own count agrees
    if name in PATTERNS:
        assert ONNX_WRITTEN_AS.get((name, exporter), name) in ops, text


def test_tied_embedding_in_an_onnx_file(tmp_path):
    class TiedLM(nn.Module):
        """Token embedding, a layer norm, and a head whose weight is the embedding's table."""

        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(30, 8)
            self.ln = nn.LayerNorm(8)
            self.head = nn.Linear(8, 30, bias=False)
            self.head.weight = self.wte.weight

        def forward(self, ids):
            return self.head(self.ln(self.wte(ids)))

    model = TiedLM()
    path = export_any(model, (6,), tmp_path / "tied.onnx", dynamo=True)
    text, _ = import_onnx(path)
    spec = tmp_path / "tied.yaml"
    spec.write_text(text)
    t = build(str(spec)).totals()
    # by hand: the table once (30 x 8) and the LN (2 x 8); the head multiplies 6 x 8 x 30
    assert (t["params"], t["macs"]) == (30 * 8 + 16, 6 * 8 * 30) == torch_counts(model, (6,))
    assert "input: {ids: [6]}" in text and "tied: true" in text


# ------------------------------------------------------- LSTM/GRU, ONNX's own ops, by hand

class Lstm(nn.Module):
    def __init__(self, bias):
        super().__init__()
        self.rnn = nn.LSTM(3, 2, batch_first=True, bias=bias)

    def forward(self, x):
        return self.rnn(x)[0]


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_weights_and_both_bias_vectors(bias, exporter, tmp_path):
    model = Lstm(bias)
    # by hand: 4 gates of W_ih (2 x 3) and W_hh (2 x 2), and torch's two biases b_ih, b_hh
    params = 4 * (2 * 3 + 2 * 2) + (2 * 4 * 2 if bias else 0)
    macs = 4 * 4 * 2 * (3 + 2)  # 4 steps, each 4 gates of W_ih x_t + W_hh h_{t-1}
    assert params == sum(p.numel() for p in model.parameters()) == (56 if bias else 40)
    got, ops, text, imported = imported_totals(model, (4, 3), tmp_path, exporter)
    assert got == (imported.params, imported.macs) == (params, macs)
    assert f"rnn: {{type: lstm, hidden: 2{'' if bias else ', bias: false'}}}" in text


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_sequence_first_gru(exporter, tmp_path):
    from .test_import_primitives import SequenceFirstRnn

    model = SequenceFirstRnn()  # batch_first=False: the module transposes around the GRU
    got, ops, text, _ = imported_totals(model, (7, 6), tmp_path, exporter)
    assert got == torch_counts(model, (7, 6)), text
    # by hand: 2 directions x 3 gates x (5 x 6 + 5 x 5), no bias; head 10 -> 3
    assert got == (2 * 3 * (30 + 25) + 33, 7 * 2 * 3 * (30 + 25) + 7 * 30)


def _onnx_file(path, nodes, weights, shape, opset):
    from onnx import TensorProto, helper, numpy_helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, *shape])
    y = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)
    inits = [numpy_helper.from_array(torch.ones(*dims).numpy(), name)
             for name, dims in weights.items()]  # fmt: skip
    graph = helper.make_graph(nodes, "hand", [x], [y], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    import onnx

    onnx.save(model, str(path))
    return str(path)


def test_onnx_normalization_ops_by_hand(tmp_path):
    """ONNX's own GroupNormalization (opset 21), RMSNormalization (opset 23) and LRN in files
    written here: the counts by hand."""
    from onnx import helper

    conv = helper.make_node("Conv", ["x", "w", "b"], ["c"], name="/conv/Conv")
    cases = [
        ([conv, helper.make_node("GroupNormalization", ["c", "s", "t"], ["y"], num_groups=2,
                                 name="/gn/GroupNormalization")],
         {"w": (8, 4, 1, 1), "b": (8,), "s": (8,), "t": (8,)}, (4, 6, 6), 21,
         (8 * 4 + 8 + 2 * 8, 8 * 4 * 36), "gn: {type: groupnorm, groups: 2}"),
        ([conv, helper.make_node("LRN", ["c"], ["y"], size=3, beta=0.5, name="/lrn/LRN")],
         {"w": (8, 4, 1, 1), "b": (8,)}, (4, 6, 6), 13, (8 * 4 + 8, 8 * 4 * 36),
         "lrn: {size: 3, beta: 0.5}"),
        ([helper.make_node("MatMul", ["x", "w"], ["m"], name="/fc/MatMul"),
          helper.make_node("RMSNormalization", ["m", "s"], ["y"], epsilon=1e-6,
                           name="/norm/RMSNormalization")],
         {"w": (6, 8), "s": (8,)}, (5, 6), 23, (6 * 8 + 8, 5 * 6 * 8),
         "norm: {type: rmsnorm}"),
    ]
    for k, (nodes, weights, shape, opset, expected, row) in enumerate(cases):
        path = _onnx_file(tmp_path / f"{k}.onnx", nodes, weights, shape, opset)
        text, imported = import_onnx(path)
        assert totals(text, tmp_path)[:2] == (imported.params, imported.macs) == expected, text
        assert row in text, text


def test_split_into_unequal_pieces_is_a_slice(tmp_path):
    from onnx import helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
             helper.make_node("Split", ["c", "sizes"], ["p", "q"], axis=1, name="/Split"),
             helper.make_node("Conv", ["p", "wp"], ["a"], name="/left/Conv"),
             helper.make_node("Conv", ["q", "wq"], ["b"], name="/right/Conv"),
             helper.make_node("Add", ["a", "b"], ["y"], name="/Add")]  # fmt: skip
    weights = {"w": (8, 3, 1, 1), "wp": (4, 2, 1, 1), "wq": (4, 6, 1, 1)}
    path = _onnx_file(tmp_path / "split.onnx", nodes, weights, (3, 5, 5), 18)
    import onnx

    model = onnx.load(path)  # the sizes [2, 6] as an int64 initializer
    model.graph.initializer.append(onnx.numpy_helper.from_array(
        torch.tensor([2, 6]).numpy(), "sizes"))  # fmt: skip
    onnx.save(model, path)
    text, _ = import_onnx(path)
    # by hand: 8 x 3 + 4 x 2 + 4 x 6 weights; each over 25 positions
    assert totals(text, tmp_path)[:2] == (24 + 8 + 24, 25 * (24 + 8 + 24)), text
    assert "- slice: {start: 0, end: 2}" in text and "- slice: {start: 2, end: 8, in: conv}" in text
    assert "note" not in text  # the sizes are not a weight


class MaskedAttention(nn.Module):
    """nn.MultiheadAttention with a constant mask: causal (True above the diagonal, as a
    decoder's), or one that hides the last key from every query (not causal)."""

    def __init__(self, causal):
        super().__init__()
        self.causal = causal
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        if self.causal:
            mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
        else:
            mask = torch.zeros(5, 5, dtype=torch.bool)
            mask[:, 4] = True
        return self.attn(x, x, x, attn_mask=mask)[0]


class SdpaAttention(nn.Module):
    """A module's own attention: one Linear for q, k, v, torch's SDPA, an out Linear."""

    def __init__(self, causal=False):
        super().__init__()
        self.causal = causal
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)

    def forward(self, x):
        n, length, d = x.shape
        q, k, v = self.qkv(x).reshape(n, length, 3, 2, 4).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(y.transpose(1, 2).reshape(n, length, d))


# params by hand: q, k, v and out projections of 8 -> 8 with biases; MACs: the projections
# 4 x 5 x 8 x 8 and QK^T, AV 2 x 5 x 5 x 8 (FlopCounterMode has no formula for CPU's SDPA)
ATTENTION_8 = (4 * 8 * 8 + 4 * 8, 4 * 5 * 8 * 8 + 2 * 5 * 5 * 8)


@pytest.mark.parametrize("causal,exporter", [(False, "dynamo"), (True, "legacy"),
                                              (True, "dynamo"), (True, "opset23")])
def test_a_modules_own_sdpa_attention(causal, exporter, tmp_path):
    model = SdpaAttention(causal)
    assert sum(p.numel() for p in model.parameters()) == ATTENTION_8[0]
    got, ops, text, imported = imported_totals(model, (5, 8), tmp_path, exporter)
    assert got == (imported.params, imported.macs) == ATTENTION_8, text
    assert "- attention: {heads: 2" + (", causal: true}" if causal else "}") in text, text


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_causal_mask_and_another_mask(exporter, tmp_path):
    got, ops, text, imported = imported_totals(MaskedAttention(True), (5, 8), tmp_path, exporter)
    assert got == (imported.params, imported.macs) == ATTENTION_8, text
    assert "attn: {type: attention, heads: 2, causal: true}" in text
    # a mask that is not causal is not the pattern archcost fuses: an error naming a node
    path = export_any(MaskedAttention(False), (5, 8), tmp_path / "masked.onnx",
                      dynamo=exporter == "dynamo")  # fmt: skip
    with pytest.raises(SpecError, match="archcost has no primitive for .*(at attn|/attn/)"):
        import_onnx(path)


class Encoder(nn.Module):
    """Two nn.TransformerEncoderLayer (its attention runs torch's SDPA, need_weights off)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(6, 16)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.enc(self.embed(x)))


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_transformer_encoder_reads_as_one_block(exporter, tmp_path):
    model = Encoder()
    params, macs = torch_counts(model, (7, 6))
    # FlopCounterMode has no formula for CPU's fused SDPA kernel: QK^T and AV by hand,
    # 2 L^2 D per layer (L = 7 tokens, D = 16)
    macs += 2 * (2 * 7 * 7 * 16)
    got, ops, text, imported = imported_totals(model, (7, 6), tmp_path, exporter)
    assert got == (imported.params, imported.macs) == (params, macs), text
    block = "transformer_encoder_layer" if exporter == "dynamo" else "layers_block"
    assert f"- enc.layers.0: {{type: {block}, repeat: 2}}  # enc.layers.0 .. enc.layers.1" in text
    assert "- self_attn: {type: attention, heads: 4}" in text

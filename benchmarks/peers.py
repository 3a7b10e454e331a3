"""What each peer reports for torchvision's networks, next to archcost's presets of it.

    python benchmarks/peers.py [--no-probes]

For resnet50, googlenet, vgg16 and mobilenet_v2 (torchvision, 224 x 224), resnet18,
MobileNet v1, ViT-B/16, Swin-T, ConvNeXt-T and EfficientNet-B0 (torchvision's layouts),
GPT-2 124M (1,024 tokens, its attention written with nn.MultiheadAttention), M5 (1-D audio)
and a 3-layer bidirectional LSTM classifier, each peer
(ptflops in both backends, fvcore, thop, torchinfo, torch's FlopCounterMode) counts a fresh
model from benchmarks/_torch_models.py; archcost builds the matching spec
(``NAME:torchvision`` where the spec has that variant) and computes the same tool's number
with ``archcost.conventions`` (no torch). The goal is equality, cell by cell; a difference
is printed with its size.

The op probes then check each preset's per-op rule on one-layer (and a few two- and
three-row) models, including ops none of these networks has (sigmoid, average pooling,
softmax, a grouped conv with bias, 1-D/3-D and transposed convolutions, upsampling, group
and RMS norm, cross-attention, LSTM/GRU, reshapes, ...), each as a module and, where torch
code calls it so, as a functional call.

Results: benchmarks/results/peers.{json,md}.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import _bench as B
import _peer_count as P
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, B.ROOT)

from archcost import conventions as C  # noqa: E402
from archcost.spec import build  # noqa: E402

NETWORKS = {  # torch model -> archcost spec (the :torchvision variant when there is one)
    "resnet18": "resnet18:torchvision",
    "resnet50": "resnet50:torchvision",
    "googlenet": "googlenet:torchvision",
    "vgg16": "vgg16:torchvision",
    "mobilenet_v2": "mobilenet_v2:torchvision",
    "mobilenet": "mobilenet",
    "vit_b_16": "vit_b_16:torchvision",
    "swin_t": "swin_t:torchvision",
    "gpt2": "gpt2",
    "convnext_tiny": "convnext_tiny:torchvision",
    "efficientnet_b0": "efficientnet_b0:torchvision",
    "m5": "m5",
    "lstm_classifier": "lstm_classifier",
}
PRESET_OF = {p: p for p in P.PEERS}  # each peer's preset has the peer's name


def archcost_net(spec):
    base, _, variant = spec.partition(":")
    if not B.builtin_spec(base):
        return None, f"no spec '{base}' in this checkout"
    try:
        return build(spec), None
    except Exception as err:  # noqa: BLE001 - a variant missing before a merge
        if variant:
            try:
                return build(base), f"no :{variant} variant; used {base}"
            except Exception as err2:  # noqa: BLE001
                return None, str(err2)
        return None, str(err)


def compare_networks() -> list[dict]:
    rows = []
    for model, spec in NETWORKS.items():
        net, note = archcost_net(spec)
        for peer in P.PEERS:
            torch_model, shape = P.model_and_input(model)
            got = P.count(peer, torch_model, shape)
            row = {"model": model, "spec": spec if net is not None else None, "peer": peer,
                   "peer_params": got["params"], "peer_count": got["count"], "note": note}  # fmt: skip
            if net is not None:
                t = C.totals(net, PRESET_OF[peer])
                row.update(archcost_params=t["params"], preset_count=t["count"],
                           archcost_macs=net.total("macs"), spec=net.name,
                           diff=None if t["count"] is None else got["count"] - t["count"])  # fmt: skip
            rows.append(row)
            print(f"{model:13s} {peer:13s} {got['count']:>15,} {row.get('preset_count')}",
                  file=sys.stderr)
    return rows


# ---------------------------------------------------------------- op probes


class Functional(nn.Module):
    """A model whose forward calls a torch.nn.functional op, looked up at call time (as
    torchvision's code does: ``F.relu(x)``), so tools that patch ``F`` see the call."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


class Ids(nn.Module):
    """Token ids: the peers feed a float tensor (ptflops an uninitialised one); only its shape
    is used."""

    def __init__(self, emb):
        super().__init__()
        self.emb = emb

    def forward(self, x):
        return self.emb(torch.zeros_like(x, dtype=torch.long))  # ids: the shape matters


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): a layer norm over the channels of an NCHW map."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class FunctionalLinear(nn.Module):
    """A linear layer applied with F.linear on its own weights (as torchvision's Swin does)."""

    def __init__(self, i, o):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / i**0.5)
        self.bias = nn.Parameter(torch.zeros(o))

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention as torchvision's ViT and nn.TransformerEncoderLayer call it."""

    def __init__(self, dim, heads, bias=True):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads, bias=bias, batch_first=True)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


class CrossAttention(SelfAttention):
    def forward(self, x):
        q, kv = x.chunk(2, dim=1)
        return self.attn(q, kv, kv, need_weights=False)[0]


class AddParameter(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.pos = nn.Parameter(torch.zeros(1, n, d))

    def forward(self, x):
        return x + self.pos


class ScaleParameter(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * self.gamma


class Recurrent(nn.Module):
    """nn.LSTM / nn.GRU returning all hidden states of the last layer."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


PROBES = [
    # (label, input [C,H,W] or [N], archcost row, torch module, how torch calls it)
    ("conv 3x3, bias", [4, 10, 10], "conv: {out: 8, k: 3, p: 1}",
     lambda: nn.Conv2d(4, 8, 3, padding=1), "module"),
    ("conv 3x3/2, groups 4, no bias", [4, 11, 11], "conv: {out: 8, k: 3, s: 2, g: 4, bias: false}",
     lambda: nn.Conv2d(4, 8, 3, 2, groups=4, bias=False), "module"),
    ("linear, bias", [32], "linear: 10", lambda: nn.Linear(32, 10), "module"),
    ("linear, no bias", [32], "linear: {out: 10, bias: false}",
     lambda: nn.Linear(32, 10, bias=False), "module"),
    ("batch norm", [8, 6, 6], "bn", lambda: nn.BatchNorm2d(8), "module"),
    ("relu", [8, 6, 6], "relu", lambda: nn.ReLU(inplace=True), "module"),
    ("relu (F.relu)", [8, 6, 6], "relu", lambda: Functional(lambda x: F.relu(x)), "functional"),
    ("relu6", [8, 6, 6], "relu6", lambda: nn.ReLU6(inplace=True), "module"),
    ("relu6 (F.relu6)", [8, 6, 6], "relu6", lambda: Functional(lambda x: F.relu6(x)), "functional"),
    ("leaky relu", [8, 6, 6], "leaky_relu", lambda: nn.LeakyReLU(), "module"),
    ("elu", [8, 6, 6], "elu", lambda: nn.ELU(), "module"),
    ("gelu", [8, 6, 6], "gelu", lambda: nn.GELU(), "module"),
    ("silu", [8, 6, 6], "silu", lambda: nn.SiLU(), "module"),
    ("sigmoid", [8, 6, 6], "sigmoid", lambda: nn.Sigmoid(), "module"),
    ("tanh", [8, 6, 6], "tanh", lambda: nn.Tanh(), "module"),
    ("hardswish", [8, 6, 6], "hardswish", lambda: nn.Hardswish(), "module"),
    ("hardsigmoid", [8, 6, 6], "hardsigmoid", lambda: nn.Hardsigmoid(), "module"),
    ("max pool 3x3/2", [8, 9, 9], "maxpool: [3, 2]", lambda: nn.MaxPool2d(3, 2), "module"),
    ("max pool (F.max_pool2d)", [8, 9, 9], "maxpool: [3, 2]",
     lambda: Functional(lambda x: F.max_pool2d(x, 3, 2)), "functional"),
    ("avg pool 2x2/2", [8, 8, 8], "avgpool: [2, 2]", lambda: nn.AvgPool2d(2, 2), "module"),
    ("global avg pool", [8, 7, 7], "global_avgpool", lambda: nn.AdaptiveAvgPool2d(1), "module"),
    ("global avg pool (F.adaptive_avg_pool2d)", [8, 7, 7], "global_avgpool",
     lambda: Functional(lambda x: F.adaptive_avg_pool2d(x, (1, 1))), "functional"),
    ("adaptive avg pool 6->3", [8, 6, 6], "adaptive_avgpool: 3",
     lambda: nn.AdaptiveAvgPool2d(3), "module"),
    ("adaptive avg pool 7->7", [8, 7, 7], "adaptive_avgpool: 7",
     lambda: nn.AdaptiveAvgPool2d(7), "module"),
    ("softmax", [10], "softmax", lambda: nn.Softmax(dim=1), "module"),
    ("softmax on tokens (dim=-1)", "{tokens: [6, 16]}", "softmax",
     lambda: nn.Softmax(dim=-1), "module"),
    ("dropout", [8, 6, 6], "dropout", lambda: nn.Dropout(), "module"),
    ("LRN size 5", [8, 6, 6], "lrn: 5", lambda: nn.LocalResponseNorm(5), "module"),
    ("LRN size 4", [8, 6, 6], "lrn: 4", lambda: nn.LocalResponseNorm(4), "module"),
    # ---- round two: transformers and modern primitives (issue 12)
    ("gelu (F.gelu)", [8, 6, 6], "gelu", lambda: Functional(lambda x: F.gelu(x)), "functional"),
    ("gelu tanh", "{tokens: [6, 16]}", "gelu: tanh", lambda: nn.GELU(approximate="tanh"), "module"),
    ("silu (F.silu)", [8, 6, 6], "silu", lambda: Functional(lambda x: F.silu(x)), "functional"),
    ("softplus", [8, 6, 6], "softplus", lambda: nn.Softplus(), "module"),
    ("mish", [8, 6, 6], "mish", lambda: nn.Mish(), "module"),
    ("sigmoid (torch.sigmoid)", [8, 6, 6], "sigmoid",
     lambda: Functional(lambda x: torch.sigmoid(x)), "functional"),
    ("conv1d, bias", [4, 20], "conv1d: {out: 8, k: 3, p: 1}",
     lambda: nn.Conv1d(4, 8, 3, padding=1), "module"),
    ("conv3d, bias", [2, 6, 6, 6], "conv3d: {out: 4, k: 3, p: 1}",
     lambda: nn.Conv3d(2, 4, 3, padding=1), "module"),
    ("conv3d/2, no bias", [2, 7, 7, 7], "conv3d: {out: 4, k: 3, s: 2, bias: false}",
     lambda: nn.Conv3d(2, 4, 3, 2, bias=False), "module"),
    ("conv transpose 2x2/2, bias", [4, 5, 5], "conv_transpose: {out: 8, k: 2, s: 2}",
     lambda: nn.ConvTranspose2d(4, 8, 2, 2), "module"),
    ("conv transpose 3x3/2 p1, no bias", [4, 5, 5],
     "conv_transpose: {out: 6, k: 3, s: 2, p: 1, bias: false}",
     lambda: nn.ConvTranspose2d(4, 6, 3, 2, 1, bias=False), "module"),
    ("conv transpose 1d", [4, 10], "conv_transpose1d: {out: 8, k: 3, s: 2}",
     lambda: nn.ConvTranspose1d(4, 8, 3, 2), "module"),
    ("conv transpose 3d", [2, 3, 3, 3], "conv_transpose3d: {out: 4, k: 2, s: 2}",
     lambda: nn.ConvTranspose3d(2, 4, 2, 2), "module"),
    ("global avg pool 1d", [4, 12], "global_avgpool", lambda: nn.AdaptiveAvgPool1d(1), "module"),
    ("global avg pool 3d", [2, 4, 4, 4], "global_avgpool", lambda: nn.AdaptiveAvgPool3d(1),
     "module"),
    ("max pool 1d 3/2", [4, 13], "maxpool1d: [3, 2]", lambda: nn.MaxPool1d(3, 2), "module"),
    ("avg pool 1d 2/2", [4, 12], "avgpool1d: [2, 2]", lambda: nn.AvgPool1d(2, 2), "module"),
    ("max pool 3d 2/2", [2, 6, 6, 6], "maxpool3d: [2, 2]", lambda: nn.MaxPool3d(2, 2), "module"),
    ("avg pool 3d 2/2", [2, 6, 6, 6], "avgpool3d: [2, 2]", lambda: nn.AvgPool3d(2, 2), "module"),
    ("upsample nearest x2", [4, 5, 5], "upsample: 2",
     lambda: nn.Upsample(scale_factor=2), "module"),
    ("upsample bilinear x2", [4, 5, 5], "upsample: {scale: 2, mode: bilinear}",
     lambda: nn.Upsample(scale_factor=2, mode="bilinear"), "module"),
    ("upsample (F.interpolate) nearest x2", [4, 5, 5], "upsample: 2",
     lambda: Functional(lambda x: F.interpolate(x, scale_factor=2)), "functional"),
    ("upsample 1d linear x2", [4, 6], "upsample: {scale: 2, mode: linear}",
     lambda: nn.Upsample(scale_factor=2, mode="linear"), "module"),
    ("layer norm on tokens", "{tokens: [6, 16]}", "layernorm", lambda: nn.LayerNorm(16), "module"),
    ("layer norm, no affine", "{tokens: [6, 16]}", "layernorm: {affine: false}",
     lambda: nn.LayerNorm(16, elementwise_affine=False), "module"),
    ("layer norm 2d (ConvNeXt's LayerNorm2d)", [8, 6, 6], "layernorm",
     lambda: LayerNorm2d(8, eps=1e-6), "module"),
    ("group norm 4 groups", [8, 6, 6], "groupnorm: 4", lambda: nn.GroupNorm(4, 8), "module"),
    ("rms norm", "{tokens: [6, 16]}", "rmsnorm", lambda: nn.RMSNorm(16, eps=1e-6), "module"),
    ("batch norm 1d on (C, L)", [8, 10], "bn", lambda: nn.BatchNorm1d(8), "module"),
    ("embedding", "{ids: [7]}", "embedding: {vocab: 50, dim: 16}",
     lambda: Ids(nn.Embedding(50, 16)), "module"),
    ("linear on tokens, bias", "{tokens: [6, 16]}", "linear: 24", lambda: nn.Linear(16, 24),
     "module"),
    ("linear on tokens (F.linear)", "{tokens: [6, 16]}", "linear: 24",
     lambda: FunctionalLinear(16, 24), "functional"),
    ("self-attention 4 heads", "{tokens: [10, 16]}", "attention: 4",
     lambda: SelfAttention(16, 4), "module"),
    ("self-attention, no bias", "{tokens: [10, 16]}", "attention: {heads: 2, qkv_bias: false, "
     "out_bias: false}", lambda: SelfAttention(16, 2, bias=False), "module"),
    ("cross-attention 2 heads", "{tokens: [12, 16]}",
     ["q: {type: chunk, chunks: 2, index: 0}", "kv: {type: chunk, chunks: 2, index: 1, "
      "in: input}", "x: {type: cross_attention, heads: 2, in: [q, kv]}"],
     lambda: CrossAttention(16, 2), "module"),
    ("matmul (torch.matmul, q k^T)", "{tokens: [6, 16]}",
     ["a: {type: chunk, chunks: 2, index: 0, axis: 1}",
      "b: {type: chunk, chunks: 2, index: 1, axis: 1, in: input}",
      "m: {type: matmul, t: true, in: [a, b]}"],
     lambda: Functional(lambda x: torch.matmul(x[..., :8], x[..., 8:].transpose(-2, -1))),
     "functional"),
    ("matmul (a @ b)", "{tokens: [6, 16]}",
     ["a: {type: chunk, chunks: 2, index: 0, axis: 1}",
      "b: {type: chunk, chunks: 2, index: 1, axis: 1, in: input}",
      "m: {type: matmul, t: true, in: [a, b]}"],
     lambda: Functional(lambda x: x[..., :8] @ x[..., 8:].transpose(-2, -1)), "module"),
    ("parameter + add (position embedding)", "{tokens: [5, 16]}",
     ["pos: {type: parameter, shape: [5, 16], layout: tokens}", "add: {in: [input, pos]}"],
     lambda: AddParameter(5, 16), "module"),
    ("parameter * (layer scale)", "{tokens: [5, 16]}",
     ["g: {type: parameter, shape: [16], layout: N}", "scale: {in: [input, g]}"],
     lambda: ScaleParameter(16), "module"),
    ("add (torch.add)", [8, 6, 6], ["c: {type: relu}", "add: {in: [input, c]}"],
     lambda: Functional(lambda x: torch.add(x, F.relu(x))), "functional"),
    ("scale (torch.mul)", [8, 6, 6], ["c: {type: relu}", "scale: {in: [input, c]}"],
     lambda: Functional(lambda x: torch.mul(x, F.relu(x))), "functional"),
    ("gru 2 layers bidirectional", "{tokens: [5, 8]}",
     "gru: {hidden: 16, layers: 2, bidirectional: true}",
     lambda: Recurrent(nn.GRU(8, 16, 2, batch_first=True, bidirectional=True)), "module"),
    ("lstm, no bias", "{tokens: [5, 8]}", "lstm: {hidden: 16, bias: false}",
     lambda: Recurrent(nn.LSTM(8, 16, bias=False, batch_first=True)), "module"),
    ("lstm", "{tokens: [5, 8]}", "lstm: 16",
     lambda: Recurrent(nn.LSTM(8, 16, batch_first=True)), "module"),
    ("lstm 2 layers bidirectional", "{tokens: [5, 8]}",
     "lstm: {hidden: 16, layers: 2, bidirectional: true}",
     lambda: Recurrent(nn.LSTM(8, 16, 2, batch_first=True, bidirectional=True)), "module"),
    ("gru", "{tokens: [5, 8]}", "gru: 16",
     lambda: Recurrent(nn.GRU(8, 16, batch_first=True)), "module"),
    ("reshape/permute/transpose", [4, 6, 6],
     ["r: {type: reshape, shape: [4, 36]}", "t: {type: transpose}",
      "p: {type: permute, dims: [1, 0]}"],
     lambda: Functional(lambda x: x.reshape(1, 4, 36).transpose(1, 2).permute(0, 2, 1)
                        .contiguous()), "module"),
    ("patchify", [3, 8, 8], "patchify: 4",
     lambda: Functional(lambda x: x.reshape(1, 3, 2, 4, 2, 4).permute(0, 2, 4, 3, 5, 1)
                        .reshape(1, 4, 48)), "module"),
    ("chunk", [8, 6, 6], "chunk: [2, 1]", lambda: Functional(lambda x: x.chunk(2, 1)[1]),
     "module"),
    ("pad (F.pad)", [4, 5, 5], "pad: 1", lambda: Functional(lambda x: F.pad(x, (1, 1, 1, 1))),
     "functional"),
    ("channel shuffle", [8, 5, 5], "channel_shuffle: 2", lambda: nn.ChannelShuffle(2),
     "module"),
    ("space to depth (pixel unshuffle)", [4, 6, 6], "space_to_depth: 2",
     lambda: nn.PixelUnshuffle(2), "module"),
    ("drop path (identity at inference)", [8, 6, 6], "drop_path: 0.1", lambda: nn.Identity(),
     "module"),
    ("flatten + dropout", [8, 3, 3], ["f: {type: flatten}", "d: {type: dropout}"],
     lambda: nn.Sequential(nn.Flatten(), nn.Dropout()), "module"),
    # ---- round three: ops real models use that the importer met (issue 15)
    ("mul by a constant (x * 0.125)", [8, 6, 6], "mul_const: 0.125",
     lambda: Functional(lambda x: x * 0.125), "module"),
    ("mul by a constant (torch.mul)", [8, 6, 6], "mul_const: 0.5",
     lambda: Functional(lambda x: torch.mul(x, 0.5)), "functional"),
    ("divide by a constant (x / 4)", "{tokens: [6, 16]}", "mul_const: 0.25",
     lambda: Functional(lambda x: x / 4.0), "module"),
    ("slice of tokens (x[:, 1:])", "{tokens: [6, 16]}", "slice: [1, 6]",
     lambda: Functional(lambda x: x[:, 1:, :]), "module"),
    ("last token (x[:, [-1], :])", "{tokens: [6, 16]}", "slice: [5, 6]",
     lambda: Functional(lambda x: x[:, [-1], :]), "module"),
    ("mean over tokens (x.mean(dim=1))", "{tokens: [6, 16]}", "mean: 0",
     lambda: Functional(lambda x: x.mean(dim=1)), "module"),
    ("mean over tokens, keepdim (torch.mean)", "{tokens: [6, 16]}",
     "mean: {axis: 0, keepdim: true}",
     lambda: Functional(lambda x: torch.mean(x, 1, keepdim=True)), "functional"),
    ("adaptive avg pool 1d 12->5", [4, 12], "adaptive_avgpool1d: 5",
     lambda: nn.AdaptiveAvgPool1d(5), "module"),
    ("adaptive avg pool 1d (F.adaptive_avg_pool1d)", [4, 12], "adaptive_avgpool1d: 4",
     lambda: Functional(lambda x: F.adaptive_avg_pool1d(x, 4)), "functional"),
    ("adaptive avg pool 3d", [2, 4, 6, 6], "adaptive_avgpool3d: {size: [2, 3, 3]}",
     lambda: nn.AdaptiveAvgPool3d((2, 3, 3)), "module"),
    ("adaptive max pool 6->3", [8, 6, 6], "adaptive_maxpool: 3",
     lambda: nn.AdaptiveMaxPool2d(3), "module"),
    ("global max pool (adaptive max pool to 1)", [8, 7, 7], "adaptive_maxpool: 1",
     lambda: nn.AdaptiveMaxPool2d(1), "module"),
    ("adaptive max pool (F.adaptive_max_pool2d)", [8, 6, 6], "adaptive_maxpool: 3",
     lambda: Functional(lambda x: F.adaptive_max_pool2d(x, 3)), "functional"),
    ("adaptive max pool 1d", [4, 12], "adaptive_maxpool1d: 4",
     lambda: nn.AdaptiveMaxPool1d(4), "module"),
    ("adaptive max pool 3d", [2, 4, 6, 6], "adaptive_maxpool3d: {size: [2, 3, 3]}",
     lambda: nn.AdaptiveMaxPool3d((2, 3, 3)), "module"),
]  # fmt: skip


def run_probes(only=None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, shape, layer, factory, how in PROBES:
            if only and label not in only:
                continue
            path = os.path.join(tmp, "probe.yaml")
            spec_rows = [layer] if isinstance(layer, str) else layer
            with open(path, "w") as handle:
                handle.write(f"input: {shape}\nlayers:\n"
                             + "".join(f"  - {r}\n" for r in spec_rows))  # fmt: skip
            net = build(path)
            op = net.nodes[-1].op
            for n in net.nodes:  # how the probe's torch code calls it: the spec's `call:`
                n.call = C.FUNCTIONAL if how == "functional" else C.MODULE
            tshape = list(net.input.shape) if isinstance(shape, str) else shape
            for peer in P.PEERS:
                got = P.count(peer, factory().eval(), tshape)
                preds = [C.PRESETS[PRESET_OF[peer]].node(n) for n in net.nodes]
                pred = None if any(p is None for p in preds) else sum(preds)
                rows.append({"probe": label, "op": op, "calls": how, "peer": peer,
                             "peer_count": got["count"], "preset_count": pred,
                             "peer_params": got["params"],
                             "archcost_params": net.total("params")})  # fmt: skip
    return rows


def render(net_rows, probe_rows) -> str:
    out = ["Each cell: the peer's own total for the torch model / archcost's preset of that "
           "peer, computed from the spec without torch. = means equal.\n\n"]  # fmt: skip
    models = list(dict.fromkeys(r["model"] for r in net_rows))
    head = ["network (archcost spec)", "params (every peer)", "archcost MACs"] + list(P.PEERS)
    table = []
    for m in models:
        rs = [r for r in net_rows if r["model"] == m]
        params = {r["peer_params"] for r in rs}
        first = rs[0]
        cells = [f"{m} ({first.get('spec') or 'no spec: ' + str(first['note'])})",
                 ", ".join(f"{p:,}" for p in sorted(params))
                 + ("" if first.get("archcost_params") is None
                    else (" =" if params == {first['archcost_params']}
                          else f" vs archcost {first['archcost_params']:,}")),
                 f"{first['archcost_macs']:,}" if first.get("archcost_macs") else "-"]  # fmt: skip
        for r in rs:
            if r.get("preset_count") is None and r.get("spec") is None:
                cells.append(f"{r['peer_count']:,}")
            elif r.get("diff") == 0:
                cells.append(f"{r['peer_count']:,} =")
            else:
                pc = r.get("preset_count")
                cells.append(f"{r['peer_count']:,} vs {pc:,} ({r['diff']:+,})" if pc is not None
                             else f"{r['peer_count']:,} vs unknown")  # fmt: skip
        table.append(cells)
    out.append(B.md_table(head, table))
    ok = sum(1 for r in net_rows if r.get("diff") == 0)
    have = sum(1 for r in net_rows if r.get("spec"))
    out.append(f"\n{ok} of {have} network cells equal "
               f"({len(net_rows) - have} without an archcost spec in this checkout).\n\n")  # fmt: skip
    odd = [r for r in net_rows if r.get("archcost_params") not in (None, r["peer_params"])]
    if odd:
        out.append("Params a peer reports apart from the trainable parameters (BENCHMARKS.md "
                   "says why): " + "; ".join(f"{r['peer']} on {r['model']} {r['peer_params']:,}"
                                             for r in odd) + ".\n\n")  # fmt: skip
    if probe_rows:
        out.append("Op probes (one-layer models): peer total / preset, per peer.\n\n")
        probes = list(dict.fromkeys(r["probe"] for r in probe_rows))
        t2 = []
        for pr in probes:
            rs = [r for r in probe_rows if r["probe"] == pr]
            cells = [pr]
            for r in rs:
                if r["preset_count"] is None:
                    cells.append(f"{r['peer_count']:,} / unknown")
                elif r["preset_count"] == r["peer_count"]:
                    cells.append(f"{r['peer_count']:,} =")
                else:
                    cells.append(f"**{r['peer_count']:,} / {r['preset_count']:,}**")
            t2.append(cells)
        out.append(B.md_table(["probe"] + list(P.PEERS), t2))
        eq = sum(1 for r in probe_rows if r["preset_count"] == r["peer_count"])
        unk = sum(1 for r in probe_rows if r["preset_count"] is None)
        out.append(f"\n{eq} of {len(probe_rows)} probe cells equal; {unk} unknown by design "
                   f"(the preset says it cannot state that op); "
                   f"{len(probe_rows) - eq - unk} differ.\n")  # fmt: skip
    out.append("\nThe rules, per preset (archcost/conventions.py):\n\n")
    for name, conv in C.PRESETS.items():
        out.append(f"- `{name}` ({conv.label}): {conv.doc}\n")
    return "".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-probes", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    net_rows = compare_networks()
    probe_rows = [] if args.no_probes else run_probes()
    B.write_json("peers.json", {"machine": B.machine(), "networks": net_rows,
                                "probes": probe_rows})  # fmt: skip
    md = render(net_rows, probe_rows)
    B.write_text("peers.md", md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())

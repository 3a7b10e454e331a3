"""What other counters report for a network, computed from archcost's evaluated nodes.

ptflops, fvcore, thop, torchinfo and torch's FlopCounterMode each count "FLOPs" or "MACs" by
their own rules: which layers they see, one or two per multiply-add, whether bias adds, batch
norm, pooling and activations count, and whether a layer counts at all depends on how the
torch code calls it (an ``nn.ReLU`` module or ``F.relu``). Each preset below states those
rules, read from the tool's source (versions in BENCHMARKS.md), as a function of one node
(op, fields, input and output shapes, params, MACs); a preset's total is the sum over the
nodes. benchmarks/peers.py runs the real tools on torchvision's models next to these totals.

A preset is a pure function of the Network: no torch. Where a tool's count depends on how the
torch code calls an op, that is a property of the layer, read from the spec: each node's
``call`` is ``module`` (nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.AdaptiveAvgPool2d,
nn.Linear, nn.Softmax, ...; the default) or ``functional`` (F.relu, F.avg_pool2d, ...), set by
a row's ``call:`` (inherited by the rows of a block) or ``defaults: {OP: {call: functional}}``
(torchvision's BasicConv2d calls F.relu: googlenet:torchvision and inception_v3 say so). Adds
are ``+``/``+=``, concat is ``torch.cat``. An op whose count a preset cannot state exactly gives
``None`` (unknown, never a silent zero), and so does every sum that includes it.

Use :func:`count` (per node, per row and total) or :func:`totals` (the two numbers
``compare`` shows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from .graph import Network, Node
from .layers import elements

MODULE, FUNCTIONAL = "module", "functional"

@dataclass(frozen=True)
class Convention:
    name: str
    label: str  # column header: what the tool calls its number
    unit: str  # "MACs" or "FLOPs": one or two per multiply-add
    doc: str  # the rules in words
    node: Callable  # (node) -> int | None


# The primitives whose counts the presets state (archcost/layers.py when this was written).
# A primitive added later is unknown to every preset until its rule is added here.
ACTIVATION_OPS = frozenset({"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "hardswish",
                            "hardsigmoid", "silu", "gelu", "elu"})  # fmt: skip
KNOWN_OPS = ACTIVATION_OPS | {"conv", "linear", "maxpool", "avgpool", "global_avgpool",
                              "adaptive_avgpool", "lrn", "bn", "dropout", "flatten", "softmax",
                              "concat", "add", "scale", "zero_pad"}  # fmt: skip


def _in(node: Node):
    return node.inputs[0].shape


def _conv_bias(node: Node) -> int:
    """Bias adds of a conv or linear: one per output element (0 without a bias)."""
    return elements(node.shape) if node.fields.get("bias") else 0


def _weight_macs(node: Node) -> int:
    return node.macs if node.op in ("conv", "linear") else 0


# ---------------------------------------------------------------- archcost and torch


def _archcost(node):
    return node.macs  # archcost's own column: every primitive's MACs are known


# torch's FlopCounterMode registers formulas for mm, addmm, bmm, baddbmm, the convolutions
# (transposed too) and the CUDA scaled-dot-product attention kernels
# (torch/utils/flop_counter.py), so every archcost MAC is counted twice and no other work at
# all -- except where the kernel torch runs has no formula. Measured with torch 2.13 on CPU,
# autograd on (how the counter is used for training FLOPs):
# * nn.LSTM runs one fused kernel (aten.lstm -> mkldnn): 0; nn.GRU: 2 x its MACs.
# * nn.MultiheadAttention(need_weights=False), as torchvision's ViT and nn.Transformer call
#   it, runs scaled_dot_product_attention, whose CPU kernel has no formula: only the four
#   projections count, not QK^T and AV. (With need_weights=True it multiplies with bmm and
#   all count; under torch.no_grad the fast path counts nothing; on CUDA the flash kernel
#   counts. The preset is the CPU, autograd, need_weights=False case.)
# * Swin's window attention multiplies with explicit matmuls: all count.
_TORCH_ZERO = frozenset({"lstm"})
_TORCH_SDPA = frozenset({"attention", "cross_attention"})
# user-defined primitives (`primitives:`) say nothing of how torch would run them
_TORCH_UNKNOWN = frozenset({"custom"})


def _torch(node):
    if node.op in _TORCH_UNKNOWN:
        return None
    if node.op in _TORCH_ZERO:
        return 0
    if node.op in _TORCH_SDPA:
        return 2 * (node.macs - _score_macs(node))
    return 2 * node.macs


def _score_macs(node) -> int:
    """QK^T and AV of an attention node: 2 x L_q x L_k x inner width (layers_attention)."""
    from .layers_attention import _widths

    f = node.fields
    lq, d = node.inputs[0].shape
    lk = node.inputs[1].shape[0] if len(node.inputs) > 1 else lq
    inner, _kv = _widths(d, f["heads"], f.get("head_dim"), f.get("dim"), f.get("kv_heads"),
                         node.op)  # fmt: skip
    return 2 * lq * lk * inner


# ---------------------------------------------------------------- ptflops

# ptflops 0.7.5, pytorch backend (the default). Module hooks (pytorch_ops.MODULES_MAPPING)
# fire for these exact classes; during the count it also replaces some torch.nn.functional
# entries (patch_functional) and counts every call of them, including the call a hooked
# module's own forward makes: nn.ReLU's forward calls F.relu, so a ReLU module counts twice.
_PTFLOPS_MODULE = {  # op -> elements counted per element of the input, as a module
    "relu": 2,  # relu_flops_counter_hook (output numel) + patched F.relu (input numel)
    "relu6": 1,  # hook; nn.ReLU6.forward calls F.hardtanh, which is not patched
    "leaky_relu": 1,  # hook; F.leaky_relu is not patched
    "elu": 2,  # hook + patched F.elu
    "gelu": 2,  # hook + patched F.gelu
    "silu": 1,  # no hook for nn.SiLU; its forward calls the patched F.silu
    "sigmoid": 0, "tanh": 0, "hardswish": 0, "hardsigmoid": 0,  # no hook, no patch
    "maxpool": 2,  # pool_flops_counter_hook (input numel) + patched F.max_pool2d
    "avgpool": 2,  # hook + patched F.avg_pool2d
    "global_avgpool": 2,  # nn.AdaptiveAvgPool2d hook + patched F.adaptive_avg_pool2d
    "adaptive_avgpool": 2,
    "softmax": 1,  # no hook for nn.Softmax; its forward calls the patched F.softmax
    "lrn": None,  # see _ptflops_lrn
    "dropout": 0, "flatten": 0, "concat": 0, "zero_pad": 0,
    "add": 0,  # a + b / a += b: Tensor.__add__/__iadd__ (only torch.add, Tensor.add patched)
    "scale": 0,  # a * b: Tensor.__mul__ (only torch.mul, Tensor.mul patched)
}  # fmt: skip
_PTFLOPS_FUNCTIONAL = {"relu": 1, "relu6": 1, "elu": 1, "gelu": 1, "silu": 1, "maxpool": 1,
                       "avgpool": 1, "global_avgpool": 1, "adaptive_avgpool": 1,
                       "softmax": 1, "leaky_relu": 0, "lrn": None}  # fmt: skip


def _ptflops_lrn(node) -> int:
    """nn.LocalResponseNorm has no hook, but F.local_response_norm (torch 2.13) calls patched
    ops on a 4-D input: input.mul(input) (1/element), avg_pool3d over the input padded by
    size - 1 channels (1 per padded input element), div.mul(alpha) and .add(k) (1/element
    each); pow and the final divide are not patched."""
    c, h, w = _in(node)
    return 3 * c * h * w + (c + node.fields["size"] - 1) * h * w


def _ptflops(node):
    op = node.op
    if op in ("conv", "linear"):
        # conv_flops_counter_hook / linear_flops_counter_hook: MACs + one per output of the bias
        return node.macs + _conv_bias(node)
    if op == "bn":
        return 2 * elements(_in(node))  # bn_flops_counter_hook: numel, x2 when affine
    if op == "lrn":
        return _ptflops_lrn(node)  # the same whether the module or F.local_response_norm
    table = _PTFLOPS_FUNCTIONAL if node.call == FUNCTIONAL else _PTFLOPS_MODULE
    if op not in table or op not in KNOWN_OPS:
        return None  # a call style or an op whose count is not stated here
    return table[op] * elements(_in(node))


def _ptflops_aten(node):
    # ptflops 0.7.5, backend='aten' (aten_ops.ATEN_OPS_MAPPING): aten.convolution (MACs plus
    # bias), aten.addmm (MACs plus bias), aten.mm; nothing else.
    if node.op in ("conv", "linear"):
        return node.macs + _conv_bias(node)
    return 0 if node.op in KNOWN_OPS else None


# ---------------------------------------------------------------- fvcore


def _fvcore(node):
    # fvcore 0.1.5 FlopCountAnalysis (flop_count._DEFAULT_SUPPORTED_OPS, jit_handles): one
    # flop per multiply-add for aten::_convolution and aten::linear/addmm (no bias),
    # aten::batch_norm 2 per input element in eval mode with affine, adaptive_avg_pool2d 1 per
    # input element; relu, dropout, cat, flatten are ignored; max/avg pooling, add, mul,
    # softmax, hardtanh (ReLU6), sigmoid ... are unsupported and count 0 (with a warning).
    op = node.op
    if op in ("conv", "linear"):
        return node.macs
    if op == "bn":
        return 2 * elements(_in(node))
    if op in ("global_avgpool", "adaptive_avgpool"):
        return elements(_in(node))  # module or functional: the same aten op
    return 0 if op in KNOWN_OPS else None


# ---------------------------------------------------------------- thop


def _thop(node):
    # thop 0.1.1 (profile.register_hooks, vision/basic_hooks.py, calc_func.py); modules only:
    # a functional call counts nothing.
    op = node.op
    if op in ("conv", "linear"):
        return node.macs  # count_convNd / count_linear: no bias
    if op == "bn":
        # count_normalization: calculate_norm(numel) is already 2 * numel, and it doubles that
        # again for an affine norm: 4 per element
        return 4 * elements(_in(node))
    if op not in KNOWN_OPS:
        return None
    if node.call == FUNCTIONAL:
        return 0
    if op == "avgpool":
        return elements(node.shape)  # count_avgpool: one per output element
    if op in ("global_avgpool", "adaptive_avgpool"):
        # count_adap_avgpool: (prod(input_hw / output_hw) + 1) * output numel, in doubles,
        # truncated by int(); exact here when the sizes divide (as in every model we run)
        _, h, w = _in(node)
        _, oh, ow = node.shape
        return int((Fraction(h, oh) * Fraction(w, ow) + 1) * elements(node.shape))
    if op == "softmax":
        n = elements(_in(node))
        return 3 * n - 1  # calculate_softmax: n exp + (n - 1) adds + n divides per row
    # relu, relu6, maxpool, dropout: zero_ops; leaky_relu: count_relu returns 0;
    # no hook for the other activations, LRN, flatten, cat, add, mul, zero padding
    return 0 if op in KNOWN_OPS else None


# ---------------------------------------------------------------- torchinfo


def _torchinfo(node):
    # torchinfo 1.8 LayerInfo.calculate_macs: a Conv layer counts (weight + bias params) x
    # output positions; any other layer with weight/bias params counts those params x batch.
    op = node.op
    if op == "conv":
        return node.macs + _conv_bias(node)
    # linear: in*out + out; bn: 2*C; the parameter-free layers: 0
    return node.params if op in KNOWN_OPS else None


PRESETS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("archcost", "MACs", "MACs",
                   "multiply-accumulates of conv, linear and matrix-product (attention) layers "
                   "only (archcost's own count)",
                   _archcost),
        Convention("fvcore", "fvcore flops", "MACs",
                   "fvcore FlopCountAnalysis: conv and linear multiply-adds (one each, no "
                   "bias) + batch norm 2/element + adaptive average pooling 1/input element; "
                   "pooling, activations, adds count 0", _fvcore),
        Convention("ptflops", "ptflops MACs", "MACs",
                   "ptflops (pytorch backend): conv/linear multiply-adds + bias adds + batch "
                   "norm 2/element + ReLU, max/avg/adaptive pooling 2/input element as modules "
                   "(hook + patched functional), 1 when called functionally; ReLU6 1; LRN "
                   "3/element + 1/padded element; adds 0",
                   _ptflops),
        Convention("ptflops-aten", "ptflops MACs (aten)", "MACs",
                   "ptflops (aten backend): conv and linear multiply-adds + their bias adds",
                   _ptflops_aten),
        Convention("thop", "thop MACs", "MACs",
                   "thop profile: conv/linear multiply-adds (no bias) + batch norm 4/element "
                   "+ avg pool 1/output + adaptive avg pool (window + 1)/output, modules only; "
                   "ReLU, max pool, adds 0", _thop),
        Convention("torchinfo", "torchinfo mult-adds", "MACs",
                   "torchinfo summary: conv (weights + bias) x output positions; other layers "
                   "their parameter count (linear in*out + out, batch norm 2C)", _torchinfo),
        Convention("torch", "FLOPs (torch)", "FLOPs",
                   "torch.utils.flop_counter.FlopCounterMode (CPU, autograd on): 2 per "
                   "multiply-add of conv, linear and matrix products, nothing else; not "
                   "counted: attention's QK^T and AV inside scaled_dot_product_attention and "
                   "nn.LSTM's fused kernel", _torch),
    )
}  # fmt: skip
NAMES = tuple(PRESETS)


def get(name: str) -> Convention:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown convention {name!r}; one of {', '.join(NAMES)}") from None


def _sum(values):
    total = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total


@dataclass
class Counted:
    convention: Convention
    nodes: dict  # node id -> count (None: unknown)
    rows: dict  # row id -> count (None: unknown)
    total: int | None  # over the inference nodes (training-only rows included when built so)
    params: int  # every preset counts all trainable parameters: archcost's params
    unknown_ops: tuple  # ops this preset cannot count exactly


def count(net: Network, name: str) -> Counted:
    """Per node, per row and in total, what the tool ``name`` reports for ``net``."""
    conv = get(name)
    nodes = {n.id: conv.node(n) for n in net.nodes}
    rows = {r.id: _sum(nodes[n.id] for n in r.nodes) for r in net.rows}
    unknown = tuple(sorted({n.op for n in net.nodes if nodes[n.id] is None}))
    return Counted(conv, nodes, rows, _sum(nodes.values()), net.total("params"), unknown)


def totals(net: Network, name: str) -> dict:
    """The numbers a comparison shows: {'convention', 'label', 'unit', 'params', 'count'}."""
    c = count(net, name)
    return {"convention": name, "label": c.convention.label, "unit": c.convention.unit,
            "params": c.params, "count": c.total, "unknown_ops": list(c.unknown_ops)}  # fmt: skip

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

Transformer layers are read as torch code usually writes them, and each such reading is
stated where a rule uses it: ``attention``/``cross_attention`` are ``nn.MultiheadAttention``
(need_weights=False, as torchvision's ViT and nn.Transformer call it; a shape that module
cannot compute, such as grouped-query heads, is unknown to the tools that hook it);
``window_attention`` is torchvision's ShiftedWindowAttention (F.linear on its weights,
Tensor.matmul, F.softmax); a ``layernorm`` over the channels of a channels-first map is
torchvision's LayerNorm2d (ConvNeXt; an nn.LayerNorm subclass); a ``linear`` on
``patchify``'s patches is the patch-embedding Conv2d (k = s = p); ``matmul`` is the ``@``
operator, or torch.matmul with ``call: functional``. Every built-in primitive has a rule in
every preset; benchmarks/peers.py checks each on one-layer models and on ViT-B/16, Swin-T,
ConvNeXt-T, EfficientNet-B0, GPT-2, M5 and an LSTM classifier.

Use :func:`count` (per node, per row and total) or :func:`totals` (the two numbers
``compare`` shows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from .graph import Network, Node
from .layers import elements
from .layers_attention import node_widths
from .shapes import layout_of

MODULE, FUNCTIONAL = "module", "functional"

@dataclass(frozen=True)
class Convention:
    name: str
    label: str  # column header: what the tool calls its number
    unit: str  # "MACs" or "FLOPs": one or two per multiply-add
    doc: str  # the rules in words
    node: Callable  # (node) -> int | None


# The primitives whose counts the presets state (every built-in primitive of archcost/layers*.py;
# `custom`, a user's primitive, says nothing of how torch would run it and is unknown to every
# preset but archcost's own). A primitive added later is unknown to a preset until its rule is
# added here.
ACTIVATION_OPS = frozenset({"relu", "relu6", "leaky_relu", "sigmoid", "tanh", "hardswish",
                            "hardsigmoid", "silu", "gelu", "elu", "softplus", "mish"})  # fmt: skip
# ops that run no counted work in any of the hook/trace tools: views, copies, reshapes, learned
# tensors used through an add/concat, identity at inference (each checked by a probe in
# benchmarks/peers.py: tensor methods and F.pad are not patched by ptflops, have no thop hook,
# no params for torchinfo, and are ignored or unsupported (0) in fvcore)
MOVE_OPS = frozenset({"dropout", "flatten", "concat", "zero_pad", "slice", "reshape", "permute",
                      "transpose", "patchify", "chunk", "pad", "channel_shuffle",
                      "space_to_depth", "drop_path", "parameter"})  # fmt: skip
CONV_OPS = frozenset({"conv", "conv1d", "conv3d"})
TRANSPOSED_OPS = frozenset({"conv_transpose", "conv_transpose1d", "conv_transpose3d"})
ATTENTION_OPS = frozenset({"attention", "cross_attention"})
# adaptive pooling of any rank (the 2-D average one to 1 x 1 is global_avgpool)
ADAPTIVE_AVG_OPS = frozenset({"global_avgpool", "adaptive_avgpool", "adaptive_avgpool1d",
                              "adaptive_avgpool3d"})  # fmt: skip
ADAPTIVE_MAX_OPS = frozenset({"adaptive_maxpool", "adaptive_maxpool1d", "adaptive_maxpool3d"})
KNOWN_OPS = ACTIVATION_OPS | MOVE_OPS | CONV_OPS | TRANSPOSED_OPS | ATTENTION_OPS | \
    ADAPTIVE_AVG_OPS | ADAPTIVE_MAX_OPS | {
        "linear", "maxpool", "avgpool", "lrn", "bn", "softmax", "add", "scale", "maxpool1d",
        "maxpool3d", "avgpool1d", "avgpool3d", "upsample", "layernorm", "groupnorm", "rmsnorm",
        "embedding", "matmul", "window_attention", "lstm", "gru", "mul_const", "mean"}  # fmt: skip


def _in(node: Node):
    return node.inputs[0].shape


def _conv_bias(node: Node) -> int:
    """Bias adds of a conv or linear: one per output element (0 without a bias)."""
    return elements(node.shape) if node.fields.get("bias") else 0


def _linear_weights(node: Node) -> int:
    """in*out (+ out): the nn.Linear's own parameters, tied or frozen alike."""
    out = node.shape[-1]
    positions = elements(node.shape) // out
    return node.macs // positions + (out if node.fields.get("bias") else 0)


def _layernorm_2d(node: Node) -> bool:
    """A layer norm over the channels of a channels-first map: torchvision's LayerNorm2d
    (ConvNeXt), a subclass of nn.LayerNorm whose forward permutes and calls F.layer_norm."""
    return layout_of(_in(node)) in ("CHW", "CL", "CDHW")


def _after_patchify(node: Node) -> bool:
    """A linear on the patches of a map: torch code writes it as one p x p convolution at
    stride p (torchvision's ViT ``conv_proj``, timm's ``PatchEmbed``)."""
    return node.op == "linear" and node.inputs[0].op == "patchify"


def _mha(node: Node):
    """(L_q, D, L_k, D_k, heads) of an attention node that ``nn.MultiheadAttention`` computes
    (width D = embed_dim, output D, one bias flag for all four projections, no grouped-query
    heads), else None: the tools that hook that module then say nothing of the code that would
    run instead."""
    f = node.fields
    lq, d = node.inputs[0].shape
    lk, dk = node.inputs[1].shape if len(node.inputs) > 1 else (lq, d)
    inner, kv = node_widths(node)
    if inner != d or kv != inner or (f.get("out") or d) != d \
            or bool(f.get("qkv_bias", True)) != bool(f.get("out_bias", True)):  # fmt: skip
        return None
    return lq, d, lk, dk, f["heads"]


def _window(node: Node):
    """(padded positions H_p*W_p, window w, channels C, heads) of a window attention."""
    h, w, c = _in(node)
    win = node.fields["window"]
    return -(-h // win) * win * (-(-w // win) * win), win, c, node.fields["heads"]


def _rnn_units(node: Node) -> int:
    """layers x directions x steps x hidden: the hidden units updated over the sequence."""
    f = node.fields
    return (f.get("layers") or 1) * (2 if f.get("bidirectional") else 1) * node.shape[0] * \
        f["hidden"]  # fmt: skip


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
_TORCH_UNKNOWN = frozenset({"custom", "unknown"})  # and ops archcost has no formula for


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
    lq = node.inputs[0].shape[0]
    lk = node.inputs[1].shape[0] if len(node.inputs) > 1 else lq
    return 2 * lq * lk * node_widths(node)[0]


# ---------------------------------------------------------------- ptflops

# ptflops 0.7.5, pytorch backend (the default). Module hooks (pytorch_ops.MODULES_MAPPING)
# fire for these exact classes; during the count it also replaces some torch.nn.functional
# entries (patch_functional) and counts every call of them, including the call a hooked
# module's own forward makes: nn.ReLU's forward calls F.relu, so a ReLU module counts twice.
# It also patches torch.matmul/mm/bmm/addmm/baddbmm/mul/add and the same Tensor methods
# (patch_tensor_ops), but not the operators @, +, * nor F.linear, F.conv*, F.layer_norm.
_PTFLOPS_MODULE = {  # op -> elements counted per element of the input, as a module
    "relu": 2,  # relu_flops_counter_hook (output numel) + patched F.relu (input numel)
    "relu6": 1,  # hook; nn.ReLU6.forward calls F.hardtanh, which is not patched
    "leaky_relu": 1,  # hook; F.leaky_relu is not patched
    "elu": 2,  # hook + patched F.elu
    "gelu": 2,  # hook + patched F.gelu
    "silu": 1,  # no hook for nn.SiLU; its forward calls the patched F.silu
    "sigmoid": 0, "tanh": 0, "hardswish": 0, "hardsigmoid": 0,  # no hook, no patch
    "softplus": 0, "mish": 0,  # no hook, no patch
    "maxpool": 2,  # pool_flops_counter_hook (input numel) + patched F.max_pool2d
    "avgpool": 2,  # hook + patched F.avg_pool2d
    # nn.AdaptiveAvgPool1d/2d/3d, nn.AdaptiveMaxPool1d/2d/3d: pool_flops_counter_hook (input
    # numel) + the patched F.adaptive_*_pool*d their forward calls
    **dict.fromkeys(ADAPTIVE_AVG_OPS | ADAPTIVE_MAX_OPS, 2),
    "maxpool1d": 2, "maxpool3d": 2, "avgpool1d": 2, "avgpool3d": 2,  # hook + patched F.*_pool*d
    "softmax": 1,  # no hook for nn.Softmax; its forward calls the patched F.softmax
    "layernorm": 1,  # bn_flops_counter_hook: numel, doubled only if `module.affine` (LayerNorm
    # has elementwise_affine, no `affine`)
    "rmsnorm": 0, "embedding": 0,  # no hook; F.rms_norm, F.embedding are not patched
    "add": 0,  # a + b / a += b: Tensor.__add__/__iadd__ (only torch.add, Tensor.add patched)
    "scale": 0,  # a * b: Tensor.__mul__ (only torch.mul, Tensor.mul patched)
    "mul_const": 0,  # x * c, x / c: Tensor.__mul__/__truediv__ (torch.div is not patched)
    "mean": 0,  # x.mean(dim): neither torch.mean nor Tensor.mean is patched
    "matmul": 0,  # a @ b: Tensor.__matmul__ (only torch.matmul, Tensor.matmul patched)
    **dict.fromkeys(MOVE_OPS, 0),
}  # fmt: skip
# called functionally (F.relu, torch.sigmoid, F.max_pool2d, torch.matmul, torch.add, ...)
_PTFLOPS_FUNCTIONAL = {"relu": 1, "relu6": 1, "elu": 1, "gelu": 1, "silu": 1, "maxpool": 1,
                       "avgpool": 1, **dict.fromkeys(ADAPTIVE_AVG_OPS | ADAPTIVE_MAX_OPS, 1),
                       "maxpool1d": 1, "maxpool3d": 1, "avgpool1d": 1, "avgpool3d": 1,
                       # torch.mul(x, c) / x.mul(c): patched, 1 per element; torch.mean: not
                       "mul_const": 1, "mean": 0,
                       "softmax": 1, "leaky_relu": 0, "sigmoid": 0, "tanh": 0, "hardswish": 0,
                       "hardsigmoid": 0, "softplus": 0, "mish": 0, "layernorm": 0,
                       "groupnorm": 0, "rmsnorm": 0, "bn": 0, "embedding": 0,
                       **dict.fromkeys(MOVE_OPS, 0)}  # fmt: skip


def _ptflops_lrn(node) -> int:
    """nn.LocalResponseNorm has no hook, but F.local_response_norm (torch 2.13) calls patched
    ops on a 4-D input: input.mul(input) (1/element), avg_pool3d over the input padded by
    size - 1 channels (1 per padded input element), div.mul(alpha) and .add(k) (1/element
    each); pow and the final divide are not patched."""
    c, h, w = _in(node)
    return 3 * c * h * w + (c + node.fields["size"] - 1) * h * w


def _ptflops_mha(node):
    """multihead_attention_counter_hook on nn.MultiheadAttention(D, heads, kdim=vdim=D_k):
    L_q*D (q scaling) + L_q*D^2 + 2*L_k*D_k^2 (it takes k and v projections as D_k x D_k)
    + (L_q + 2*L_k)*D in-projection biases + heads*L_q*L_k*(D/h + 1 + D_k/h) (QK^T, softmax,
    AV) + L_q*D_k*(D_k + 1) (out projection, its bias always counted). The module's forward
    (scaled_dot_product_attention, F.linear) calls nothing patched."""
    shape = _mha(node)
    if shape is None:
        return None
    lq, d, lk, dk, heads = shape
    bias = (lq + 2 * lk) * d if node.fields.get("qkv_bias", True) else 0
    return (lq * d + lq * d * d + 2 * lk * dk * dk + bias
            + heads * lq * lk * (d // heads + 1 + dk // heads) + lq * dk * (dk + 1))  # fmt: skip


def _rnn_extra(node, per_unit: dict) -> int:
    """MACs + per-unit element ops + bias adds of an LSTM/GRU as a tool's RNN hook counts."""
    gates = 4 if node.op == "lstm" else 3
    bias = 2 * gates if node.fields.get("bias", True) else 0
    return node.macs + _rnn_units(node) * (per_unit[node.op] + bias)


def _ptflops(node):
    op = node.op
    functional = node.call == FUNCTIONAL
    if op in CONV_OPS or op in TRANSPOSED_OPS or op == "linear":
        # conv_flops_counter_hook (transposed: kernel x input positions, as archcost's MACs) /
        # linear_flops_counter_hook: MACs + one per output element of the bias. F.conv* and
        # F.linear are not patched: 0 when called functionally.
        return 0 if functional else node.macs + _conv_bias(node)
    if op == "bn":
        return 0 if functional else 2 * elements(_in(node))  # bn hook: numel, x2 when affine
    if op == "layernorm" and _layernorm_2d(node):
        return 0  # LayerNorm2d: hooks match exact classes; F.layer_norm is not patched
    if op == "groupnorm":  # bn_flops_counter_hook; GroupNorm has `affine`
        return 0 if functional else (2 if node.fields.get("affine", True) else 1) * \
            elements(_in(node))  # fmt: skip
    if op == "lrn":
        return _ptflops_lrn(node)  # the same whether the module or F.local_response_norm
    if op == "upsample":
        # upsample_flops_counter_hook (output numel) + the patched F.interpolate the module's
        # forward calls (output numel, from size or scale): 2 per output element, 1 as a call
        return (1 if functional else 2) * elements(node.shape)
    if op in ATTENTION_OPS:
        return None if functional else _ptflops_mha(node)
    if op == "window_attention":
        # torchvision's ShiftedWindowAttention calls F.linear on its qkv and proj weights
        # (not patched, and the child nn.Linear hooks never fire); it multiplies with
        # q.matmul(k^T) and attn.matmul(v) (patched Tensor.matmul: the QK^T and AV MACs) and
        # applies the patched F.softmax (1 per score); the scale, bias and mask are * and +.
        positions, win, c, heads = _window(node)
        return 2 * positions * win * win * c + heads * positions * win * win
    if op in ("lstm", "gru"):
        # rnn_flops_counter_hook, per step, layer and direction: w_ih + w_hh MACs, LSTM
        # 4H + 3H + 3H element ops, GRU H + 3H + 3H, + both bias vectors (2*G*H) if any
        return None if functional else _rnn_extra(node, {"lstm": 10, "gru": 7})
    if functional and op in ("add", "scale", "matmul"):
        # torch.add / torch.mul: the broadcast output's numel per call; torch.matmul:
        # input numel x the other's last axis = the MACs
        if op == "matmul":
            return node.macs
        return (len(node.inputs) - 1) * elements(node.shape)
    table = _PTFLOPS_FUNCTIONAL if functional else _PTFLOPS_MODULE
    if op not in table or op not in KNOWN_OPS:
        return None  # a call style or an op whose count is not stated here
    return table[op] and table[op] * elements(_in(node))  # (a parameter has no input)


def _ptflops_aten(node):
    # ptflops 0.7.5, backend='aten' (aten_ops.ATEN_OPS_MAPPING): aten.convolution (MACs, over
    # the input positions when transposed, plus bias), aten.addmm (MACs plus bias), aten.mm,
    # aten.bmm, aten.matmul; nothing else. Autograd on (ptflops does not switch it off).
    op = node.op
    if op in CONV_OPS or op in TRANSPOSED_OPS or op == "linear":
        return node.macs + _conv_bias(node)
    if op == "matmul":
        return node.macs
    if op in ATTENTION_OPS:
        # F.multi_head_attention_forward: the projections through linear (addmm, with their
        # biases); QK^T and AV inside scaled_dot_product_attention, one CPU kernel: not seen
        f = node.fields
        lq = node.inputs[0].shape[0]
        lk = node.inputs[1].shape[0] if len(node.inputs) > 1 else lq
        inner, kv = node_widths(node)
        bias = (lq * inner + 2 * lk * kv if f.get("qkv_bias", True) else 0) + \
            (elements(node.shape) if f.get("out_bias", True) else 0)  # fmt: skip
        return node.macs - _score_macs(node) + bias
    if op == "window_attention":
        # torchvision: F.linear (addmm with bias) on the padded windows, QK^T and AV by
        # matmul (bmm): every MAC, + the qkv and proj biases per padded position
        positions, _win, c, _heads = _window(node)
        f = node.fields
        return node.macs + positions * ((3 * c if f.get("qkv_bias", True) else 0)
                                        + (c if f.get("out_bias", True) else 0))  # fmt: skip
    if op == "gru":
        # CPU GRU: input and hidden projections through linear -> addmm with both biases
        return _rnn_extra(node, {"gru": 0})
    if op == "lstm":
        return 0  # one fused kernel (aten.lstm -> mkldnn), no formula
    return 0 if op in KNOWN_OPS else None


# ---------------------------------------------------------------- fvcore


def _fvcore(node):
    # fvcore 0.1.5 FlopCountAnalysis (flop_count._DEFAULT_SUPPORTED_OPS, jit_handles), traced
    # with autograd on (fvcore does not switch it off): one flop per multiply-add for
    # aten::_convolution (transposed too: kernel x input positions) and aten::linear/addmm/
    # matmul/bmm (no bias); aten::batch_norm 2 per input element in eval mode with affine;
    # aten::layer_norm and aten::group_norm 5 per element with affine, 4 without;
    # adaptive_avg_pool2d 1 per input element; upsample_nearest2d 1 and upsample_bilinear2d 4
    # per output element. relu, dropout, cat, flatten, reshapes are ignored; everything else
    # (max/avg pooling, adaptive max pooling, 1-D and 3-D pooling and upsampling, add, mul
    # (by a tensor or a constant), mean, softmax, activations, rms_norm, embedding, lstm, gru,
    # scaled_dot_product_attention) is unsupported: 0.
    op = node.op
    if op in CONV_OPS or op in TRANSPOSED_OPS or op in ("linear", "matmul", "window_attention"):
        # torchvision's Swin window attention: linear and matmul only -> every MAC
        return node.macs
    if op in ATTENTION_OPS:
        # nn.MultiheadAttention (and any F.scaled_dot_product_attention code): the four
        # projections count; QK^T and AV run inside the unsupported SDPA op
        return node.macs - _score_macs(node)
    if op == "bn":
        return 2 * elements(_in(node))
    if op in ("layernorm", "groupnorm"):
        return (5 if node.fields.get("affine", True) else 4) * elements(_in(node))
    if op in ("global_avgpool", "adaptive_avgpool"):
        # module or functional: the same aten op; adaptive_avg_pool1d/3d are unsupported
        return elements(_in(node)) if len(node.shape) == 3 else 0
    if op == "upsample":
        if len(node.shape) != 3:
            return 0  # upsample_nearest1d/3d, upsample_linear1d, trilinear3d: unsupported
        return {"nearest": 1, "bilinear": 4}[node.fields.get("mode") or "nearest"] * \
            elements(node.shape)  # fmt: skip
    return 0 if op in KNOWN_OPS else None


# ---------------------------------------------------------------- thop


def _thop(node):
    # thop 0.1.1 (profile.register_hooks, vision/basic_hooks.py, calc_func.py, rnn_hooks.py);
    # hooks on modules of these exact classes only: a functional call counts nothing, and
    # neither does a module whose forward applies its children's weights functionally.
    op = node.op
    if op not in KNOWN_OPS:
        return None
    if node.call == FUNCTIONAL:
        return 0
    if op in CONV_OPS or op == "linear":
        return node.macs  # count_convNd / count_linear: no bias
    if op in TRANSPOSED_OPS:
        # count_convNd on a ConvTranspose: output numel x weight.shape[1:] = output numel x
        # C_out/g x kernel -- not archcost's MACs (kernel x input positions), no bias
        weights = node.params - node.bias  # kernel x C_in x C_out/g
        return elements(node.shape) * (weights // node.shape[0])  # x kernel x C_in/g
    if op == "bn":
        # count_normalization: calculate_norm(numel) is already 2 * numel, and it doubles that
        # again for an affine norm: 4 per element
        return 4 * elements(_in(node))
    if op == "layernorm":  # count_normalization, doubled for elementwise_affine
        if _layernorm_2d(node):
            return 0  # LayerNorm2d: register_hooks matches exact classes only
        return (4 if node.fields.get("affine", True) else 2) * elements(_in(node))
    if op in ("avgpool", "avgpool1d", "avgpool3d"):
        return elements(node.shape)  # count_avgpool: one per output element
    if op in ADAPTIVE_AVG_OPS:
        # count_adap_avgpool: (prod(input_size / output_size) + 1) * output numel over the
        # spatial axes (1-D, 2-D, 3-D alike), in doubles, truncated by int(); exact here when
        # the sizes divide (as in every model we run)
        window = Fraction(1)
        for i, o in zip(_in(node)[1:], node.shape[1:], strict=True):
            window *= Fraction(i, o)
        return int((window + 1) * elements(node.shape))
    if op == "softmax":
        # count_softmax: rows x (n exp + (n - 1) adds + n divides), n the size of the softmax
        # axis: the feature axis C of a map or of tokens (nn.Softmax(dim=1) / dim=-1), the
        # last axis otherwise
        x = _in(node)
        lay = layout_of(x)
        n = x[lay.index("C")] if "C" in lay else x[-1]
        return elements(x) // n * (3 * n - 1)
    if op == "upsample":
        # count_upsample -> calculate_upsample per output element: nearest 1, linear 5,
        # bilinear 11; trilinear is not in its list of modes: 0 (with a warning)
        per = {"nearest": 1, "linear": 5, "bilinear": 11, "trilinear": 0}
        return per[node.fields.get("mode") or "nearest"] * elements(node.shape)
    if op in ("lstm", "gru"):
        # count_lstm / count_gru (rnn_hooks._count_lstm_cell, _count_gru_cell), per step, layer
        # and direction: the MACs + H per gate + 3H (c') + H (h') for an LSTM, 3H + H + 3H for
        # a GRU, + 2H per gate with biases
        return _rnn_extra(node, {"lstm": 8, "gru": 7})
    if op in ATTENTION_OPS:
        # nn.MultiheadAttention has no hook, and its out_proj (a Linear subclass, not hooked
        # by exact type) is applied functionally
        return None if _mha(node) is None else 0
    # window_attention: torchvision's ShiftedWindowAttention applies its qkv/proj weights with
    # F.linear, so the child nn.Linear hooks never fire: 0.
    # relu, relu6, maxpool, dropout, nn.AdaptiveMaxPool*d: zero_ops; leaky_relu: count_relu
    # returns 0; no hook for the other activations, LRN, groupnorm, rmsnorm, embedding,
    # matmul, flatten, cat, add, mul (by a tensor or a constant), mean, padding and reshapes
    return 0


# ---------------------------------------------------------------- torchinfo


def _torchinfo(node):
    # torchinfo 1.8 LayerInfo.calculate_macs, summed over the leaf modules that ran: a class
    # named *Conv* (ConvTranspose too) counts (weight + bias params) x output positions; a
    # parameter named weight/bias of any other leaf, its count x batch; parameters with
    # weight/bias inside the name (an RNN's weight_ih_l0) x batch x sequence length. A module
    # with children is not a leaf: its own parameters are not counted.
    op = node.op
    if op not in KNOWN_OPS:
        return None
    if op in CONV_OPS or op in TRANSPOSED_OPS:
        return node.params * elements(node.shape[1:])
    if op == "linear":
        if _after_patchify(node):  # Conv2d(k=p, s=p) in torch: (weights + bias) x positions
            return _linear_weights(node) * node.shape[0]
        return _linear_weights(node)  # in*out + out, tied or not: the module's own weight
    if op in ("lstm", "gru"):
        return node.params * node.shape[0]  # weight_ih_l0, ...: x batch x steps
    if op in ATTENTION_OPS:
        # nn.MultiheadAttention has a child (out_proj), so it is no leaf, and that child is
        # applied functionally, never called: 0
        return None if _mha(node) is None else 0
    if op in ("window_attention", "parameter", "matmul"):
        # torchvision's ShiftedWindowAttention: children qkv/proj never called, so no leaf;
        # a learned tensor (class token, position embedding, layer scale) belongs to a
        # module with children, or is not named weight/bias; matmul has no parameters
        return 0
    # bn 2C, layer/group norm 2C, RMS norm C, embedding vocab*dim; the parameter-free layers 0
    return node.params


PRESETS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("archcost", "MACs", "MACs",
                   "multiply-accumulates of conv, linear and matrix-product (attention) layers "
                   "only (archcost's own count)",
                   _archcost),
        Convention("fvcore", "fvcore flops", "MACs",
                   "fvcore FlopCountAnalysis: conv, linear and matmul multiply-adds (one each, "
                   "no bias; attention's QK^T and AV only where explicit matmuls, not inside "
                   "scaled_dot_product_attention) + batch norm 2/element + layer/group norm "
                   "5/element + 2-D adaptive average pooling 1/input element + 2-D upsampling "
                   "1 (nearest) or 4 (bilinear)/output; pooling, activations, adds, RMS norm, "
                   "LSTM/GRU count 0", _fvcore),
        Convention("ptflops", "ptflops MACs", "MACs",
                   "ptflops (pytorch backend): conv/linear multiply-adds + bias adds as "
                   "modules (0 through F.linear) + batch norm 2/element + ReLU, GELU, pooling "
                   "2/input element as modules (hook + patched functional), 1 when called "
                   "functionally; ReLU6 1; layer norm 1, group norm 2/element; upsampling "
                   "2/output; nn.MultiheadAttention by its hook's formula; Swin windows "
                   "QK^T + AV + 1/score; LSTM/GRU MACs + 18/13 per unit; LRN 3/element + "
                   "1/padded element; adds 0",
                   _ptflops),
        Convention("ptflops-aten", "ptflops MACs (aten)", "MACs",
                   "ptflops (aten backend): conv, linear and matmul multiply-adds + their bias "
                   "adds (attention's QK^T and AV only where explicit matmuls; GRU by addmm, "
                   "LSTM 0)",
                   _ptflops_aten),
        Convention("thop", "thop MACs", "MACs",
                   "thop profile: conv/linear multiply-adds (no bias; transposed convs over "
                   "their output) + batch norm and layer norm 4/element + avg pool 1/output + "
                   "adaptive avg pool (window + 1)/output + upsampling 1/5/11 per output + "
                   "LSTM/GRU MACs + 16/13 per unit, modules only; ReLU, max pool, adds, "
                   "attention (no hook) 0", _thop),
        Convention("torchinfo", "torchinfo mult-adds", "MACs",
                   "torchinfo summary: conv (weights + bias) x output positions (a linear on "
                   "patches is a conv); LSTM/GRU params x steps; other leaf layers their "
                   "parameter count (linear in*out + out, norms, embedding); attention 0 (no "
                   "leaf)", _torchinfo),
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

"""Attention and matrix products between two inputs.

What is counted (the convention of torchvision's documented GFLOPS and of the papers'
"FLOPs" of transformers): MACs are the four projections **and** the two matrix products of
attention, QK^T and AV -- each L_q*L_k*d per head, 2*L_q*L_k*D over all heads. For
self-attention on L tokens of D features with D = heads*head_dim:

    params = 4*D*D + 4*D            (q, k, v, out projections with biases)
    MACs   = 4*L*D^2 + 2*L^2*D      (projections; QK^T and AV)

``causal: true`` masks the upper triangle of the scores; what is counted is what a dense
kernel computes (torch's ``scaled_dot_product_attention`` with a mask and the math or
memory-efficient kernel): the full L^2 products, plus one op per score for the mask. A
kernel that skips masked blocks (FlashAttention's causal mode) does about half of the
QK^T/AV work; archcost does not assume it.

Other ops per score: 1 for the 1/sqrt(d) scale and 3 for the softmax (exp, add, divide),
+1 for a causal or shifted-window mask; and 1 per output element of each projection with a
bias. ``extra`` activations: q, k, v, the scores, the probabilities and the heads' output
before the out projection are written besides the output.
"""

from __future__ import annotations

from .errors import SpecError
from .layers import Cost, Field, need, numeric, primitive
from .shapes import describe, layout_of, shaped

_ATTN_FIELDS = (
    Field("heads", "int", doc="attention heads"),
    Field("head_dim", "int", None, doc="features per head (default dim / heads)"),
    Field("dim", "int", None, doc="inner width heads*head_dim (default the input's D)"),
    Field("out", "int", None, doc="output features (default the input's D)"),
    Field("kv_heads", "int", None, doc="key/value heads, grouped-query (default heads)"),
    Field("qkv_bias", "bool", True, doc="biases of the q, k, v projections"),
    Field("out_bias", "bool", True, doc="bias of the output projection"),
    Field("causal", "bool", False, doc="mask future tokens (counted as dense, see docstring)"),
)


def _widths(d_in, heads, head_dim, dim, kv_heads, what):
    """(inner width, key/value width) of the projections."""
    if head_dim is not None:
        inner = heads * head_dim
        if dim is not None and numeric(dim, inner) and dim != inner:
            raise SpecError(f"{what}: dim {dim} is not heads*head_dim = {inner}")
    else:
        inner = d_in if dim is None else dim
        if numeric(inner, heads) and inner % heads:
            raise SpecError(f"{what}: {heads} heads do not divide the width {inner}")
    if kv_heads is None or kv_heads is heads or (numeric(kv_heads, heads) and kv_heads == heads):
        return inner, inner
    if numeric(kv_heads, heads) and heads % kv_heads:
        raise SpecError(f"{what}: kv_heads={kv_heads} must divide heads={heads}")
    hd = head_dim if head_dim is not None else inner // heads
    return inner, kv_heads * hd


def node_widths(node) -> tuple[int, int]:
    """(inner width, key/value width) of an evaluated attention node, from its fields and its
    (first) input's width: what the cost above used, for the views that need it again
    (memory's intermediates, other tools' counts)."""
    f = node.fields
    return _widths(node.inputs[0].shape[1], f["heads"], f.get("head_dim"), f.get("dim"),
                   f.get("kv_heads"), node.op)  # fmt: skip


def _attention(lq, dq, lk, dk, heads, head_dim, dim, out, kv_heads, qkv_bias, out_bias, causal,
               what):
    inner, kv = _widths(dq, heads, head_dim, dim, kv_heads, what)
    out = dq if out is None else out
    scores = heads * lq * lk
    params = dq * inner + 2 * dk * kv + inner * out
    bias = (inner + 2 * kv if qkv_bias else 0) + (out if out_bias else 0)
    macs = lq * dq * inner + 2 * lk * dk * kv + 2 * lq * lk * inner + lq * inner * out
    ops = (4 + (1 if causal else 0)) * scores
    ops = ops + (lq * inner + 2 * lk * kv if qkv_bias else 0) + (lq * out if out_bias else 0)
    extra = lq * inner + 2 * lk * kv + 2 * scores + lq * inner
    return Cost(shaped((lq, out), "LC"), params + bias, bias, 0, macs, ops, extra)


@primitive("attention", *_ATTN_FIELDS, positional=("heads",), weight=True,
           aliases=("self_attention", "mha", "multihead_attention"))  # fmt: skip
def attention(x, heads, head_dim=None, dim=None, out=None, kv_heads=None, qkv_bias=True,
              out_bias=True, causal=False):
    """Multi-head self-attention (Vaswani et al. 2017) on tokens (L, D), D' = heads*head_dim
    (default D), kv = kv_heads*head_dim (default D'), O = out (default D):

    params = D*D' + 2*D*kv + D'*O [+ D' + 2*kv + O biases]  (= 4*D^2 + 4*D by default)
    MACs = L*D*D' + 2*L*D*kv + L*D'*O (projections) + 2*L^2*D' (QK^T and AV)
         (= 4*L*D^2 + 2*L^2*D by default);
    other ops = 4 per score (scale, softmax exp/add/divide) + 1 per score if causal,
    heads*L^2 scores, + bias adds. Causal attention is counted dense (module docstring).
    """
    lq, d = need(x, "attention", "LC")
    return _attention(lq, d, lq, d, heads, head_dim, dim, out, kv_heads, qkv_bias, out_bias,
                      causal, "attention")  # fmt: skip


@primitive("cross_attention", *_ATTN_FIELDS, positional=("heads",), arity=2, weight=True)
def cross_attention(x, context, heads, head_dim=None, dim=None, out=None, kv_heads=None,
                    qkv_bias=True, out_bias=True, causal=False):
    """Multi-head cross-attention: queries from tokens x (L_q, D), keys and values from a
    second input (L_k, D_k) (``in: [x, context]``). With D' = heads*head_dim, kv = D':

    params = D*D' + 2*D_k*kv + D'*O [+ biases];
    MACs = L_q*D*D' + 2*L_k*D_k*kv + L_q*D'*O + 2*L_q*L_k*D' (QK^T and AV);
    other ops as attention, with heads*L_q*L_k scores.
    """
    lq, d = need(x, "cross_attention", "LC")
    lk, dk = need(context, "cross_attention (its second input)", "LC")
    return _attention(lq, d, lk, dk, heads, head_dim, dim, out, kv_heads, qkv_bias, out_bias,
                      causal, "cross_attention")  # fmt: skip


@primitive("window_attention",
           Field("heads", "int", doc="attention heads"),
           Field("window", "int", 7, doc="window size (window x window positions)"),
           Field("shift", "int", 0, minimum=0, doc="cyclic shift (Swin's shifted windows)"),
           Field("qkv_bias", "bool", True, doc="biases of the q, k, v projections"),
           Field("out_bias", "bool", True, doc="bias of the output projection"),
           positional=("heads", "window", "shift"), weight=True,
           aliases=("swin_attention", "shifted_window_attention"))  # fmt: skip
def window_attention(x, heads, window, shift, qkv_bias, out_bias):
    """Swin's (shifted) window attention (Liu et al. 2021) on a channels-last map (H, W, C),
    as torchvision computes it: the map is padded to multiples of the window w
    (H_p = ceil(H/w)*w), attention runs in each w x w window (N = w^2 tokens), and a
    relative position bias table of (2w-1)^2 entries per head is learned.

    params = 4*C^2 + 4*C [biases] + (2w-1)^2*heads; buffers = w^4 (relative position index);
    MACs = 4*H_p*W_p*C^2 (projections) + 2*H_p*W_p*w^2*C (QK^T and AV in every window);
    other ops = 5 per score (scale, bias-table add, softmax) + 1 per score with a shift
    (the mask; no shift when the window covers the padded map), heads*H_p*W_p*w^2 scores,
    + bias adds.
    """
    h, w, c = need(x, "window_attention", "HWC")
    if numeric(c, heads) and c % heads:
        raise SpecError(f"window_attention: {heads} heads do not divide the {c} channels")
    if numeric(shift, window) and shift >= window:
        raise SpecError(f"window_attention: shift {shift} must be smaller than the window "
                        f"{window}")  # fmt: skip
    nh, nw = -(-h // window), -(-w // window)  # windows along H and W, after padding
    hp, wp = nh * window, nw * window
    positions = hp * wp
    # torchvision drops the shift along an axis one window covers; the mask is added when a
    # shift remains: 1 - 1 // n is 1 for n >= 2 windows, else 0 (arithmetic, so a formula in
    # H and W keeps the rule)
    more_h, more_w = 1 - 1 // nh, 1 - 1 // nw
    shifted = (more_h + more_w - more_h * more_w) if shift else 0
    scores = heads * positions * window * window
    table = (2 * window - 1) * (2 * window - 1) * heads
    bias = (3 * c if qkv_bias else 0) + (c if out_bias else 0)
    macs = 4 * positions * c * c + 2 * positions * window * window * c
    ops = (5 + shifted) * scores
    ops = ops + (3 * positions * c if qkv_bias else 0) + (positions * c if out_bias else 0)
    extra = 3 * positions * c + 2 * scores + positions * c
    return Cost(shaped((h, w, c), "HWC"), 4 * c * c + bias + table, bias,
                window * window * window * window, macs, ops, extra)  # fmt: skip


@primitive("matmul", Field("t", "bool", False, doc="transpose the second input's last two axes"),
           arity=2, aliases=("bmm", "matrix_multiply"))  # fmt: skip
def matmul(a, b, t=False):
    """Matrix product of two inputs (torch ``matmul``/``bmm``): (..., n, k) x (..., k, m) ->
    (..., n, m), leading axes equal (a batch, e.g. heads). ``t: true`` multiplies by the
    second input's transpose (QK^T). MACs = (leading elements)*n*k*m; no params, no ops.
    """
    if len(a) < 2 or len(b) < 2:
        raise SpecError(f"matmul needs inputs with at least two axes; got {describe(a)}, "
                        f"{describe(b)}")  # fmt: skip
    if t:
        b = (*b[:-2], b[-1], b[-2])
    n, k = a[-2], a[-1]
    k2, m = b[-2], b[-1]
    if numeric(k, k2) and k != k2:
        raise SpecError(f"matmul: inner sizes differ: {describe(a)} times "
                        f"{'the transpose of ' if t else ''}{describe(b)}")  # fmt: skip
    if len(a) != len(b) or (numeric(*a[:-2], *b[:-2]) and tuple(a[:-2]) != tuple(b[:-2])):
        raise SpecError(f"matmul: batch axes differ: {describe(a)}, {describe(b)}")
    batch = 1
    for d in a[:-2]:
        batch = batch * d
    return Cost(shaped((*a[:-2], n, m), layout_of(a)), macs=batch * n * k * m)

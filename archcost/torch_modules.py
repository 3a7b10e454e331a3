"""One torch module per archcost primitive, built from the spec's *fields* and the real input
tensors, never from archcost's own shape arithmetic.

``verify`` must not share the code it checks. So nothing here calls
:func:`archcost.layers.resolve_padding`, :func:`archcost.layers.window_output` or reads a
node's static shape or cost: every factory gets the node's written fields (kernel, stride,
padding as written, ``ceil``...) and ``shapes``, the per-sample shapes of the node's inputs as
torch computed them on the way (a meta-device pass in
:func:`archcost.torch_backend.build_module`). torch then computes each output shape itself, and
a wrong static shape shows up as a difference instead of being built into the module.

Rules written here independently of archcost's engine:

* ``p: same`` with every stride 1: torch's own ``padding='same'`` (total d*(k-1) per axis,
  the odd pixel at the end). With a stride above 1 (torch refuses 'same' there): TensorFlow's
  documented rule (tf.nn.convolution, "padding"): with the effective kernel
  K = d*(k-1) + 1, pad_total = max(K - s, 0) if n % s == 0 else max(K - n % s, 0); the
  smaller half goes first.
* Pools with ``ceil: true``: torch's ``ceil_mode=True`` (the last window must start inside the
  input or its left padding). torch pads at most half a kernel natively; a larger padding is
  applied with F.pad first, and then the window that starts in the right padding (which torch
  can no longer tell from the input) is dropped here, by the same rule as torch's.

Factory signature: ``factory(node, inplace, shapes) -> nn.Module``; ``inplace`` is True only
where archcost marks the primitive in place and overwriting the input is safe in this graph.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _f(value) -> float:
    """Spec numbers are exact (int / Fraction); torch wants floats."""
    return float(value)


def _tuple(value, n):
    """A field value (int or tuple) as an n-tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) == n:
            return tuple(value)
        if len(value) == 1:
            return tuple(value) * n
        raise ValueError(f"expected {n} values, got {list(value)}")
    return (value,) * n


def _spatial_rank(shape) -> int:
    """Spatial axes of a channels-first per-sample shape: (C, L) 1, (C, H, W) 2, (C, D, H, W) 3."""
    return len(shape) - 1


def tf_same_pads(sizes, k, s, d):
    """TensorFlow's 'same' padding as (before, after) per axis (see the module docstring)."""
    pads = []
    for n, kk, ss, dd in zip(sizes, k, s, d, strict=True):
        eff = dd * (kk - 1) + 1
        total = max(eff - ss, 0) if n % ss == 0 else max(eff - n % ss, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _f_pad(pads):
    """(before, after) per axis, first axis first -> F.pad's order (last axis first)."""
    out = []
    for lo, hi in reversed(pads):
        out += [lo, hi]
    return tuple(out)


# ---------------------------------------------------------------- convolution


class _PrePad:
    """Mixin: an explicit ``F.pad(x, pre_pad, value=pad_value)`` before the layer's forward."""

    pre_pad = None
    pad_value = 0.0

    def forward(self, x):
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad, value=self.pad_value)
        return super().forward(x)

    def extra_repr(self):
        extra = f", pre_pad={self.pre_pad}" if self.pre_pad is not None else ""
        return super().extra_repr() + extra


class Conv1d(_PrePad, nn.Conv1d):
    pass


class Conv2d(_PrePad, nn.Conv2d):
    pass


class Conv3d(_PrePad, nn.Conv3d):
    pass


CONVS = {1: Conv1d, 2: Conv2d, 3: Conv3d}
Conv = Conv2d  # the 2-D one, by its old name


def _written_padding(p, rank):
    """A written padding (int, tuple, 'valid') as (before, after) per axis; None for 'same'."""
    if p == "same":
        return None
    if p == "valid":
        return [(0, 0)] * rank
    if isinstance(p, (tuple, list)) and len(p) == 2 * rank and rank > 1:
        return [(p[2 * i], p[2 * i + 1]) for i in range(rank)]  # explicit before/after
    return [(v, v) for v in _tuple(p, rank)]


def _conv(node, inplace, shapes):
    f = node.fields
    shape = shapes[0]
    rank = _spatial_rank(shape)
    cls = CONVS[rank]
    k, s = _tuple(f["k"], rank), _tuple(f["s"], rank)
    d = _tuple(f.get("d", 1), rank)
    kwargs = dict(stride=s, dilation=d, groups=f.get("g", 1), bias=f["bias"])
    pads = _written_padding(f["p"], rank)
    if pads is None and all(v == 1 for v in s):
        return cls(shape[0], f["out"], k, padding="same", **kwargs)  # torch's own rule
    if pads is None:
        pads = tf_same_pads(shape[1:], k, s, d)
    if all(lo == hi for lo, hi in pads):
        return cls(shape[0], f["out"], k, padding=tuple(lo for lo, _ in pads), **kwargs)
    mod = cls(shape[0], f["out"], k, padding=0, **kwargs)
    mod.pre_pad = _f_pad(pads)
    return mod


class Linear(nn.Linear):
    """``nn.Linear`` on the flattened input when ``flat`` (archcost's linear on a feature map),
    else on the last axis (tokens)."""

    def __init__(self, *args, flat=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.flat = flat

    def forward(self, x):
        if self.flat and x.dim() > 2:
            x = torch.flatten(x, 1)
        return super().forward(x)


def _linear(node, inplace, shapes):
    shape = shapes[0]
    # a channels-first map (C, L), (C, H, W), (C, D, H, W) is flattened (the classic heads);
    # tokens, channels-last maps and flat vectors are multiplied on their last axis
    lay = _layout(node)
    flat = lay in ("CL", "CHW", "CDHW") or lay[-1] not in "CN"
    n = 1
    for dim in shape:
        n *= dim
    features = n if flat else shape[-1]
    m = Linear(features, node.fields["out"], bias=node.fields["bias"], flat=flat)
    if not node.fields.get("trainable", True):  # fixed weights: buffers, not parameters
        for name in ("weight", "bias"):
            value = getattr(m, name)
            if value is not None:
                delattr(m, name)
                m.register_buffer(name, value.detach())
    return m


# ---------------------------------------------------------------- pooling


class _Pool:
    """Mixin for torch pools: an optional explicit pre-pad, and the Caffe/torch ceil rule
    applied after it when the padding was explicit (``ceil_fix``: padding before, per axis)."""

    pre_pad = None
    pad_value = 0.0
    ceil_fix = None

    def forward(self, x):
        sizes = x.shape[2:]
        if self.pre_pad is not None:
            x = F.pad(x, self.pre_pad, value=self.pad_value)
        out = super().forward(x)
        if self.ceil_fix is not None:
            stride = _tuple(self.stride, len(sizes))
            for axis, (n, lo) in enumerate(zip(sizes, self.ceil_fix, strict=True)):
                m = out.shape[2 + axis]
                if (m - 1) * stride[axis] >= n + lo:  # last window starts in the right pad
                    out = out.narrow(2 + axis, 0, m - 1)
        return out


class MaxPool1d(_Pool, nn.MaxPool1d):
    pad_value = -float("inf")


class MaxPool2d(_Pool, nn.MaxPool2d):
    pad_value = -float("inf")


class MaxPool3d(_Pool, nn.MaxPool3d):
    pad_value = -float("inf")


class AvgPool1d(_Pool, nn.AvgPool1d):
    pass


class AvgPool2d(_Pool, nn.AvgPool2d):
    pass


class AvgPool3d(_Pool, nn.AvgPool3d):
    pass


POOLS = {"max": {1: MaxPool1d, 2: MaxPool2d, 3: MaxPool3d},
         "avg": {1: AvgPool1d, 2: AvgPool2d, 3: AvgPool3d}}  # fmt: skip
MaxPool, AvgPool = MaxPool2d, AvgPool2d


def _pool(kind):
    def make(node, inplace, shapes):
        f = node.fields
        shape = shapes[0]
        rank = _spatial_rank(shape)
        cls = POOLS[kind][rank]
        k = _tuple(f["k"], rank)
        s = _tuple(f["s"], rank) if f.get("s") is not None else k
        ceil = bool(f.get("ceil", False))
        d = _tuple(f.get("d", 1), rank)
        extra = {"dilation": d} if kind == "max" else {}
        pads = _written_padding(f.get("p", 0), rank)
        if pads is None:
            pads = tf_same_pads(shape[1:], k, s, d)
        native = all(lo == hi and lo <= kk // 2 for (lo, hi), kk in zip(pads, k, strict=True))
        if native:
            return cls(k, s, tuple(lo for lo, _ in pads), ceil_mode=ceil, **extra)
        mod = cls(k, s, 0, ceil_mode=ceil, **extra)
        mod.pre_pad = _f_pad(pads)
        if ceil:
            mod.ceil_fix = tuple(lo for lo, _ in pads)
        return mod

    return make


_ADAPTIVE = {"avg": {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d},
             "max": {1: nn.AdaptiveMaxPool1d, 2: nn.AdaptiveMaxPool2d, 3: nn.AdaptiveMaxPool3d}}


def _adaptive(node, inplace, shapes, size=None, kind="avg"):
    rank = _spatial_rank(shapes[0])
    cls = _ADAPTIVE[kind][rank]
    return cls(size if size is not None else _tuple(node.fields["size"], rank))


def _adaptive_max(node, inplace, shapes):
    return _adaptive(node, inplace, shapes, kind="max")


# ---------------------------------------------------------------- normalisation


def _bn(node, inplace, shapes):
    shape = shapes[0]
    eps = _f(node.fields["eps"])
    cls = {1: nn.BatchNorm1d, 2: nn.BatchNorm1d, 3: nn.BatchNorm2d, 4: nn.BatchNorm3d}[len(shape)]
    return cls(shape[0], eps=eps)


def _lrn(node, inplace, shapes):
    f = node.fields
    return nn.LocalResponseNorm(f["size"], alpha=_f(f["alpha"]), beta=_f(f["beta"]),
                                k=_f(f["k_const"]))  # fmt: skip


# ---------------------------------------------------------------- elementwise and joins


def _act(cls, takes_inplace=True):
    """Activation factory; torch's inplace flag where torch offers one (sigmoid, tanh, gelu
    have none)."""

    def make(node, inplace, shapes):
        return cls(inplace=inplace) if takes_inplace else cls()

    return make


class Concat(nn.Module):
    """Concatenate along a per-sample axis (channels by default)."""

    def __init__(self, axis=0):
        super().__init__()
        self.axis = axis

    def forward(self, *xs):
        batch = max(x.shape[0] for x in xs)
        xs = [x.expand(batch, *x.shape[1:]) if x.shape[0] != batch else x for x in xs]
        return torch.cat(xs, self.axis + 1)


class Add(nn.Module):
    """Elementwise sum of two or more tensors."""

    def forward(self, *xs):
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out


class Slice(nn.Module):
    """Indices [start, end) of the per-sample axis ``axis``: a view (``narrow``) of the input."""

    def __init__(self, start, end, axis=0):
        super().__init__()
        self.start, self.end, self.axis = start, end, axis

    def forward(self, x):
        return x.narrow(self.axis + 1, self.start, self.end - self.start)

    def extra_repr(self):
        return f"start={self.start}, end={self.end}, axis={self.axis}"


class MulConst(nn.Module):
    """``x * by``: every element times a constant."""

    def __init__(self, by):
        super().__init__()
        self.by = by

    def forward(self, x):
        return x * self.by

    def extra_repr(self):
        return f"by={self.by}"


class Mean(nn.Module):
    """``x.mean(dims, keepdim)`` over per-sample axes (the batch axis is never averaged)."""

    def __init__(self, axes, keepdim):
        super().__init__()
        self.axes, self.keepdim = tuple(axes), keepdim

    def forward(self, x):
        return x.mean(dim=tuple(a + 1 for a in self.axes), keepdim=self.keepdim)

    def extra_repr(self):
        return f"axes={self.axes}, keepdim={self.keepdim}"


def _mean(node, inplace, shapes):
    axes = node.fields["axis"]
    axes = list(axes) if isinstance(axes, (list, tuple)) else [axes]
    return Mean([_axis(a, len(shapes[0])) for a in axes], bool(node.fields.get("keepdim")))


class ZeroPad(nn.Module):
    """``c`` zero channels appended, ``p`` zero rows/columns on each side."""

    def __init__(self, c, p):
        super().__init__()
        self.c, self.p = c, p

    def forward(self, x):
        ph, pw = self.p
        return F.pad(x, (pw, pw, ph, ph, 0, self.c))

    def extra_repr(self):
        return f"c={self.c}, p={self.p}"


class Scale(nn.Module):
    """``x * gate``: a gate that broadcasts to x per sample (torch's rule, aligned from the
    last axis: a layer scale (D,) on tokens, (C, 1, 1) on a map), else a per-channel gate
    (C from a linear on a (C, H, W) map) spread over the trailing axes."""

    def forward(self, x, gate):
        xs, gs = x.shape[1:], gate.shape[1:]
        fits = len(gs) <= len(xs) and all(
            g in (1, d) for g, d in zip(reversed(gs), reversed(xs), strict=False))
        if fits:
            gate = gate.reshape(gate.shape[0], *([1] * (len(xs) - len(gs))), *gs)
        while gate.dim() < x.dim():
            gate = gate.unsqueeze(-1)
        return x * gate


def _concat(node, inplace, shapes):
    axis = node.fields.get("axis", 0)
    return Concat(axis if axis >= 0 else len(shapes[0]) + axis)


def _layout(node, i=0):
    """The layout letters of input ``i`` (which axis is channels, tokens...). Layouts are
    what the spec says a tensor *is*; the sizes come from torch."""
    from .shapes import layout_of

    return layout_of(node.inputs[i].shape)


def _axis(axis, rank):
    return axis + rank if axis < 0 else axis


# ---------------------------------------------------------------- normalisation over features


class _OverFeatures(nn.Module):
    """A norm over the last axis applied at the feature axis ``axis`` (per sample): moved
    last, normalised, moved back (ConvNeXt's LayerNorm2d on a (C, H, W) map)."""

    def __init__(self, norm, axis, rank):
        super().__init__()
        self.norm, self.axis, self.rank = norm, axis, rank

    def forward(self, x):
        if self.axis == self.rank - 1:
            return self.norm(x)
        return self.norm(x.movedim(self.axis + 1, -1)).movedim(-1, self.axis + 1)


def _feature_axis(node, shapes):
    lay = _layout(node)
    return lay.index("C") if "C" in lay else len(shapes[0]) - 1


def _layernorm(node, inplace, shapes):
    f = node.fields
    axis = _feature_axis(node, shapes)
    norm = nn.LayerNorm(shapes[0][axis], eps=_f(f["eps"]), elementwise_affine=f["affine"],
                        bias=f["bias"])  # fmt: skip
    return _OverFeatures(norm, axis, len(shapes[0]))


def _rmsnorm(node, inplace, shapes):
    f = node.fields
    axis = _feature_axis(node, shapes)
    norm = nn.RMSNorm(shapes[0][axis], eps=_f(f["eps"]), elementwise_affine=f["affine"])
    return _OverFeatures(norm, axis, len(shapes[0]))


def _groupnorm(node, inplace, shapes):
    f = node.fields
    return nn.GroupNorm(f["groups"], shapes[0][0], eps=_f(f["eps"]), affine=f["affine"])


# ---------------------------------------------------------------- attention


class Attention(nn.Module):
    """Multi-head attention written out: q, k, v and out ``nn.Linear`` layers and two
    ``torch.matmul`` (QK^T and AV), so FlopCounterMode sees every multiply-accumulate
    (``nn.MultiheadAttention``'s fused inference path hides them all). Grouped-query
    attention repeats each key/value head for its group of query heads."""

    def __init__(self, d_q, d_kv, heads, inner, kv, out, qkv_bias, out_bias, causal):
        super().__init__()
        self.heads, self.head_dim = heads, inner // heads
        self.kv_heads = kv // self.head_dim
        self.causal = causal
        self.q = nn.Linear(d_q, inner, bias=qkv_bias)
        self.k = nn.Linear(d_kv, kv, bias=qkv_bias)
        self.v = nn.Linear(d_kv, kv, bias=qkv_bias)
        self.out = nn.Linear(inner, out, bias=out_bias)

    def _split(self, t, heads):
        b, n, _ = t.shape
        return t.reshape(b, n, heads, self.head_dim).transpose(1, 2)  # (B, heads, L, d)

    def forward(self, x, context=None):
        context = x if context is None else context
        q = self._split(self.q(x), self.heads)
        k = self._split(self.k(context), self.kv_heads)
        v = self._split(self.v(context), self.kv_heads)
        if self.kv_heads != self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        scores = torch.matmul(q, k.transpose(-2, -1)) / self.head_dim**0.5
        if self.causal:
            lq, lk = scores.shape[-2:]
            mask = torch.ones(lq, lk, dtype=torch.bool, device=x.device).triu(1)
            scores = scores.masked_fill(mask, float("-inf"))
        y = torch.matmul(scores.softmax(-1), v)  # (B, heads, L, d)
        b, _, n, _ = y.shape
        return self.out(y.transpose(1, 2).reshape(b, n, self.heads * self.head_dim))


def _attention(node, inplace, shapes):
    f = node.fields
    d_q = shapes[0][-1]
    d_kv = shapes[1][-1] if len(shapes) > 1 else d_q
    heads = f["heads"]
    if f.get("head_dim") is not None:
        inner = heads * f["head_dim"]
    else:
        inner = f["dim"] if f.get("dim") is not None else d_q
    head_dim = inner // heads
    kv = inner if f.get("kv_heads") is None else f["kv_heads"] * head_dim
    out = f["out"] if f.get("out") is not None else d_q
    return Attention(d_q, d_kv, heads, inner, kv, out, f["qkv_bias"], f["out_bias"],
                     f.get("causal", False))  # fmt: skip


class WindowAttention(nn.Module):
    """Swin's (shifted) window attention on a channels-last map, as torchvision's
    ``shifted_window_attention`` computes it: pad to multiples of the window, cyclic shift
    (none on an axis the window covers), windows of w*w tokens, one qkv ``nn.Linear``, QK^T
    and AV as ``torch.matmul``, the relative position bias from a learned (2w-1)^2 x heads
    table indexed by a w^4 buffer, the shift mask, the out projection, and back."""

    def __init__(self, c, heads, window, shift, qkv_bias, out_bias):
        super().__init__()
        self.heads, self.window, self.shift = heads, window, shift
        self.qkv = nn.Linear(c, 3 * c, bias=qkv_bias)
        self.proj = nn.Linear(c, c, bias=out_bias)
        self.table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window),
                                            indexing="ij")).flatten(1)  # fmt: skip
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index",
                             (rel[:, :, 0] * (2 * window - 1) + rel[:, :, 1]).flatten())

    def forward(self, x):
        b, h, w, c = x.shape
        win = self.window
        x = F.pad(x, (0, 0, 0, (win - w % win) % win, 0, (win - h % win) % win))
        _, hp, wp, _ = x.shape
        sh = self.shift if win < hp else 0
        sw = self.shift if win < wp else 0
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        nh, nw = hp // win, wp // win
        t = x.reshape(b, nh, win, nw, win, c).permute(0, 1, 3, 2, 4, 5)
        t = t.reshape(b * nh * nw, win * win, c)
        qkv = self.qkv(t).reshape(t.shape[0], win * win, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-2, -1)) / (c // self.heads) ** 0.5
        bias = self.table[self.relative_position_index].reshape(win * win, win * win, -1)
        scores = scores + bias.permute(2, 0, 1)
        if sh or sw:
            region = torch.zeros(hp, wp, device=x.device)
            count = 0
            for hs in ((0, hp - win), (hp - win, hp - sh), (hp - sh, hp)):
                for ws in ((0, wp - win), (wp - win, wp - sw), (wp - sw, wp)):
                    region[hs[0]:hs[1], ws[0]:ws[1]] = count
                    count += 1
            region = region.reshape(nh, win, nw, win).permute(0, 2, 1, 3).reshape(-1, win * win)
            mask = (region[:, None, :] != region[:, :, None]).repeat(b, 1, 1)
            scores = scores.masked_fill(mask[:, None], -100.0)
        y = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(t.shape[0], win * win, c)
        y = self.proj(y).reshape(b, nh, nw, win, win, c).permute(0, 1, 3, 2, 4, 5)
        y = y.reshape(b, hp, wp, c)
        if sh or sw:
            y = torch.roll(y, shifts=(sh, sw), dims=(1, 2))
        return y[:, :h, :w, :].contiguous()


def _window_attention(node, inplace, shapes):
    f = node.fields
    return WindowAttention(shapes[0][-1], f["heads"], f["window"], f["shift"], f["qkv_bias"],
                           f["out_bias"])  # fmt: skip


class MatMul(nn.Module):
    """``torch.matmul(a, b)``, or with b's last two axes swapped (``t``)."""

    def __init__(self, t=False):
        super().__init__()
        self.t = t

    def forward(self, a, b):
        return torch.matmul(a, b.transpose(-2, -1) if self.t else b)


# ---------------------------------------------------------------- transposed conv, upsample


def _conv_transpose(node, inplace, shapes):
    f = node.fields
    shape = shapes[0]
    rank = _spatial_rank(shape)
    cls = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[rank]
    return cls(shape[0], f["out"], _tuple(f["k"], rank), stride=_tuple(f["s"], rank),
               padding=_tuple(f["p"], rank), output_padding=_tuple(f["output_padding"], rank),
               groups=f["g"], bias=f["bias"], dilation=_tuple(f["d"], rank))  # fmt: skip


def _upsample(node, inplace, shapes):
    f = node.fields
    rank = _spatial_rank(shapes[0])
    mode = f["mode"]
    corners = {} if mode == "nearest" else {"align_corners": False}
    if f.get("size") is not None:
        return nn.Upsample(size=_tuple(tuple(f["size"]), rank), mode=mode, **corners)
    return nn.Upsample(scale_factor=float(f["scale"]), mode=mode, **corners)


# ---------------------------------------------------------------- recurrent


class Recurrent(nn.Module):
    """``nn.LSTM`` / ``nn.GRU`` (batch first) returning every hidden state of the last layer.

    torch's fused recurrent kernel is invisible to FlopCounterMode, so with ``explicit`` set
    (``measure`` sets it) the same parameters run through the equations of torch's
    documentation written out, one ``matmul`` for the input projection of all steps and one
    per step for the hidden state:
    LSTM: i, f, g, o = x W_ih^T + b_ih + h W_hh^T + b_hh; c' = s(f)*c + s(i)*tanh(g);
    h' = s(o)*tanh(c'). GRU: r, z from the sums as above; n = tanh(x W_in^T + b_in +
    s(r)*(h W_hn^T + b_hn)); h' = (1 - s(z))*n + s(z)*h. The reverse direction reads the
    sequence backwards; the directions' outputs are concatenated per step.
    """

    explicit = False

    def __init__(self, cls, size_in, f):
        super().__init__()
        self.rnn = cls(size_in, f["hidden"], num_layers=f["layers"], bias=f["bias"],
                       batch_first=True, bidirectional=f["bidirectional"])  # fmt: skip

    def forward(self, x):
        if not self.explicit:
            return self.rnn(x)[0]
        rnn = self.rnn
        lstm = isinstance(rnn, nn.LSTM)
        for layer in range(rnn.num_layers):
            outs = []
            for suffix in ("", "_reverse")[: 2 if rnn.bidirectional else 1]:
                name = f"_l{layer}{suffix}"
                w_ih, w_hh = getattr(rnn, "weight_ih" + name), getattr(rnn, "weight_hh" + name)
                b_ih = getattr(rnn, "bias_ih" + name) if rnn.bias else None
                b_hh = getattr(rnn, "bias_hh" + name) if rnn.bias else None
                seq = x.flip(1) if suffix else x
                pre = torch.matmul(seq, w_ih.t())
                if b_ih is not None:
                    pre = pre + b_ih
                h = x.new_zeros(x.shape[0], rnn.hidden_size)
                c = h
                steps = []
                for t in range(seq.shape[1]):
                    hh = torch.matmul(h, w_hh.t())
                    if b_hh is not None:
                        hh = hh + b_hh
                    if lstm:
                        i, f, g, o = (pre[:, t] + hh).chunk(4, -1)
                        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                        h = torch.sigmoid(o) * torch.tanh(c)
                    else:
                        xr, xz, xn = pre[:, t].chunk(3, -1)
                        hr, hz, hn = hh.chunk(3, -1)
                        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                        h = (1 - z) * torch.tanh(xn + r * hn) + z * h
                    steps.append(h)
                out = torch.stack(steps, 1)
                outs.append(out.flip(1) if suffix else out)
            x = torch.cat(outs, -1)
        return x


# ---------------------------------------------------------------- learned tensors, tokens


class Parameter(nn.Module):
    """A learned tensor (class token, position embedding, layer scale), given out with a
    batch axis of 1 (it broadcasts, and concat expands it)."""

    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(shape))

    def forward(self):
        # without grad a view of the leaf would still claim requires_grad (and no grad_fn)
        weight = self.weight if torch.is_grad_enabled() else self.weight.detach()
        return weight.unsqueeze(0)


class Embedding(nn.Embedding):
    """``nn.Embedding`` on token ids (integer tensors)."""


class Reshape(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.shape)


class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(0, *(d + 1 for d in self.dims))


class Transpose(nn.Module):
    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return x.transpose(self.a + 1, self.b + 1)


class Flatten(nn.Module):
    """Merge per-sample axes a..b (inclusive)."""

    def __init__(self, a, b):
        super().__init__()
        self.a, self.b = a, b

    def forward(self, x):
        return torch.flatten(x, self.a + 1, self.b + 1)


class Patchify(nn.Module):
    """(C, H, W) -> tokens (H/p * W/p, p*p*C): non-overlapping patches, row by row."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        b, c, h, w = x.shape
        ph, pw = self.p
        t = x.reshape(b, c, h // ph, ph, w // pw, pw).permute(0, 2, 4, 3, 5, 1)
        if h % ph or w % pw:
            raise RuntimeError(f"patchify: {h}x{w} is not a multiple of {ph}x{pw}")
        return t.reshape(b, (h // ph) * (w // pw), ph * pw * c)


class Chunk(nn.Module):
    def __init__(self, chunks, index, axis):
        super().__init__()
        self.chunks, self.index, self.axis = chunks, index, axis

    def forward(self, x):
        if x.shape[self.axis + 1] % self.chunks:
            raise RuntimeError(f"chunk: {x.shape[self.axis + 1]} does not split into "
                               f"{self.chunks} equal pieces")  # fmt: skip
        return torch.chunk(x, self.chunks, self.axis + 1)[self.index]


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c = x.shape[:2]
        rest = x.shape[2:]
        return x.reshape(b, self.groups, c // self.groups, *rest).transpose(1, 2).reshape(
            b, c, *rest)


class Pad(nn.Module):
    def __init__(self, pads, value):
        super().__init__()
        self.pads, self.value = pads, value

    def forward(self, x):
        return F.pad(x, self.pads, value=self.value)


def _pad(node, inplace, shapes):
    f = node.fields
    lay = _layout(node)
    rank = len(shapes[0])
    axes = [i for i, letter in enumerate(lay) if letter in "HWDL"]
    pads = list(f["p"]) if isinstance(f["p"], (list, tuple)) else [f["p"]]
    if len(pads) == 1:
        pads = pads * (2 * len(axes))
    elif len(pads) == 2:
        pads = pads * len(axes)
    per_axis = [(0, 0)] * rank
    for n, i in enumerate(axes):
        per_axis[i] = (pads[2 * n], pads[2 * n + 1])
    # F.pad pads from the last axis; the batch axis is never padded
    return Pad(_f_pad(per_axis), _f(f["value"]))


class SpaceToDepth(nn.Module):
    """r x r blocks folded into channels, odd sizes padded up first (torchvision's
    PatchMerging on a channels-last map; ``pixel_unshuffle`` on a (C, H, W) map)."""

    def __init__(self, r, channels_last):
        super().__init__()
        self.r, self.channels_last = r, channels_last

    def forward(self, x):
        r = self.r
        if not self.channels_last:
            h, w = x.shape[-2:]
            x = F.pad(x, (0, (r - w % r) % r, 0, (r - h % r) % r))
            return F.pixel_unshuffle(x, r)
        b, h, w, c = x.shape
        x = F.pad(x, (0, 0, 0, (r - w % r) % r, 0, (r - h % r) % r))
        _, hp, wp, _ = x.shape
        t = x.reshape(b, hp // r, r, wp // r, r, c).permute(0, 1, 3, 4, 2, 5)
        return t.reshape(b, hp // r, wp // r, r * r * c)


class Declared(nn.Module):
    """A user-defined primitive (``custom``): torch cannot know what it computes, so it
    stands in with zeros of the declared shape and no parameters; ``verify`` leaves its counts
    unchecked (they are the spec's own expressions) and says so."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, *xs):
        batch = xs[0].shape[0] if xs else 1
        device = xs[0].device if xs else None
        return torch.zeros((batch, *self.shape), device=device)


def _unknown(node):
    """An op archcost has no formula for (``unknown``): torch cannot build it either."""
    from .errors import SpecError

    raise SpecError(f"row '{node.id}': {node.fields.get('op')} is unknown to archcost (type "
                    "unknown); a torch module cannot be built for it")


def _flatten(node, inplace, shapes):
    rank = len(shapes[0])
    a = _axis(node.fields.get("from", 0), rank)
    b = _axis(node.fields.get("to", -1), rank)
    return Flatten(a, b)


def _softmax(node, inplace, shapes):
    lay = _layout(node)
    return nn.Softmax(dim=lay.index("C") + 1 if "C" in lay else -1)


_ONE = {"relu": nn.ReLU, "relu6": nn.ReLU6, "leaky_relu": nn.LeakyReLU, "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid, "silu": nn.SiLU, "elu": nn.ELU, "mish": nn.Mish}  # fmt: skip


def _recurrent(cls):
    return lambda node, inplace, shapes: Recurrent(cls, shapes[0][-1], node.fields)


# One factory per primitive: factory(node, inplace, shapes) -> nn.Module.
FACTORIES: dict[str, Callable] = {
    "conv": _conv,
    "conv1d": _conv,
    "conv3d": _conv,
    "conv_transpose": _conv_transpose,
    "conv_transpose1d": _conv_transpose,
    "conv_transpose3d": _conv_transpose,
    "linear": _linear,
    "maxpool": _pool("max"),
    "maxpool1d": _pool("max"),
    "maxpool3d": _pool("max"),
    "avgpool": _pool("avg"),
    "avgpool1d": _pool("avg"),
    "avgpool3d": _pool("avg"),
    "global_avgpool": lambda node, inplace, shapes: _adaptive(node, inplace, shapes, 1),
    "adaptive_avgpool": _adaptive,
    "adaptive_avgpool1d": _adaptive,
    "adaptive_avgpool3d": _adaptive,
    "adaptive_maxpool": _adaptive_max,
    "adaptive_maxpool1d": _adaptive_max,
    "adaptive_maxpool3d": _adaptive_max,
    "upsample": _upsample,
    "lrn": _lrn,
    "bn": _bn,
    "layernorm": _layernorm,
    "rmsnorm": _rmsnorm,
    "groupnorm": _groupnorm,
    **{name: _act(cls) for name, cls in _ONE.items()},
    "sigmoid": _act(nn.Sigmoid, False),
    "tanh": _act(nn.Tanh, False),
    "softplus": _act(nn.Softplus, False),
    "gelu": lambda node, inplace, shapes: nn.GELU(approximate=node.fields.get("approximate",
                                                                              "none")),
    # torch practice: dropout is not in place (inplace dropout after an inplace ReLU breaks
    # autograd); at inference it returns its input unchanged either way.
    "dropout": lambda node, inplace, shapes: nn.Dropout(_f(node.fields["p"])),
    "drop_path": lambda node, inplace, shapes: nn.Identity(),  # identity at inference
    "flatten": _flatten,
    "softmax": _softmax,
    "concat": _concat,
    "add": lambda node, inplace, shapes: Add(),
    "scale": lambda node, inplace, shapes: Scale(),
    "slice": lambda node, inplace, shapes: Slice(
        node.fields["start"], node.fields["end"],
        _axis(node.fields.get("axis", 0), len(shapes[0]))),
    "mul_const": lambda node, inplace, shapes: MulConst(_f(node.fields["by"])),
    "mean": _mean,
    "zero_pad": lambda node, inplace, shapes: ZeroPad(node.fields["c"], node.fields["p"]),
    "custom": lambda node, inplace, shapes: Declared(node.fields["shape"]),
    "unknown": lambda node, inplace, shapes: _unknown(node),
    "attention": _attention,
    "cross_attention": _attention,
    "window_attention": _window_attention,
    "matmul": lambda node, inplace, shapes: MatMul(node.fields.get("t", False)),
    "lstm": _recurrent(nn.LSTM),
    "gru": _recurrent(nn.GRU),
    "parameter": lambda node, inplace, shapes: Parameter(tuple(node.fields["shape"])),
    "embedding": lambda node, inplace, shapes: Embedding(node.fields["vocab"],
                                                         node.fields["dim"]),
    "reshape": lambda node, inplace, shapes: Reshape(node.fields["shape"]),
    "permute": lambda node, inplace, shapes: Permute(
        [_axis(d, len(shapes[0])) for d in node.fields["dims"]]),
    "transpose": lambda node, inplace, shapes: Transpose(
        _axis(node.fields["a"], len(shapes[0])), _axis(node.fields["b"], len(shapes[0]))),
    "patchify": lambda node, inplace, shapes: Patchify(_tuple(node.fields["p"], 2)),
    "chunk": lambda node, inplace, shapes: Chunk(node.fields["chunks"], node.fields["index"],
                                                 _axis(node.fields["axis"], len(shapes[0]))),
    "channel_shuffle": lambda node, inplace, shapes: ChannelShuffle(node.fields["groups"]),
    "pad": _pad,
    "space_to_depth": lambda node, inplace, shapes: SpaceToDepth(node.fields["r"],
                                                                 _layout(node) == "HWC"),
}

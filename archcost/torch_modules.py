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
    flat = len(shape) != 2  # a feature map or a vector is flattened; (L, D) works per token
    n = 1
    for dim in shape:
        n *= dim
    features = n if flat else shape[-1]
    return Linear(features, node.fields["out"], bias=node.fields["bias"], flat=flat)


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
        pads = _written_padding(f.get("p", 0), rank)
        if pads is None:
            pads = tf_same_pads(shape[1:], k, s, (1,) * rank)
        native = all(lo == hi and lo <= kk // 2 for (lo, hi), kk in zip(pads, k, strict=True))
        if native:
            return cls(k, s, tuple(lo for lo, _ in pads), ceil_mode=ceil)
        mod = cls(k, s, 0, ceil_mode=ceil)
        mod.pre_pad = _f_pad(pads)
        if ceil:
            mod.ceil_fix = tuple(lo for lo, _ in pads)
        return mod

    return make


def _adaptive(node, inplace, shapes, size=None):
    rank = _spatial_rank(shapes[0])
    cls = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}[rank]
    return cls(size if size is not None else _tuple(node.fields["size"], rank))


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
        return torch.cat(xs, self.axis + 1)


class Add(nn.Module):
    """Elementwise sum of two or more tensors."""

    def forward(self, *xs):
        out = xs[0] + xs[1]
        for x in xs[2:]:
            out = out + x
        return out


class Slice(nn.Module):
    """Channels [start, end): a view (``narrow``) of the input."""

    def __init__(self, start, end):
        super().__init__()
        self.start, self.end = start, end

    def forward(self, x):
        return x.narrow(1, self.start, self.end - self.start)

    def extra_repr(self):
        return f"start={self.start}, end={self.end}"


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
    """``x * gate``: a map times a per-channel gate (C x 1 x 1, or C from a linear)."""

    def forward(self, x, gate):
        while gate.dim() < x.dim():
            gate = gate.unsqueeze(-1)
        return x * gate


def _concat(node, inplace, shapes):
    axis = node.fields.get("axis", 0)
    return Concat(axis if axis >= 0 else len(shapes[0]) + axis)


# One factory per primitive: factory(node, inplace, shapes) -> nn.Module.
FACTORIES: dict[str, Callable] = {
    "conv": _conv,
    "linear": _linear,
    "maxpool": _pool("max"),
    "avgpool": _pool("avg"),
    "global_avgpool": lambda node, inplace, shapes: _adaptive(node, inplace, shapes, 1),
    "adaptive_avgpool": _adaptive,
    "lrn": _lrn,
    "bn": _bn,
    "relu": _act(nn.ReLU),
    "relu6": _act(nn.ReLU6),
    "leaky_relu": _act(nn.LeakyReLU),
    "sigmoid": _act(nn.Sigmoid, False),
    "tanh": _act(nn.Tanh, False),
    "hardswish": _act(nn.Hardswish),
    "hardsigmoid": _act(nn.Hardsigmoid),
    "silu": _act(nn.SiLU),
    "gelu": _act(nn.GELU, False),
    "elu": _act(nn.ELU),
    # torch practice: dropout is not in place (inplace dropout after an inplace ReLU breaks
    # autograd); at inference it returns its input unchanged either way.
    "dropout": lambda node, inplace, shapes: nn.Dropout(_f(node.fields["p"])),
    "flatten": lambda node, inplace, shapes: nn.Flatten(1),
    "softmax": lambda node, inplace, shapes: nn.Softmax(dim=1),
    "concat": _concat,
    "add": lambda node, inplace, shapes: Add(),
    "scale": lambda node, inplace, shapes: Scale(),
    "slice": lambda node, inplace, shapes: Slice(node.fields["start"], node.fields["end"]),
    "zero_pad": lambda node, inplace, shapes: ZeroPad(node.fields["c"], node.fields["p"]),
}

# modules whose own parameters include a conv/linear bias (archcost's "bias" column)
BIASED = (nn.modules.conv._ConvNd, nn.Linear)

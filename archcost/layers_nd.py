"""Convolution and pooling in 1-D and 3-D, transposed convolution in 1-D/2-D/3-D, and
upsampling.

The sliding-window rule is :func:`archcost.layers.window_output` on every axis (floor, or
ceil with ``ceil: true``); ``p: same`` is TensorFlow's rule on every axis
(:func:`archcost.layers.resolve_padding`). MACs and ops follow the 2-D layers: a convolution
costs k*(C_in/g)*C_out MACs per output position (k = the kernel's volume); a transposed
convolution costs the same per *input* position (torch's FlopCounterMode, fvcore), since each
input element is scattered through the whole kernel.
"""

from __future__ import annotations

from .errors import SpecError
from .layers import (
    _BIAS,
    REQUIRED,
    Cost,
    Field,
    _adaptive_windows,
    elements,
    need,
    numeric,
    primitive,
    resolve_padding,
    window_output,
)

_LAYOUT = {1: "CL", 2: "CHW", 3: "CDHW"}
_AXES = {1: "L", 2: "HxW", 3: "DxHxW"}


def _fields(n):
    """Kernel, stride, padding and dilation fields of an n-D window layer."""
    kind = "int" if n == 1 else "triple"
    shape = "n" if n == 1 else "n or [d, h, w]"
    return (Field("k", kind, REQUIRED, doc=f"kernel size, {shape}"),
            Field("s", kind, 1, doc="stride"),
            Field("p", "padding1" if n == 1 else "padding3", 0, minimum=0,
                  doc=f"padding: {shape}, 'same' or 'valid'"),
            Field("d", kind, 1, doc="dilation"))  # fmt: skip


def _tuple(v, n):
    return v if isinstance(v, tuple) else (v,) * n


def _pads(sizes, k, s, p, d):
    """(lo, hi) padding per axis from an int, a tuple, 'same' or 'valid'."""
    n = len(sizes)
    if p in ("same", "valid"):
        out = []
        for size, kk, ss, dd in zip(sizes, k, s, d, strict=True):
            lo, hi, _, _ = resolve_padding(p, size, size, (kk, kk), (ss, ss), (dd, dd))
            out.append((lo, hi))
        return out
    return [(v, v) for v in _tuple(p, n)]


def _windows(x, n, k, s, p, d, ceil, what):
    """Output sizes of an n-D sliding window over a channels-first map."""
    need(x, what, _LAYOUT[n])
    sizes = x[1:]
    k, s, d = _tuple(k, n), _tuple(s, n), _tuple(d, n)
    pads = _pads(sizes, k, s, p, d)
    out = tuple(window_output(size, kk, ss, lo, hi, dd, ceil)
                for size, kk, ss, (lo, hi), dd in zip(sizes, k, s, pads, d, strict=True))  # fmt: skip
    if numeric(*out) and min(out) < 1:
        raise SpecError(f"{what}: output size {'x'.join(map(str, out))} is below 1 (kernel "
                        "larger than the padded input?)")  # fmt: skip
    return out, k


def _conv_nd(n, x, out, k, s, p, d, g, bias, what):
    c = x[0]
    if numeric(c, g) and (c % g or (numeric(out) and out % g)):
        raise SpecError(f"{what}: groups={g} must divide both input channels ({c}) and out "
                        f"({out})")  # fmt: skip
    sizes, k = _windows(x, n, k, s, p, d, False, what)
    weights = elements(k) * (c // g) * out
    b = out if bias else 0
    positions = elements(sizes)
    return Cost((out, *sizes), weights + b, b, 0, weights * positions,
                out * positions if bias else 0)  # fmt: skip


_CONV_COMMON = (Field("g", "int", 1, doc="groups"), _BIAS)


@primitive("conv1d", Field("out", "int", doc="output channels"), *_fields(1), *_CONV_COMMON,
           positional=("out", "k", "s", "p"), weight=True)  # fmt: skip
def conv1d(x, out, k, s, p, d, g, bias):
    """1-D convolution of a (C, L) map (audio, M5).

    L_out = floor((L + 2p - d*(k-1) - 1) / s) + 1; params = k*(C_in/g)*C_out + C_out [bias];
    MACs = k*(C_in/g)*C_out*L_out; other ops = C_out*L_out bias adds.
    """
    return _conv_nd(1, x, out, k, s, p, d, g, bias, "conv1d")


@primitive("conv3d", Field("out", "int", doc="output channels"), *_fields(3), *_CONV_COMMON,
           positional=("out", "k", "s", "p"), weight=True)  # fmt: skip
def conv3d(x, out, k, s, p, d, g, bias):
    """3-D convolution of a (C, D, H, W) map (video, volumes).

    each of D, H, W: floor((n + 2p - d*(k-1) - 1) / s) + 1;
    params = k_d*k_h*k_w*(C_in/g)*C_out + C_out [bias];
    MACs = k_d*k_h*k_w*(C_in/g)*C_out*D_out*H_out*W_out; other ops = C_out*D_out*H_out*W_out.
    """
    return _conv_nd(3, x, out, k, s, p, d, g, bias, "conv3d")


def _pool_nd(n, x, k, s, p, d, ceil, what):
    s = k if s is None else s
    sizes, k = _windows(x, n, k, s, p, d, ceil, what)
    return (x[0], *sizes), elements(k)


def _pool_fields(n, dilation):
    k, s, p, d = _fields(n)
    s = Field("s", s.kind, None, doc="stride (default: the kernel)")
    extra = (d,) if dilation else ()
    return (k, s, p, *extra, Field("ceil", "bool", False, doc="ceil output rule"))


@primitive("maxpool1d", *_pool_fields(1, True), positional=("k", "s", "p"))
def maxpool1d(x, k, s, p, d, ceil):
    """1-D max pooling of a (C, L) map: other ops = (k - 1) comparisons per output element."""
    shape, window = _pool_nd(1, x, k, s, p, d, ceil, "maxpool1d")
    return Cost(shape, ops=(window - 1) * elements(shape))


@primitive("maxpool3d", *_pool_fields(3, True), positional=("k", "s", "p"))
def maxpool3d(x, k, s, p, d, ceil):
    """3-D max pooling of a (C, D, H, W) map: other ops = (k_d*k_h*k_w - 1) per output
    element."""
    shape, window = _pool_nd(3, x, k, s, p, d, ceil, "maxpool3d")
    return Cost(shape, ops=(window - 1) * elements(shape))


@primitive("avgpool1d", *_pool_fields(1, False), positional=("k", "s", "p"))
def avgpool1d(x, k, s, p, ceil):
    """1-D average pooling of a (C, L) map: other ops = k (adds and the divide) per output
    element."""
    shape, window = _pool_nd(1, x, k, s, p, 1, ceil, "avgpool1d")
    return Cost(shape, ops=window * elements(shape))


@primitive("avgpool3d", *_pool_fields(3, False), positional=("k", "s", "p"))
def avgpool3d(x, k, s, p, ceil):
    """3-D average pooling of a (C, D, H, W) map: other ops = k_d*k_h*k_w per output element."""
    shape, window = _pool_nd(3, x, k, s, p, (1, 1, 1), ceil, "avgpool3d")
    return Cost(shape, ops=window * elements(shape))


# ---------------------------------------------------------------- transposed convolution


def _transposed(n, x, out, k, s, p, op, d, g, bias, what):
    need(x, what, _LAYOUT[n])
    c = x[0]
    if numeric(c, g) and (c % g or (numeric(out) and out % g)):
        raise SpecError(f"{what}: groups={g} must divide both input channels ({c}) and out "
                        f"({out})")  # fmt: skip
    k, s, p, op, d = (_tuple(v, n) for v in (k, s, p, op, d))
    sizes = []
    for size, kk, ss, pp, oo, dd in zip(x[1:], k, s, p, op, d, strict=True):
        if numeric(oo, ss, dd) and oo >= max(ss, dd):
            raise SpecError(f"{what}: output_padding {oo} must be smaller than the stride or "
                            "the dilation")  # fmt: skip
        sizes.append((size - 1) * ss - 2 * pp + dd * (kk - 1) + oo + 1)
    if numeric(*sizes) and min(sizes) < 1:
        raise SpecError(f"{what}: output size {'x'.join(map(str, sizes))} is below 1")
    weights = elements(k) * c * (out // g)
    b = out if bias else 0
    return Cost((out, *sizes), weights + b, b, 0, weights * elements(x[1:]),
                out * elements(sizes) if bias else 0)  # fmt: skip


def _tfields(n):
    kind = "int" if n == 1 else ("pair" if n == 2 else "triple")
    return (Field("out", "int", doc="output channels"),
            Field("k", kind, doc="kernel size"), Field("s", kind, 1, doc="stride"),
            Field("p", kind, 0, minimum=0, doc="padding removed from each side of the output"),
            Field("output_padding", kind, 0, minimum=0, doc="added to one side of the output"),
            Field("d", kind, 1, doc="dilation"), *_CONV_COMMON)  # fmt: skip


@primitive("conv_transpose", *_tfields(2), positional=("out", "k", "s", "p"), weight=True,
           aliases=("conv_transpose2d", "deconv", "transposed_conv"))  # fmt: skip
def conv_transpose(x, out, k, s, p, output_padding, d, g, bias):
    """2-D transposed convolution (torch ``ConvTranspose2d``, U-Net/GAN upsampling).

    H_out = (H - 1)*s - 2p + d*(k_h - 1) + output_padding + 1 (likewise W);
    params = k_h*k_w*C_in*(C_out/g) + C_out [bias];
    MACs = k_h*k_w*C_in*(C_out/g)*H_in*W_in (every input element through the kernel);
    other ops = C_out*H_out*W_out bias adds.
    """
    return _transposed(2, x, out, k, s, p, output_padding, d, g, bias, "conv_transpose")


@primitive("conv_transpose1d", *_tfields(1), positional=("out", "k", "s", "p"), weight=True)
def conv_transpose1d(x, out, k, s, p, output_padding, d, g, bias):
    """1-D transposed convolution of a (C, L) map: L_out = (L - 1)*s - 2p + d*(k - 1) +
    output_padding + 1; params = k*C_in*(C_out/g) + C_out; MACs = k*C_in*(C_out/g)*L_in."""
    return _transposed(1, x, out, k, s, p, output_padding, d, g, bias, "conv_transpose1d")


@primitive("conv_transpose3d", *_tfields(3), positional=("out", "k", "s", "p"), weight=True)
def conv_transpose3d(x, out, k, s, p, output_padding, d, g, bias):
    """3-D transposed convolution of a (C, D, H, W) map: each axis (n - 1)*s - 2p +
    d*(k - 1) + output_padding + 1; params = k_d*k_h*k_w*C_in*(C_out/g) + C_out;
    MACs = k_d*k_h*k_w*C_in*(C_out/g)*D_in*H_in*W_in."""
    return _transposed(3, x, out, k, s, p, output_padding, d, g, bias, "conv_transpose3d")


# ---------------------------------------------------------------- upsampling

# other ops per output element (fvcore's upsample handlers: bilinear 4; nearest copies)
_UPSAMPLE_OPS = {"nearest": 0, "linear": 2, "bilinear": 4, "trilinear": 8}
_MODE_RANK = {"linear": 1, "bilinear": 2, "trilinear": 3}


@primitive("upsample",
           Field("scale", "int", None, doc="integer scale factor of every spatial axis"),
           Field("size", "ints", None, doc="output size of the spatial axes instead"),
           Field("mode", "choice", "nearest", choices=tuple(_UPSAMPLE_OPS),
                 doc="nearest, linear (1-D), bilinear (2-D), trilinear (3-D)"),
           positional=("scale", "mode"), aliases=("interpolate", "resize"))  # fmt: skip
def upsample(x, scale=None, size=None, mode="nearest"):
    """Upsampling of a channels-first map (C, L), (C, H, W) or (C, D, H, W) by an integer
    ``scale`` or to a ``size`` (torch ``nn.Upsample``/``F.interpolate``). No params, no MACs;
    other ops per output element: nearest 0 (a copy), linear 2, bilinear 4, trilinear 8
    (fvcore's counts: the weighted sum of the 2, 4 or 8 neighbours).
    """
    need(x, "upsample", "CL", "CHW", "CDHW")
    n = len(x) - 1
    if mode in _MODE_RANK and _MODE_RANK[mode] != n:
        raise SpecError(f"upsample: mode {mode} is for {_MODE_RANK[mode]}-D maps; this one is "
                        f"{n}-D")  # fmt: skip
    if (scale is None) == (size is None):
        raise SpecError("upsample needs one of 'scale' or 'size'")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,)
        if len(sizes) == 1:
            sizes = sizes * n
        if len(sizes) != n:
            raise SpecError(f"upsample: size has {len(sizes)} values for {n} spatial axes")
    else:
        sizes = tuple(d * scale for d in x[1:])
    shape = (x[0], *sizes)
    return Cost(shape, ops=_UPSAMPLE_OPS[mode] * elements(shape))


# ---------------------------------------------------------------- adaptive pooling


def _adaptive(n, x, size, what):
    """(output shape, product over the axes of the sum of window lengths) of torch's adaptive
    pooling of an n-D map: each axis of length m into o windows [floor(i*m/o),
    ceil((i+1)*m/o)), whose lengths sum to m + o - gcd(m, o)
    (:func:`archcost.layers._adaptive_windows`)."""
    need(x, what, _LAYOUT[n])
    sizes = _tuple(size, n)
    window_sum = 1
    for m, o in zip(x[1:], sizes, strict=True):
        window_sum = window_sum * _adaptive_windows(m, o)
    return (x[0], *sizes), window_sum


_ADAPTIVE_SIZE = {1: Field("size", "int", doc="output length"),
                  2: Field("size", "pair", doc="output size [h, w]"),
                  3: Field("size", "triple", doc="output size [d, h, w]")}  # fmt: skip


@primitive("adaptive_avgpool1d", _ADAPTIVE_SIZE[1], positional=("size",),
           aliases=("adaptive_avg_pool1d",))  # fmt: skip
def adaptive_avgpool1d(x, size):
    """Adaptive average pooling of a (C, L) map to (C, size) (torch ``AdaptiveAvgPool1d``).

    other ops = C * (sum of window lengths), one add or divide per element of each window;
    the windows' lengths sum to L + size - gcd(L, size). size 1 is ``global_avgpool``.
    """
    shape, windows = _adaptive(1, x, size, "adaptive_avgpool1d")
    return Cost(shape, ops=x[0] * windows)


@primitive("adaptive_avgpool3d", _ADAPTIVE_SIZE[3], positional=("size",),
           aliases=("adaptive_avg_pool3d",))  # fmt: skip
def adaptive_avgpool3d(x, size):
    """Adaptive average pooling of a (C, D, H, W) map to (C, d, h, w) (``AdaptiveAvgPool3d``).

    other ops = C * (sum of window depths) * (sum of window heights) * (sum of window
    widths); along an axis of n into o windows the lengths sum to n + o - gcd(n, o).
    """
    shape, windows = _adaptive(3, x, size, "adaptive_avgpool3d")
    return Cost(shape, ops=x[0] * windows)


def _adaptive_max(n, x, size, what):
    shape, windows = _adaptive(n, x, size, what)
    return Cost(shape, ops=x[0] * windows - elements(shape))


@primitive("adaptive_maxpool", _ADAPTIVE_SIZE[2], positional=("size",),
           aliases=("adaptive_maxpool2d", "adaptive_max_pool2d", "adaptive_max_pool"))  # fmt: skip
def adaptive_maxpool(x, size):
    """Adaptive max pooling of a (C, H, W) map to (C, h, w) (``AdaptiveMaxPool2d``; size 1 is
    global max pooling).

    other ops = window - 1 comparisons per output element, in all C * (sum of window
    heights) * (sum of window widths) - C*h*w.
    """
    return _adaptive_max(2, x, size, "adaptive_maxpool")


@primitive("adaptive_maxpool1d", _ADAPTIVE_SIZE[1], positional=("size",),
           aliases=("adaptive_max_pool1d",))  # fmt: skip
def adaptive_maxpool1d(x, size):
    """Adaptive max pooling of a (C, L) map to (C, size) (``AdaptiveMaxPool1d``).

    other ops = C * (sum of window lengths) - C*size comparisons (window - 1 per output).
    """
    return _adaptive_max(1, x, size, "adaptive_maxpool1d")


@primitive("adaptive_maxpool3d", _ADAPTIVE_SIZE[3], positional=("size",),
           aliases=("adaptive_max_pool3d",))  # fmt: skip
def adaptive_maxpool3d(x, size):
    """Adaptive max pooling of a (C, D, H, W) map to (C, d, h, w) (``AdaptiveMaxPool3d``).

    other ops = C * (product of the window-length sums per axis) - C*d*h*w comparisons.
    """
    return _adaptive_max(3, x, size, "adaptive_maxpool3d")

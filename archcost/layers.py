"""The layer registry: one function per primitive, computing shape and cost together.

Counting conventions (stated once; the README repeats them in the same words):

* **params** are trainable weights and biases. Batch-norm running mean/variance are
  **buffers**, reported apart and never added to params.
* **MACs** are the multiply-accumulates of convolution and linear layers, nothing else.
  Wherever FLOPs are shown, FLOPs = 2 x MACs.
* **other ops** is everything else, in its own column and never folded into MACs:
  bias additions (1 per output element of a layer with a bias), pooling (max: k_h*k_w - 1
  comparisons; average: k_h*k_w adds and divides, per output element), batch norm at
  inference (2 per element: scale and shift), activation functions (1 per element), LRN
  (size + 3 per element), elementwise add (inputs - 1 per element), elementwise scale
  (1 per element), softmax (3 per element: exp, add, divide); concat and zero padding
  copy or write zeros and count none.
* **activations** are elements of the tensors a layer writes, per sample. In-place
  primitives (activation functions, dropout) write over their input and add none.

Each function takes the input shapes and the layer's fields and returns a :class:`Cost`.
The arithmetic is plain ``+ * //`` so the same function gives exact Python integers for
numbers and sympy expressions for symbols (:mod:`archcost.symbolic`); nothing here imports sympy.
Shapes are per sample: ``(C, H, W)`` for feature maps, ``(N,)`` for flat vectors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from .errors import SpecError

REQUIRED = object()


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a primitive: its name, kind and default (``REQUIRED`` if none)."""

    name: str
    kind: str  # int | pair | padding | bool | number | choice | ints
    default: object = REQUIRED
    choices: tuple = ()
    minimum: int = 1
    doc: str = ""


@dataclass(slots=True)
class Cost:
    """What one primitive produces: output shape and its costs per sample."""

    shape: tuple
    params: int = 0
    bias: int = 0  # the part of params that is biases (Table 1 counts weights only)
    buffers: int = 0
    macs: int = 0
    ops: int = 0


@dataclass(frozen=True)
class Primitive:
    name: str
    fn: Callable
    fields: tuple[Field, ...]
    positional: tuple[str, ...]
    arity: int | None  # number of inputs; None = two or more
    weight: bool  # a conv/linear "weight layer" (counts towards a row's depth)
    inplace: bool  # writes over its input: no new activation memory
    doc: str = ""
    field_map: dict = field(default_factory=dict)


PRIMITIVES: dict[str, Primitive] = {}
ALIASES: dict[str, str] = {}

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
               "silu", "gelu", "elu")  # fmt: skip


def primitive(name, *fields, positional=(), arity=1, weight=False, inplace=False, aliases=()):
    """Register ``fn`` as primitive ``name``; a name may be registered once only."""

    def register(fn):
        if name in PRIMITIVES or name in ALIASES:
            raise RuntimeError(f"primitive {name!r} registered twice")
        prim = Primitive(name, fn, tuple(fields), tuple(positional), arity, weight, inplace,
                         (fn.__doc__ or "").strip(), {f.name: f for f in fields})  # fmt: skip
        PRIMITIVES[name] = prim
        for alias in aliases:
            ALIASES[alias] = name
        return fn

    return register


# ---------------------------------------------------------------- helpers


def numeric(*values) -> bool:
    """True when every value is a plain int, so checks can run (symbols skip them)."""
    for v in values:
        if type(v) is not int:
            return False
    return True


def elements(shape) -> int:
    n = 1
    for d in shape:
        n = n * d
    return n


def fmt_shape(shape) -> str:
    """Shape in the papers' order, H x W x C (e.g. 112x112x64); flat shapes as N."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(d) for d in shape)


def _pair(v):
    return (v, v) if not isinstance(v, tuple) else v


def _spatial(x, what):
    if len(x) != 3:
        raise SpecError(f"{what} needs a C x H x W input, got {fmt_shape(x)}")
    return x


def window_output(size, k, s, pad_lo, pad_hi, d=1, ceil=False):
    """Output length of a sliding window (conv or pool) along one axis.

    floor: (size + pad_lo + pad_hi - d*(k-1) - 1) // s + 1 (convolutions, torch pools)
    ceil:  ceil(...) + 1, where the last window must start inside the input or the left
    padding (Caffe pools, torch ``ceil_mode=True``; GoogLeNet's pools use this rule).
    """
    span = size + pad_lo + pad_hi - d * (k - 1) - 1
    if not ceil:
        return span // s + 1
    out = -((-span) // s) + 1
    if numeric(out, size) and (out - 1) * s >= size + pad_lo:
        out -= 1
    return out


def resolve_padding(p, size_h, size_w, k, s, d):
    """Padding as (top, bottom, left, right) from an int, a pair, 'valid' or 'same'.

    'same' is TensorFlow's rule: output = ceil(input / stride), any odd padding at the end.
    """
    kh, kw = k
    sh, sw = s
    dh, dw = d
    if p == "valid":
        return (0, 0, 0, 0)
    if p == "same":
        pads = []
        for size, kk, ss, dd in ((size_h, kh, sh, dh), (size_w, kw, sw, dw)):
            out = -((-size) // ss)
            total = (out - 1) * ss + dd * (kk - 1) + 1 - size
            if numeric(total) and total < 0:
                total = 0
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    ph, pw = _pair(p)
    return (ph, ph, pw, pw)


def _check_out(out_h, out_w, what):
    if numeric(out_h, out_w) and (out_h < 1 or out_w < 1):
        raise SpecError(f"{what}: output size {out_h}x{out_w} is below 1 (kernel larger than "
                        "the padded input?)")  # fmt: skip


_K = Field("k", "pair", doc="kernel size, n or [h, w]")
_S = Field("s", "pair", 1, doc="stride")
_P = Field("p", "padding", 0, minimum=0, doc="padding: n, [h, w], 'same' or 'valid'")
_D = Field("d", "pair", 1, doc="dilation")
_BIAS = Field("bias", "bool", True, doc="learned bias")

# ---------------------------------------------------------------- weight layers


@primitive(
    "conv",
    Field("out", "int", doc="output channels"),
    _K,
    _S,
    _P,
    _D,
    Field("g", "int", 1, doc="groups"),
    _BIAS,
    positional=("out", "k", "s", "p"),
    weight=True,
    aliases=("convolution", "conv2d"),
)
def conv(x, out, k, s, p, d, g, bias):
    """2-D convolution.

    H_out = floor((H + p_t + p_b - d*(k_h-1) - 1) / s) + 1 (likewise W);
    params = k_h*k_w*(C_in/g)*C_out + C_out [bias];
    MACs = k_h*k_w*(C_in/g)*C_out*H_out*W_out; other ops = C_out*H_out*W_out bias adds.
    """
    c, h, w = _spatial(x, "conv")
    kh, kw = k
    sh, sw = s
    dh, dw = d
    if numeric(c, g) and (c % g or (numeric(out) and out % g)):
        raise SpecError(f"conv: groups={g} must divide both input channels ({c}) and out ({out})")
    pt, pb, pl, pr = resolve_padding(p, h, w, k, s, d)
    oh = window_output(h, kh, sh, pt, pb, dh)
    ow = window_output(w, kw, sw, pl, pr, dw)
    _check_out(oh, ow, f"conv {kh}x{kw}/{sh} on {h}x{w}")
    weights = kh * kw * (c // g) * out
    b = out if bias else 0
    positions = oh * ow
    return Cost((out, oh, ow), weights + b, b, 0, weights * positions,
                out * positions if bias else 0)  # fmt: skip


@primitive(
    "linear",
    Field("out", "int", doc="output features"),
    _BIAS,
    positional=("out",),
    weight=True,
    aliases=("fc", "dense", "fully_connected"),
)
def linear(x, out, bias):
    """Fully connected layer on the flattened input (N = C*H*W features).

    params = N*out + out [bias]; MACs = N*out; other ops = out bias adds.
    """
    n = elements(x)
    b = out if bias else 0
    return Cost((out,), n * out + b, b, 0, n * out, out if bias else 0)


# ---------------------------------------------------------------- pooling


def _pool(x, k, s, p, ceil, what, d=(1, 1)):
    c, h, w = _spatial(x, what)
    kh, kw = k
    s = k if s is None else s
    sh, sw = s
    pt, pb, pl, pr = resolve_padding(p, h, w, k, s, d)
    oh = window_output(h, kh, sh, pt, pb, d[0], ceil)
    ow = window_output(w, kw, sw, pl, pr, d[1], ceil)
    _check_out(oh, ow, f"{what} {kh}x{kw}/{sh} on {h}x{w}")
    return (c, oh, ow), kh * kw


_POOL_FIELDS = (_K, Field("s", "pair", None, doc="stride (default: the kernel)"), _P,
                Field("ceil", "bool", False, doc="ceil output rule (Caffe)"))  # fmt: skip


@primitive("maxpool", *_POOL_FIELDS, positional=("k", "s", "p"), aliases=("max_pool", "pool"))
def maxpool(x, k, s, p, ceil):
    """Max pooling; output size by the floor rule, or the ceil rule with ``ceil: true``.

    other ops = (k_h*k_w - 1) comparisons per output element.
    """
    shape, window = _pool(x, k, s, p, ceil, "maxpool")
    return Cost(shape, ops=(window - 1) * elements(shape))


@primitive("avgpool", *_POOL_FIELDS, positional=("k", "s", "p"), aliases=("avg_pool",))
def avgpool(x, k, s, p, ceil):
    """Average pooling. other ops = k_h*k_w (adds and the divide) per output element."""
    shape, window = _pool(x, k, s, p, ceil, "avgpool")
    return Cost(shape, ops=window * elements(shape))


@primitive("global_avgpool", aliases=("gap", "global_avg_pool", "global_pool"))
def global_avgpool(x):
    """Global average pooling to C x 1 x 1. other ops = C*H*W (adds and divides)."""
    c, h, w = _spatial(x, "global_avgpool")
    return Cost((c, 1, 1), ops=c * h * w)


def _adaptive_windows(size, out):
    """Sum of window lengths of torch's adaptive pooling: [floor(i*n/o), ceil((i+1)*n/o)).

    Closed form n + o - gcd(n, o): summing ceil((i+1)n/o) - floor(in/o) over i, the floors
    cancel except the last term n, and a ceiling exceeds its floor unless o divides (i+1)n,
    which happens for gcd(n, o) of the o values. (A loop over o = 16,777,216 windows took
    seconds per layer.)
    """
    if not numeric(size, out):
        return size
    return size + out - math.gcd(size, out)


@primitive("adaptive_avgpool", Field("size", "pair", doc="output size [h, w]"),
           positional=("size",))  # fmt: skip
def adaptive_avgpool(x, size):
    """Adaptive average pooling to C x h x w (torchvision's AlexNet and VGG heads).

    other ops = C * (sum of window heights) * (sum of window widths).
    """
    c, h, w = _spatial(x, "adaptive_avgpool")
    oh, ow = size
    return Cost((c, oh, ow), ops=c * _adaptive_windows(h, oh) * _adaptive_windows(w, ow))


# ---------------------------------------------------------------- normalization


@primitive(
    "lrn",
    Field("size", "int", 5, doc="neighbouring channels"),
    Field("alpha", "number", "0.0001"),
    Field("beta", "number", "0.75"),
    Field("k_const", "number", 1),
    positional=("size",),
    aliases=("local_response_norm", "norm"),
)
def lrn(x, size, alpha, beta, k_const):
    """Local response normalization across channels (AlexNet, GoogLeNet).

    other ops = (size + 3) per element: the sum of squares, then scale, power and divide.
    """
    return Cost(x, ops=(size + 3) * elements(x))


@primitive("bn", Field("eps", "number", "0.00001"), aliases=("batchnorm", "batch_norm"))
def bn(x, eps):
    """Batch normalization: params = 2*C (gamma, beta); buffers = 2*C (running mean, var).

    other ops = 2 per element at inference (scale and shift).
    eps must lie in (0, 1]: checked here, once, for the static path and the torch backend alike
    (a negative eps was accepted statically and refused by torch).
    """
    if isinstance(eps, (int, Fraction)) and not (0 < eps <= 1 and float(eps) > 0):
        shown = f"{float(eps):g}" if abs(eps) <= 10**6 else "more than 10**6"
        raise SpecError(f"bn: eps must be a small positive number in (0, 1], e.g. 1e-5; got "
                        f"{shown}")  # fmt: skip
    c = x[0]
    return Cost(x, params=2 * c, buffers=2 * c, ops=2 * elements(x))


# ---------------------------------------------------------------- elementwise


def _activation(x):
    """Activation function: no params, other ops = 1 per element, written in place."""
    return Cost(x, ops=elements(x))


for _name in ACTIVATIONS:
    primitive(_name, inplace=True)(_activation)
ALIASES.update({"swish": "silu", "hswish": "hardswish", "hsigmoid": "hardsigmoid"})


@primitive("dropout", Field("p", "number", "0.5", minimum=0, doc="drop probability"),
           positional=("p",), inplace=True)  # fmt: skip
def dropout(x, p):
    """Dropout: identity at inference; no params, no ops. 0 <= p <= 1."""
    if isinstance(p, (int, Fraction)) and p > 1:
        raise SpecError(f"dropout: p = {p} is a probability, at most 1 (p: 0.4 for 40%)")
    return Cost(x)


@primitive("flatten")
def flatten(x):
    """Flatten C x H x W to C*H*W. No cost; a view, but counted as a new tensor."""
    return Cost((elements(x),))


@primitive("softmax", aliases=("log_softmax",))
def softmax(x):
    """Softmax over the features: other ops = 3 per element (exp, add, divide)."""
    return Cost(x, ops=3 * elements(x))


@primitive("concat", arity=None, aliases=("cat", "filter_concat", "depthconcat"))
def concat(*xs):
    """Concatenate along channels; all inputs must share H x W. No ops (a copy)."""
    first = xs[0]
    for other in xs[1:]:
        if len(other) != len(first) or (
            numeric(*other[1:], *first[1:]) and tuple(other[1:]) != tuple(first[1:])
        ):
            raise SpecError("concat: inputs differ in spatial size: "
                            + ", ".join(fmt_shape(s) for s in xs))  # fmt: skip
    return Cost((sum(s[0] for s in xs), *first[1:]))


@primitive(
    "slice",
    Field("start", "int", minimum=0, doc="first channel taken"),
    Field("end", "int", doc="one past the last channel taken"),
    positional=("start", "end"),
    inplace=True,
    aliases=("narrow", "channel_slice"),
)
def channel_slice(x, start, end):
    """Channels [start, end) of the input, e.g. a partially connected layer's input maps.

    A view of its input (torch ``narrow``): no params, no ops, no new activation memory.
    """
    c = x[0]
    if numeric(start, end, c) and not start < end <= c:
        raise SpecError(f"slice: channels [{start}, {end}) are not within the input's {c}")
    return Cost((end - start, *x[1:]))


@primitive("add", arity=None, aliases=("sum", "residual"))
def add(*xs):
    """Elementwise sum of equal shapes (residual connections): (inputs - 1) ops per element."""
    first = xs[0]
    for other in xs[1:]:
        if len(other) != len(first) or (numeric(*other, *first) and other != first):
            raise SpecError("add: inputs differ in shape: " + ", ".join(fmt_shape(s) for s in xs))
    return Cost(first, ops=(len(xs) - 1) * elements(first))


@primitive("scale", arity=2, aliases=("mul", "multiply"))
def scale(x, gate):
    """Multiply a C x H x W map by a per-channel gate C x 1 x 1 (squeeze-and-excitation).

    other ops = 1 per element of the map.
    """
    if gate[0] != x[0] and numeric(gate[0], x[0]):
        raise SpecError(f"scale: gate has {gate[0]} channels, the input {x[0]}")
    return Cost(x, ops=elements(x))


@primitive(
    "zero_pad",
    Field("c", "int", 0, minimum=0, doc="channels of zeros appended"),
    Field("p", "pair", 0, minimum=0, doc="rows/columns of zeros on each side, n or [h, w]"),
    positional=("c", "p"),
)
def zero_pad(x, c, p):
    """Zero padding: C + c channels, H + 2*p_h, W + 2*p_w (ResNet's option-A shortcut pads
    channels). No params, MACs or ops (zeros are written, not computed); a new tensor.
    """
    ch, h, w = _spatial(x, "zero_pad")
    ph, pw = p
    return Cost((ch + c, h + 2 * ph, w + 2 * pw))


def get(name: str) -> Primitive | None:
    return PRIMITIVES.get(ALIASES.get(name, name))

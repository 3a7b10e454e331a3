"""The layer registry: one function per primitive, computing shape and cost together.

Counting conventions (stated once; the README repeats them in the same words):

* **params** are trainable weights and biases. Batch-norm running mean/variance are
  **buffers**, reported apart and never added to params.
* **MACs** are the multiply-accumulates of convolution and linear layers (and of the layers
  built from them: attention's projections, recurrent cells) and of matrix products between
  activations (attention's QK^T and AV, ``matmul``), nothing else.
  Wherever FLOPs are shown, FLOPs = 2 x MACs.
* **other ops** is everything else, in its own column and never folded into MACs:
  bias additions (1 per output element of a layer with a bias), pooling (max: k_h*k_w - 1
  comparisons; average: k_h*k_w adds and divides, per output element), batch norm at
  inference (2 per element: scale and shift), activation functions (1 per element), LRN
  (size + 3 per element), elementwise add (inputs - 1 per element), elementwise scale and
  a multiply by a constant (1 per element), a mean over axes (1 per input element, as the
  global average pool), softmax (3 per element: exp, add, divide), layer/group norm (5 per
  element, fvcore's count), upsampling (bilinear 4 per output element); concat, reshapes
  and zero padding copy or write zeros and count none.
* **activations** are elements of the tensors a layer writes, per sample. In-place
  primitives (activation functions, dropout, views such as ``chunk``) write over their input
  and add none; a learned tensor (``parameter``) is not an activation; attention also
  writes q, k, v, its scores and probabilities (``Cost.extra``).

Each function takes the input shapes and the layer's fields and returns a :class:`Cost`.
The arithmetic is plain ``+ * //`` so the same function gives exact Python integers for
numbers and sympy expressions for symbols (:mod:`archcost.symbolic`); nothing here imports sympy.
Shapes are per sample and of any rank, each with a layout (:mod:`archcost.shapes`):
``(C, H, W)`` feature maps, ``(C, L)`` 1-D maps, ``(C, D, H, W)`` 3-D maps, tokens ``(L, D)``,
channels-last maps ``(H, W, C)``, flat vectors ``(N,)``. A primitive states the layouts it
takes (:func:`need`) and gives a clear error for the others.

The primitives are grouped by module: the classic CNN layers here, and
:mod:`archcost.layers_tensor` (tokens, normalisation, reshaping, learned tensors),
:mod:`archcost.layers_attention` (attention, matmul), :mod:`archcost.layers_nd` (1-D/3-D
convolution and pooling, transposed convolution, upsampling) and
:mod:`archcost.layers_recurrent` (LSTM, GRU) register into the same registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from .errors import SpecError
from .shapes import describe, fmt_shape, layout_of, shaped  # noqa: F401 (re-exported)

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
    maximum: int | None = None  # None: limits.MAX_DIM (a dimension); counts allow more


@dataclass(slots=True)
class Cost:
    """What one primitive produces: output shape and its costs per sample."""

    shape: tuple
    params: int = 0
    bias: int = 0  # the part of params that is biases (Table 1 counts weights only)
    buffers: int = 0
    macs: int = 0
    ops: int = 0
    extra: int = 0  # elements of intermediate tensors written besides the output (attention)


@dataclass(frozen=True)
class Primitive:
    name: str
    fn: Callable
    fields: tuple[Field, ...]
    positional: tuple[str, ...]
    arity: int | None  # inputs; None = two or more; 0 = a source (no input); -1 = any number
    weight: bool  # a conv/linear "weight layer" (counts towards a row's depth)
    inplace: bool  # writes over its input: no new activation memory
    doc: str = ""
    field_map: dict = field(default_factory=dict)


PRIMITIVES: dict[str, Primitive] = {}
ALIASES: dict[str, str] = {}

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "sigmoid", "tanh", "hardswish", "hardsigmoid",
               "silu", "gelu", "elu", "softplus", "mish")  # fmt: skip


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


def _pair(v):
    return (v, v) if not isinstance(v, tuple) else v


_WANT = {"CHW": "(C, H, W)", "CL": "(C, L)", "CDHW": "(C, D, H, W)", "LC": "tokens (L, D)",
         "HWC": "(H, W, C)", "N": "(N,)", "L": "token ids (L,)"}  # fmt: skip


def need(x, what, *layouts):
    """``x`` if its layout is one of ``layouts``, else the error every primitive gives:
    ``conv needs a (C, H, W) input; got tokens (197, 768)``."""
    if layout_of(x) in layouts:
        return x
    want = " or ".join(_WANT.get(lay, f"({', '.join(lay)})") for lay in layouts)
    hint = ""
    if "LC" in layouts and layout_of(x) == "CL":  # `input: [197, 768]` meant as tokens
        hint = (f" (a 2-D shape is (C, L) by default; for tokens give the layout: "
                f"`input: {{tokens: [{x[0]}, {x[1]}]}}` or `layout: tokens`)")
    raise SpecError(f"{what} needs a {want} input; got {describe(x)}{hint}")


def _spatial(x, what):
    return need(x, what, "CHW")


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
    Field("tied", "bool", False, doc="weight shared with an earlier layer (tied embeddings)"),
    Field("trainable", "bool", True, doc="false: fixed weights, counted as buffers"),
    positional=("out",),
    weight=True,
    aliases=("fc", "dense", "fully_connected"),
)
def linear(x, out, bias, tied=False, trainable=True):
    """Fully connected layer on the feature axis.

    On tokens (L, D), a channels-last map (H, W, C) or a flat vector it acts on the last
    axis, once per position (torch ``nn.Linear``): with P positions and N = in features,
    params = N*out + out [bias]; MACs = P*N*out; other ops = P*out bias adds.
    A channels-first map (C, H, W), (C, L) or (C, D, H, W) is flattened first (the classic
    heads: N = C*H*W, P = 1). ``tied: true``: the weight is an earlier layer's (GPT-2's
    output head shares the token embedding), so it adds no params; MACs are counted.
    ``trainable: false`` (weights set by hand and kept fixed, as LeNet-5's RBF centres): the
    same N*out (+ out) numbers are buffers, not params.
    """
    lay = layout_of(x)
    if lay[-1] in "CN" and lay not in ("CHW", "CL", "CDHW") or len(x) == 1:
        n = x[-1]
        positions = elements(x[:-1])
        shape = shaped((*x[:-1], out), lay)
    else:
        n = elements(x)
        positions = 1
        shape = (out,)
    b = out if bias else 0
    weights = 0 if tied else n * out
    ops = positions * out if bias else 0
    if not trainable:
        return Cost(shape, 0, 0, weights + b, positions * n * out, ops)
    return Cost(shape, weights + b, b, 0, positions * n * out, ops)


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


@primitive("maxpool", *_POOL_FIELDS, _D, positional=("k", "s", "p"),
           aliases=("max_pool", "maxpool2d", "max_pool2d"))  # not "pool": avg or max?  # fmt: skip
def maxpool(x, k, s, p, ceil, d=(1, 1)):
    """Max pooling; output size by the floor rule, or the ceil rule with ``ceil: true``;
    dilation ``d`` spaces the window's taps as in a convolution.

    other ops = (k_h*k_w - 1) comparisons per output element.
    """
    shape, window = _pool(x, k, s, p, ceil, "maxpool", d)
    return Cost(shape, ops=(window - 1) * elements(shape))


@primitive("avgpool", *_POOL_FIELDS, positional=("k", "s", "p"),
           aliases=("avg_pool", "avgpool2d", "avg_pool2d"))
def avgpool(x, k, s, p, ceil):
    """Average pooling. other ops = k_h*k_w (adds and the divide) per output element."""
    shape, window = _pool(x, k, s, p, ceil, "avgpool")
    return Cost(shape, ops=window * elements(shape))


@primitive("global_avgpool", aliases=("gap", "global_avg_pool"))
def global_avgpool(x):
    """Global average pooling of a channels-first map to C x 1 x 1 (and (C, 1) for a 1-D
    map, (C, 1, 1, 1) for a 3-D one). other ops = C*H*W (adds and divides: one per input
    element)."""
    need(x, "global_avgpool", "CHW", "CL", "CDHW")
    return Cost((x[0],) + (1,) * (len(x) - 1), ops=elements(x))


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
           positional=("size",),
           aliases=("adaptive_avgpool2d", "adaptive_avg_pool2d", "adaptive_avg_pool"))  # fmt: skip
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
    aliases=("local_response_norm",),  # not "norm": LayerNorm, BatchNorm are norms too
)
def lrn(x, size, alpha, beta, k_const):
    """Local response normalization across channels (AlexNet, GoogLeNet).

    other ops = (size + 3) per element: the sum of squares, then scale, power and divide.
    """
    need(x, "lrn", "CHW", "CL", "CDHW")
    return Cost(x, ops=(size + 3) * elements(x))


@primitive("bn", Field("eps", "number", "0.00001"),
           aliases=("batchnorm", "batch_norm", "batchnorm1d", "batchnorm2d", "batchnorm3d"))
def bn(x, eps):
    """Batch normalization of a channels-first map of any rank (BatchNorm1d/2d/3d: (C, L),
    (C, H, W), (C, D, H, W)) or of flat features (N,), per channel C:
    params = 2*C (gamma, beta); buffers = 2*C (running mean, var).

    other ops = 2 per element at inference (scale and shift).
    eps must lie in (0, 1]: checked here, once, for the static path and the torch backend alike
    (a negative eps was accepted statically and refused by torch).
    """
    if isinstance(eps, (int, Fraction)) and not (0 < eps <= 1 and float(eps) > 0):
        shown = f"{float(eps):g}" if abs(eps) <= 10**6 else "more than 10**6"
        raise SpecError(f"bn: eps must be a small positive number in (0, 1], e.g. 1e-5; got "
                        f"{shown}")  # fmt: skip
    c = need(x, "bn", "CHW", "CL", "CDHW", "N")[0]
    return Cost(x, params=2 * c, buffers=2 * c, ops=2 * elements(x))


# ---------------------------------------------------------------- elementwise


def _activation(x):
    """Activation function: no params, other ops = 1 per element, written in place."""
    return Cost(x, ops=elements(x))


for _name in ACTIVATIONS:
    if _name != "gelu":
        primitive(_name, inplace=True)(_activation)


@primitive("gelu", Field("approximate", "choice", "none", choices=("none", "tanh"),
                         doc="none: exact x*Phi(x) (erf); tanh: the tanh approximation"),
           positional=("approximate",), inplace=True)  # fmt: skip
def gelu(x, approximate="none"):
    """GELU (Hendrycks & Gimpel 2016): exact x*Phi(x), or ``approximate: tanh``
    0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3))) (GPT-2). No params; other ops = 1 per
    element either way (as for every activation function), written in place.
    """
    return Cost(x, ops=elements(x))


ALIASES.update({"swish": "silu", "hswish": "hardswish", "hsigmoid": "hardsigmoid"})


@primitive("dropout", Field("p", "number", "0.5", minimum=0, doc="drop probability"),
           positional=("p",), inplace=True)  # fmt: skip
def dropout(x, p):
    """Dropout: identity at inference; no params, no ops. 0 <= p <= 1."""
    if isinstance(p, (int, Fraction)) and p > 1:
        raise SpecError(f"dropout: p = {p} is a probability, at most 1 (p: 0.4 for 40%)")
    return Cost(x)


@primitive("flatten", Field("from", "int", 0, minimum=-8, doc="first axis merged"),
           Field("to", "int", -1, minimum=-8, doc="last axis merged"),
           positional=("from", "to"))  # fmt: skip
def flatten(x, **axes):
    """Merge axes ``from``..``to`` into one (default all: C x H x W -> C*H*W).

    ``flatten: {from: 1}`` on a (C, H, W) map gives a 1-D map (C, H*W) (ViT's patch
    embedding); on a channels-last map (H, W, C) ``{from: 0, to: 1}`` gives tokens (H*W, C).
    Merged spatial axes become a length L; merging everything gives a flat vector.
    No cost; a view in torch, but counted as a new tensor (as before).
    """
    lay = layout_of(x)
    rank = len(x)
    a, b = _axis(axes.get("from", 0), rank, "flatten"), _axis(axes.get("to", -1), rank, "flatten")
    if a > b:
        raise SpecError(f"flatten: from ({axes.get('from')}) is after to ({axes.get('to')})")
    merged = elements(x[a:b + 1])
    if a == 0 and b == rank - 1:
        return Cost((merged,))
    letters = lay[a:b + 1]
    letter = letters if len(letters) == 1 else ("C" if "C" in letters else "L")
    return Cost(shaped((*x[:a], merged, *x[b + 1:]), lay[:a] + letter + lay[b + 1:]))


def _axis(axis, rank, what):
    """A (possibly negative) axis of a rank-``rank`` tensor as an index, or an error."""
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise SpecError(f"{what}: axis {axis} is outside a rank-{rank} input")
    return a


@primitive("softmax", aliases=("log_softmax",))
def softmax(x):
    """Softmax over the features: other ops = 3 per element (exp, add, divide)."""
    return Cost(x, ops=3 * elements(x))


@primitive("concat", Field("axis", "int", 0, minimum=-8, doc="axis joined (0: channels of a "
                                                               "map, the tokens of a sequence)"),
           arity=None, aliases=("cat", "filter_concat", "depthconcat"))  # fmt: skip
def concat(*xs, axis=0):
    """Concatenate along ``axis`` (default 0: the channels of a (C, H, W) map, the token axis
    of tokens (L, D), so a class token joins the sequence). The inputs must share their
    layout and every other dimension. No params, no ops (a copy); a new tensor.
    """
    first = xs[0]
    lay = layout_of(first)
    rank = len(first)
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise SpecError(f"concat: axis {axis} is outside {describe(first)}")
    for other in xs[1:]:
        if layout_of(other) != lay or len(other) != rank:
            raise SpecError("concat: inputs differ in layout: " + ", ".join(describe(s) for s in xs))
        rest, rest0 = other[:a] + other[a + 1:], first[:a] + first[a + 1:]
        if numeric(*rest, *rest0) and rest != rest0:
            where = "spatial size" if lay in ("CHW", "CL", "CDHW") and a == 0 else \
                f"size off axis {axis}"
            raise SpecError(f"concat: inputs differ in {where}: "
                            + ", ".join(fmt_shape(s) for s in xs))  # fmt: skip
    total = 0
    for s in xs:
        total = total + s[a]
    return Cost(shaped((*first[:a], total, *first[a + 1:]), lay))


@primitive(
    "slice",
    Field("start", "int", minimum=0, doc="first index taken (of channels, tokens, ...)"),
    Field("end", "int", doc="one past the last index taken"),
    Field("axis", "int", 0, minimum=-8, doc="axis sliced (0: the channels of a map, the "
                                            "tokens of a sequence)"),
    positional=("start", "end", "axis"),
    inplace=True,
    aliases=("narrow", "channel_slice"),
)
def channel_slice(x, start, end, axis=0):
    """Indices [start, end) of one axis (torch ``narrow``; ``x[:, start:end]``): by default
    (axis 0) the channels of a map, e.g. a partially connected layer's input maps, or the
    tokens of a sequence (L, D): ``{start: 1, end: 197}`` drops ViT's class token,
    ``{start: L - 1, end: L}`` keeps GPT's last token. The layout is kept.

    A view of its input: no params, no ops, no new activation memory.
    """
    rank = len(x)
    a = _axis(axis, rank, "slice")
    n = x[a]
    if numeric(start, end, n) and not start < end <= n:
        what = "channels" if a == 0 and layout_of(x) in ("CHW", "CL", "CDHW", "N") else \
            f"indices of axis {axis}"  # fmt: skip
        raise SpecError(f"slice: {what} [{start}, {end}) are not within the input's {n}")
    return Cost(shaped((*x[:a], end - start, *x[a + 1:]), layout_of(x)))


@primitive("add", arity=None, aliases=("sum", "residual"))
def add(*xs):
    """Elementwise sum of equal shapes (residual connections): (inputs - 1) ops per element.

    An input may also broadcast to the first (a learned position embedding (197, 768) added
    to tokens, torch's rules: dimensions aligned from the last, each equal or 1).
    """
    first = xs[0]
    for other in xs[1:]:
        if len(other) == len(first) and layout_of(other) != layout_of(first):
            raise SpecError("add: inputs differ in layout: " + ", ".join(describe(s) for s in xs)
                            + " (a learned tensor takes layout:, a map permute or transpose)")
        if len(other) != len(first) and not _broadcasts(other, first):
            raise SpecError("add: inputs differ in shape: " + ", ".join(fmt_shape(s) for s in xs))
        if numeric(*other, *first) and tuple(other) != tuple(first) and \
                not _broadcasts(other, first):  # fmt: skip
            raise SpecError("add: inputs differ in shape: " + ", ".join(fmt_shape(s) for s in xs))
    return Cost(first, ops=(len(xs) - 1) * elements(first))


def _broadcasts(small, big) -> bool:
    """True when ``small`` broadcasts to ``big`` (aligned from the last axis, equal or 1)."""
    if len(small) > len(big):
        return False
    for a, b in zip(reversed(small), reversed(big), strict=False):
        if numeric(a, b) and a != 1 and a != b:
            return False
    return True


@primitive("scale", arity=2, aliases=("mul", "multiply"))
def scale(x, gate):
    """Multiply a tensor by a gate that broadcasts to it: a per-channel C x 1 x 1 gate
    (squeeze-and-excitation), a layer scale (C, 1, 1) or (D,). other ops = 1 per element of
    the first input.
    """
    if layout_of(x) in ("CHW", "CL", "CDHW") and len(gate) in (1, len(x)) and \
            layout_of(gate) in ("N", layout_of(x)) and not _broadcasts(gate, x):  # fmt: skip
        # a per-channel gate: (C,) or (C, 1, 1) against (C, H, W)
        if gate[0] != x[0] and numeric(gate[0], x[0]):
            raise SpecError(f"scale: gate has {gate[0]} channels, the input {x[0]}")
    elif not _broadcasts(gate, x):
        raise SpecError(f"scale: {describe(gate)} does not broadcast to {describe(x)}")
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


# the other primitive families register into the same registry
from . import (  # noqa: E402, F401
    layers_attention,
    layers_custom,
    layers_nd,
    layers_recurrent,
    layers_tensor,
)

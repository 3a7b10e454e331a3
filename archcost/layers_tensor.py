"""Primitives of tensors of any rank: normalisation over features, learned tensors, token
embeddings and the reshaping that costs nothing.

Counting (as in :mod:`archcost.layers`): layer/group/RMS norm at inference compute their
statistics per sample, so their other ops are fvcore's: 4 per element (mean, subtract,
variance, normalise) + 1 with the affine scale and shift (fvcore ``norm_flop_counter``);
RMS norm 2 per element (square-mean, normalise) + 1 with its scale. Reshapes, views and
copies count no ops; like ``flatten`` they write a new tensor unless stated (views such as
``chunk`` are in place, no new activation memory).
"""

from __future__ import annotations

from fractions import Fraction

from .errors import SpecError
from .layers import Cost, Field, elements, need, numeric, primitive
from .shapes import describe, layout_of, parse_layout, shaped

_EPS = Field("eps", "number", "0.00001", minimum=0, doc="added to the variance")
_AFFINE = Field("affine", "bool", True, doc="learned scale (and shift)")


def _features(x, what):
    """Index and size of the feature axis C (the whole vector for a flat input)."""
    lay = layout_of(x)
    if "C" in lay:
        i = lay.index("C")
        return i, x[i]
    if lay == "N":
        return 0, x[0]
    raise SpecError(f"{what} needs an input with a channel/feature axis; got {describe(x)}")


@primitive("layernorm", _EPS, _AFFINE, Field("bias", "bool", True, doc="learned shift"),
           aliases=("layer_norm", "ln"))  # fmt: skip
def layernorm(x, eps, affine, bias):
    """Layer normalisation (Ba et al. 2016) over the feature axis C at every position:
    the last axis of tokens (L, D) or of a channels-last map; the channel axis of a (C, H, W)
    map (ConvNeXt's LayerNorm2d).

    params = 2*C (scale and shift; C without ``bias``); other ops = 5 per element (4 without
    affine: mean, subtract, variance, normalise; + scale-and-shift).
    """
    _, c = _features(x, "layernorm")
    params = (c + (c if bias else 0)) if affine else 0
    b = c if affine and bias else 0
    return Cost(x, params, b, 0, 0, (5 if affine else 4) * elements(x))


@primitive("rmsnorm", Field("eps", "number", "0.000001", minimum=0, doc="added to the mean "
                                                                           "square"),
           _AFFINE, aliases=("rms_norm",))  # fmt: skip
def rmsnorm(x, eps, affine):
    """RMS normalisation (Zhang & Sennrich 2019) over the feature axis: x / sqrt(mean(x^2)
    + eps) * g. params = C (the scale g, if affine); other ops = 3 per element (square-mean,
    normalise, scale; 2 without affine).
    """
    _, c = _features(x, "rmsnorm")
    return Cost(x, c if affine else 0, 0, 0, 0, (3 if affine else 2) * elements(x))


@primitive("groupnorm", Field("groups", "int", doc="groups the channels are split into"),
           _EPS, _AFFINE, positional=("groups",), aliases=("group_norm", "gn"))  # fmt: skip
def groupnorm(x, groups, eps, affine):
    """Group normalisation (Wu & He 2018) of a channels-first map: statistics per group of
    C/groups channels. params = 2*C (affine); other ops = 5 per element (4 without affine).
    """
    need(x, "groupnorm", "CHW", "CL", "CDHW")
    c = x[0]
    if numeric(c, groups) and c % groups:
        raise SpecError(f"groupnorm: groups={groups} must divide the {c} channels")
    return Cost(x, 2 * c if affine else 0, c if affine else 0, 0, 0,
                (5 if affine else 4) * elements(x))  # fmt: skip


@primitive("parameter",
           Field("shape", "ints", doc="the tensor's dimensions, e.g. [1, 768]"),
           Field("layout", "text", None, doc="its layout (tokens, LC, HWC, ...); default by rank"),
           positional=("shape", "layout"), arity=0, inplace=True,
           aliases=("param",))  # fmt: skip
def parameter(shape, layout=None):
    """A learned tensor (class token, position embedding, layer scale): a row with no input
    whose output is the tensor. params = the product of its dimensions; no ops; it is not
    an activation (the same tensor serves every sample), so it writes no activation memory.
    Used through ``in:`` by concat (class token), add (position embedding) or scale.
    """
    dims = _dims(shape, "parameter")
    lay = _layout(layout, len(dims), "parameter")
    return Cost(shaped(dims, lay), params=elements(dims))


def _dims(shape, what):
    dims = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    if not dims:
        raise SpecError(f"{what}: shape needs at least one dimension")
    for d in dims:
        if numeric(d) and d < 1:
            raise SpecError(f"{what}: dimension {d} must be at least 1")
    return dims


def _layout(text, rank, what):
    if text is None:
        return None
    lay = parse_layout(text)
    if lay is None:
        raise SpecError(f"{what}: unknown layout {text!r} (letters C H W D L N X, or tokens, "
                        "ids, channels_last)")  # fmt: skip
    if len(lay) != rank:
        raise SpecError(f"{what}: layout {text} has {len(lay)} axes, the shape {rank}")
    return lay


@primitive("reshape",
           Field("shape", "ints", minimum=-1, doc="new dimensions per sample; one may be -1"),
           Field("layout", "text", None, doc="layout of the result; default by rank"),
           positional=("shape", "layout"), aliases=("view",))  # fmt: skip
def reshape(x, shape, layout=None):
    """Reshape to ``shape`` (per sample, one dimension may be -1: inferred), the same number
    of elements. No params, no ops; a new tensor (as flatten).
    """
    dims = list(shape) if isinstance(shape, (list, tuple)) else [shape]
    total = elements(x)
    unknown = [i for i, d in enumerate(dims) if numeric(d) and d == -1]
    if len(unknown) > 1:
        raise SpecError("reshape: at most one dimension may be -1")
    if unknown:
        rest = elements([d for i, d in enumerate(dims) if i != unknown[0]])
        if numeric(rest, total) and (rest == 0 or total % rest):
            raise SpecError(f"reshape: {describe(x)} does not divide into {shape}")
        dims[unknown[0]] = total // rest
    for d in dims:
        if numeric(d) and d < 1:
            raise SpecError(f"reshape: dimension {d} must be at least 1 (or -1)")
    if numeric(total, elements(dims)) and total != elements(dims):
        raise SpecError(f"reshape: {describe(x)} has {total:,} elements, shape {list(dims)} "
                        f"{elements(dims):,}")  # fmt: skip
    return Cost(shaped(dims, _layout(layout, len(dims), "reshape")))


@primitive("permute", Field("dims", "ints", minimum=-8, doc="new order of the axes"),
           positional=("dims",))  # fmt: skip
def permute(x, dims):
    """Reorder the axes (per sample; torch ``permute`` without the batch axis): the layout
    follows, so (C, H, W) with ``[1, 2, 0]`` is a channels-last map (H, W, C). No ops;
    a new tensor.
    """
    rank = len(x)
    order = [d + rank if d < 0 else d for d in dims]
    if sorted(order) != list(range(rank)):
        raise SpecError(f"permute: {list(dims)} is not an order of the {rank} axes of "
                        f"{describe(x)}")  # fmt: skip
    lay = layout_of(x)
    return Cost(shaped([x[i] for i in order], "".join(lay[i] for i in order)))


@primitive("transpose", Field("a", "int", -2, minimum=-8, doc="first axis"),
           Field("b", "int", -1, minimum=-8, doc="second axis"), positional=("a", "b"))  # fmt: skip
def transpose(x, a, b):
    """Swap two axes (default the last two: a 1-D map (C, L) becomes tokens (L, C)).
    No ops; a new tensor.
    """
    rank = len(x)
    if rank < 2:
        raise SpecError(f"transpose needs at least two axes; got {describe(x)}")
    i, j = (a + rank if a < 0 else a), (b + rank if b < 0 else b)
    if not (0 <= i < rank and 0 <= j < rank):
        raise SpecError(f"transpose: axes {a}, {b} are outside {describe(x)}")
    order = list(range(rank))
    order[i], order[j] = j, i
    lay = layout_of(x)
    return Cost(shaped([x[k] for k in order], "".join(lay[k] for k in order)))


@primitive("patchify", Field("p", "pair", doc="patch size, n or [h, w]"),
           positional=("p",), aliases=("patches",))  # fmt: skip
def patchify(x, p):
    """Cut a (C, H, W) map into non-overlapping p x p patches: tokens (H/p * W/p, p*p*C)
    (ViT, Dosovitskiy et al. 2020, eq. 1; a linear layer then embeds them). H and W must be
    multiples of p. No ops; a new tensor.
    """
    c, h, w = need(x, "patchify", "CHW")
    ph, pw = p
    if numeric(h, w, ph, pw) and (h % ph or w % pw):
        raise SpecError(f"patchify: {h}x{w} is not a multiple of the {ph}x{pw} patch")
    return Cost(shaped(((h // ph) * (w // pw), ph * pw * c), "LC"))


@primitive("chunk",
           Field("chunks", "int", doc="equal pieces"),
           Field("index", "int", 0, minimum=0, doc="which piece this row takes (0 first)"),
           Field("axis", "int", 0, minimum=-8, doc="axis split (0: channels, tokens)"),
           positional=("chunks", "index", "axis"), inplace=True,
           aliases=("split",))  # fmt: skip
def chunk(x, chunks, index, axis):
    """Piece ``index`` of ``chunks`` equal pieces along ``axis`` (torch ``chunk``;
    ShuffleNetV2's channel split: two rows, index 0 and 1). The axis must divide evenly.
    A view: no params, no ops, no new activation memory.
    """
    rank = len(x)
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise SpecError(f"chunk: axis {axis} is outside {describe(x)}")
    n = x[a]
    if numeric(n, chunks) and n % chunks:
        raise SpecError(f"chunk: {n} along axis {axis} does not split into {chunks} pieces")
    if numeric(index, chunks) and index >= chunks:
        raise SpecError(f"chunk: index {index} of {chunks} pieces (0 is the first)")
    return Cost(shaped((*x[:a], n // chunks, *x[a + 1:]), layout_of(x)))


@primitive("embedding", Field("vocab", "int", doc="rows of the table (vocabulary size)"),
           Field("dim", "int", doc="features per token"), positional=("vocab", "dim"),
           aliases=("embed",))  # fmt: skip
def embedding(x, vocab, dim):
    """Token embedding: ids (L,) -> tokens (L, dim) by table lookup (torch ``nn.Embedding``).
    params = vocab*dim; no MACs, no ops (a gather); a new tensor.
    """
    (n,) = need(x, "embedding", "L", "N")
    return Cost(shaped((n, dim), "LC"), params=vocab * dim)


@primitive("drop_path", Field("p", "number", "0", minimum=0, doc="drop probability"),
           positional=("p",), inplace=True, aliases=("stochastic_depth",))  # fmt: skip
def drop_path(x, p):
    """Stochastic depth (Huang et al. 2016): a residual branch dropped per sample in training;
    the identity at inference. No params, no ops, written in place.
    """
    if isinstance(p, (int, Fraction)) and p > 1:
        raise SpecError(f"drop_path: p = {p} is a probability, at most 1")
    return Cost(x)


@primitive("channel_shuffle", Field("groups", "int", doc="groups interleaved"),
           positional=("groups",), aliases=("shuffle",))  # fmt: skip
def channel_shuffle(x, groups):
    """ShuffleNet's channel shuffle (Zhang et al. 2018): reshape C into (g, C/g), transpose,
    flatten. No params, no ops (a copy); a new tensor. C must be a multiple of g.
    """
    need(x, "channel_shuffle", "CHW", "CL", "CDHW")
    if numeric(x[0], groups) and x[0] % groups:
        raise SpecError(f"channel_shuffle: groups={groups} must divide the {x[0]} channels")
    return Cost(x)


@primitive("pad", Field("p", "ints", minimum=0, doc="zeros before and after each spatial axis: "
                                                     "n, or [before, after, ...] per axis"),
           Field("value", "number", 0, minimum=-(2 ** 31), doc="the fill value"),
           positional=("p",))  # fmt: skip
def pad(x, p, value):
    """Constant padding of the spatial axes (H, W; L; D, H, W; the token axis of tokens):
    ``p: n`` pads every side by n, ``[before, after]`` per axis in order, or one pair for
    all. No params, no ops (a copy); a new tensor.
    """
    lay = layout_of(x)
    axes = [i for i, letter in enumerate(lay) if letter in "HWDL"]
    if not axes:
        raise SpecError(f"pad needs an input with spatial axes; got {describe(x)}")
    pads = list(p) if isinstance(p, (list, tuple)) else [p]
    if len(pads) == 1:
        pads = pads * (2 * len(axes))
    elif len(pads) == 2:
        pads = pads * len(axes)
    if len(pads) != 2 * len(axes):
        raise SpecError(f"pad: {len(pads)} values for {len(axes)} spatial axes (give n, "
                        f"[before, after] or {2 * len(axes)} values)")  # fmt: skip
    dims = list(x)
    for k, i in enumerate(axes):
        dims[i] = dims[i] + pads[2 * k] + pads[2 * k + 1]
    return Cost(shaped(dims, lay))


@primitive("space_to_depth", Field("r", "int", 2, doc="block size"), positional=("r",),
           aliases=("pixel_unshuffle",))  # fmt: skip
def space_to_depth(x, r):
    """Fold each r x r block of positions into channels: (C, H, W) -> (r*r*C, H/r, W/r), and
    on a channels-last map (H, W, C) -> (H/r, W/r, r*r*C) (Swin's patch merging, before its
    norm and linear). An odd size is padded up first (torchvision pads): H/r rounds up.
    No params, no ops (a copy); a new tensor.
    """
    lay = layout_of(x)
    if lay == "CHW":
        c, h, w = x
        return Cost((r * r * c, -(-h // r), -(-w // r)))
    h, w, c = need(x, "space_to_depth", "CHW", "HWC")
    return Cost(shaped((-(-h // r), -(-w // r), r * r * c), "HWC"))


@primitive("mul_const", Field("by", "number", minimum=-(2**31), doc="the constant factor "
                                                                    "(x / c is by: 1/c)"),
           positional=("by",), aliases=("mul_scalar",))  # fmt: skip
def mul_const(x, by):
    """Every element times a constant (``x * 0.125``; ``x / math.sqrt(d)`` is ``by: 1/sqrt(d)``,
    attention's scaling of its scores written out). No params, no MACs; other ops = 1 per
    element (as ``scale``, elementwise work is never a multiply-accumulate); a new tensor.
    """
    return Cost(x, ops=elements(x))


def _reduced_layout(lay: str) -> str:
    """The layout left when axes are averaged away: a channel axis followed by spatial axes
    is a channels-first map of the rank left ((C, H) is a 1-D map (C, L)), spatial axes
    followed by the channel axis are tokens (L, D) or a channels-last map (H, W, C); one axis
    is a flat vector; any other keeps its letters."""
    if len(lay) == 1:
        return "N"
    spatial = set("HWDL")
    if lay[0] == "C" and set(lay[1:]) <= spatial:
        return {2: "CL", 3: "CHW", 4: "CDHW"}.get(len(lay), lay)
    if lay[-1] == "C" and set(lay[:-1]) <= spatial:
        return {2: "LC", 3: "HWC"}.get(len(lay), lay)
    return lay


@primitive("mean", Field("axis", "ints", minimum=-8, doc="axis or axes averaged (0: the tokens "
                                                          "of a sequence, the channels of a map)"),
           Field("keepdim", "bool", False, doc="keep each averaged axis, of size 1"),
           positional=("axis", "keepdim"), aliases=("reduce_mean",))  # fmt: skip
def mean(x, axis, keepdim=False):
    """Mean over one or more axes per sample (torch ``x.mean(dim, keepdim)``, dims counted
    without the batch axis): ``mean: 0`` on tokens (L, D) gives (D,), the average of the
    tokens a sequence classifier pools; ``{axis: 0, keepdim: true}`` gives (1, D). Over every
    spatial axis of a map it is ``global_avgpool`` (what the importer writes).
    No params, no MACs; other ops = 1 per input element (the adds and the divides, as
    global_avgpool counts them); a new tensor.
    """
    rank = len(x)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    picked = []
    for a in axes:
        i = a + rank if a < 0 else a
        if not 0 <= i < rank:
            raise SpecError(f"mean: axis {a} is outside {describe(x)}")
        if i in picked:
            raise SpecError(f"mean: axis {a} is given twice")
        picked.append(i)
    if not picked:
        raise SpecError("mean needs at least one axis")
    lay = layout_of(x)
    if keepdim:
        return Cost(shaped([1 if i in picked else d for i, d in enumerate(x)], lay),
                    ops=elements(x))  # fmt: skip
    if len(picked) == rank:
        raise SpecError(f"mean over every axis of {describe(x)} leaves no axis per sample "
                        "(keepdim: true keeps them, of size 1)")  # fmt: skip
    kept = [i for i in range(rank) if i not in picked]
    left = "".join(lay[i] for i in kept)
    return Cost(shaped([x[i] for i in kept], _reduced_layout(left)), ops=elements(x))

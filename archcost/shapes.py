"""Per-sample tensor shapes of any rank, with their layout, and how they print.

A shape is a tuple of dimensions per sample (the batch axis is never written). Its **layout**
names each axis with one letter:

* ``C`` channels or features, ``H`` height, ``W`` width, ``D`` depth (3-D maps),
  ``L`` length (a sequence: time steps, tokens, audio samples), ``N`` a flat vector,
  ``X`` an axis with no meaning of its own (after a reshape into an arbitrary shape).

A plain tuple has the layout its rank implies: ``(N,)``, ``(C, L)``, ``(C, H, W)``,
``(C, D, H, W)`` -- the channels-first layouts of torch's conv/pool/bn. Any other layout
(tokens ``(L, C)``, channels-last maps ``(H, W, C)``, token ids ``(L,)``) is carried by
:func:`shaped`, which returns a tuple subclass that still compares equal to the plain tuple;
code that only reads dimensions (memory, latency, the torch backend) sees an ordinary tuple.

Shapes print in the papers' order, channels last: ``112x112x64`` for a (64, 112, 112) map,
``8x56x56x64`` for (C, D, H, W), ``197x768`` for 197 tokens of 768 features; every other
layout prints its dimensions in order (a 1-D map (C, L) prints ``C x L``, e.g. ``1x8000``).
"""

from __future__ import annotations

DEFAULT_LAYOUTS = {1: "N", 2: "CL", 3: "CHW", 4: "CDHW"}
AXIS_LETTERS = frozenset("CHWDLNX")

# how a layout is named in messages, and how a user writes it in ``input:``/``layout:``
LAYOUT_NAMES = {"N": "a flat vector (N,)", "L": "token ids (L,)", "CL": "a 1-D map (C, L)",
                "CHW": "a map (C, H, W)", "CDHW": "a 3-D map (C, D, H, W)",
                "LC": "tokens (L, D)", "HWC": "a channels-last map (H, W, C)"}  # fmt: skip
LAYOUT_WORDS = {"tokens": "LC", "ids": "L", "flat": "N", "map": "CHW", "map1d": "CL",
                "map3d": "CDHW", "channels_last": "HWC"}  # fmt: skip


class Shape(tuple):
    """A shape whose layout is not the one its rank implies (see the module docstring)."""

    __slots__ = ()
    layout = ""

    def __reduce__(self):  # pickles by value: the subclasses are made on demand
        return shaped, (tuple(self), self.layout)

    def __repr__(self):
        return f"{self.layout}{tuple.__repr__(self)}"


_CLASSES: dict[str, type] = {}


def default_layout(rank: int) -> str:
    return DEFAULT_LAYOUTS.get(rank, "X" * rank)


def shaped(dims, layout: str | None = None) -> tuple:
    """``dims`` as a shape with ``layout`` (a plain tuple when it is the rank's default)."""
    dims = tuple(dims)
    if not layout or layout == default_layout(len(dims)):
        return dims
    if len(layout) != len(dims):  # pragma: no cover - a bug in a primitive, not a user error
        raise AssertionError(f"layout {layout} for a rank-{len(dims)} shape")
    cls = _CLASSES.get(layout)
    if cls is None:
        cls = _CLASSES[layout] = type(f"Shape_{layout}", (Shape,), {"__slots__": (),
                                                                     "layout": layout})
    return cls(dims)


def layout_of(shape) -> str:
    """The layout letters of ``shape`` (one per axis)."""
    lay = getattr(shape, "layout", "")
    return lay or default_layout(len(shape))


def describe(shape) -> str:
    """``tokens (197, 768)``: what a shape is, for error messages."""
    lay = layout_of(shape)
    dims = ", ".join(str(d) for d in shape)
    name = LAYOUT_NAMES.get(lay)
    if name is None:
        return f"a {lay} tensor ({dims})"
    return f"{name.split(' (')[0]} ({dims})"


def fmt_shape(shape, layout: str | None = None) -> str:
    """Shape in the papers' order: H x W x C (112x112x64), D x H x W x C, tokens L x D
    (197x768); every other layout in its own axis order (a 1-D map prints C x L)."""
    lay = layout or layout_of(shape)
    if lay == "CHW":
        c, h, w = shape
        return f"{h}x{w}x{c}"
    if lay == "CDHW":
        c, d, h, w = shape
        return f"{d}x{h}x{w}x{c}"
    return "x".join(str(d) for d in shape)


def layout_record(shape) -> dict:
    """``{"layout": letters}`` for a record of ``shape`` whose layout is not its rank's default
    (so a JSON consumer, and :func:`fmt_shape` given the record, can tell (H, W, C) from
    (C, H, W)); ``{}`` otherwise, leaving existing records as they were."""
    lay = getattr(shape, "layout", "")
    return {"layout": lay} if lay else {}


def feature_axis(shape) -> int | None:
    """Index of the channel/feature axis (``C``), or None when the layout has none."""
    lay = layout_of(shape)
    return lay.index("C") if "C" in lay else None


def parse_layout(text) -> str | None:
    """A layout a user wrote (``LC``, ``tokens``, ``HWC``), or None if it is not one."""
    if not isinstance(text, str):
        return None
    word = text.strip()
    if word.lower() in LAYOUT_WORDS:
        return LAYOUT_WORDS[word.lower()]
    up = word.upper()
    if up == "LD":  # tokens as the papers write them: L tokens of D features
        return "LC"
    if up and len(up) <= 8 and set(up) <= AXIS_LETTERS:
        return up
    return None

"""The primitive behind user-defined primitives (``primitives:`` in a spec, docs/spec.md).

A spec's own primitive states its output shape, params, MACs, other ops and buffers as safe
expressions (:mod:`archcost.expr`) of its input's dimensions (``in_c``, ``in_h``, ``in_w``,
``in_l``, ...) and its arguments; the expander evaluates them (numbers, or sympy expressions
for ``formula --in``) and emits one ``custom`` node carrying the results. Written directly in
a row, ``type: custom`` is an op whose costs are known numbers.

``type: unknown`` is the opposite: an op whose output shape is known and whose MACs and other
ops are not (``archcost import --allow-unknown`` writes one for an op archcost has no formula
for). Its unknown costs are ``None``, never 0 (:mod:`archcost.unknown`).
"""

from __future__ import annotations

from .errors import SpecError
from .layers import Cost, Field, numeric, primitive
from .limits import MAX_COUNT
from .shapes import parse_layout, shaped


@primitive("custom",
           Field("shape", "ints", doc="output dimensions per sample"),
           Field("layout", "text", None, doc="layout of the output (default by rank)"),
           Field("params", "int", 0, minimum=0, maximum=MAX_COUNT, doc="trainable parameters"),
           Field("macs", "int", 0, minimum=0, maximum=MAX_COUNT, doc="multiply-accumulates"),
           Field("ops", "int", 0, minimum=0, maximum=MAX_COUNT, doc="other ops"),
           Field("buffers", "int", 0, minimum=0, maximum=MAX_COUNT, doc="buffers (not trainable)"),
           Field("name", "text", "custom", doc="the user primitive's name"),
           positional=("shape",), arity=-1)  # fmt: skip
def custom(*inputs, shape, layout=None, params=0, macs=0, ops=0, buffers=0, name="custom"):
    """An op whose output shape and costs are given: output = ``shape`` (with ``layout``);
    params, MACs, other ops and buffers as given (for a user primitive, the values of its
    expressions). Takes any number of inputs; a new tensor.
    """
    out = _given_shape(shape, layout, name)
    for q, v in (("params", params), ("macs", macs), ("ops", ops), ("buffers", buffers)):
        if numeric(v) and v < 0:
            raise SpecError(f"{name}: {q} = {v} is negative")
    return Cost(out, params, 0, buffers, macs, ops)


def _given_shape(shape, layout, what: str) -> tuple:
    """A stated output shape (dimensions at least 1) with its layout, checked."""
    dims = tuple(shape) if isinstance(shape, (list, tuple)) else (shape,)
    for d in dims:
        if numeric(d) and d < 1:
            raise SpecError(f"{what}: output dimension {d} must be at least 1")
    lay = None
    if layout is not None:
        lay = parse_layout(layout)
        if lay is None or len(lay) != len(dims):
            raise SpecError(f"{what}: layout {layout!r} does not fit a rank-{len(dims)} shape")
    return shaped(dims, lay)


@primitive("unknown",
           Field("op", "text", doc="the op this row stands for (torch.cumsum, ONNX CumSum): text"),
           Field("shape", "ints", doc="output dimensions per sample"),
           Field("layout", "text", None, doc="layout of the output (default by rank)"),
           Field("params", "int", None, minimum=0, maximum=MAX_COUNT,
                 doc="trainable parameters, when known (left out: unknown)"),
           Field("buffers", "int", None, minimum=0, maximum=MAX_COUNT,
                 doc="buffers (not trainable), when known (left out: unknown)"),
           positional=("op", "shape"), arity=-1)  # fmt: skip
def unknown(*inputs, op, shape, layout=None, params=None, buffers=None):
    """An op archcost has no formula for (``archcost import --allow-unknown`` writes one where
    the model calls it): output = ``shape`` (with ``layout``), so the layers after it and the
    activation memory (the output's elements, known from the shape) still count; params and
    buffers as given, or unknown when left out; MACs and other ops are **unknown**, never 0.

    Unknown is ``None`` (:mod:`archcost.unknown` states the rule: every sum that includes an
    unknown is unknown). Takes any number of inputs; a new tensor.
    """
    bias = 0 if params == 0 else None  # which of the params are biases is unknown
    return Cost(_given_shape(shape, layout, f"unknown {op}"), params, bias, buffers, None, None)

"""The importers' common form: archcost primitives in execution order, with where they came from.

An :class:`Op` is one archcost primitive (``conv``, ``bn``, ``add``, ...) with the fields the
spec will carry, the ids of the ops it reads (``"input"`` is the model's input), its output
shape per sample, the module path that made it (``layer1.0.conv1``), the chain of enclosing
module instances (for grouping into blocks) and the source line. An importer that meets an op
archcost does not know raises :class:`UnknownOp` (a :class:`~archcost.errors.SpecError`) naming
the op, the module path and the source line: never a zero, never a silent skip. With
``--allow-unknown`` the importer catches it and records the op as an Op of type ``unknown``
(:mod:`archcost.importers.unknown_ops`): its output shape, its params and buffers as the model
holds them, and MACs that stay unknown (:mod:`archcost.unknown`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SpecError


@dataclass(eq=False)
class Scope:
    """One call of a non-leaf module: its path (``layer1.0``) and class name (``Bottleneck``)."""

    path: str
    cls: str
    container: bool = False  # nn.Sequential / ModuleList / ModuleDict: no structure of its own


@dataclass(eq=False)
class Op:
    id: str
    type: str  # an archcost primitive, or "unknown"
    fields: dict
    inputs: list  # op ids, "input" for the model's input
    shape: tuple  # output shape per sample
    name: str  # label within its scope: the leaf module's attribute name, or the function's
    path: str = ""  # full module path of the leaf module (or of the scope, for functions)
    scopes: list = field(default_factory=list)  # enclosing Scopes, outermost first
    source: str = ""  # file:line of the call
    params: int = 0  # trainable elements the model holds for this op (for checks)
    shared: bool = False  # a second call of a module whose parameters were counted already
    reason: str = ""  # type "unknown": why archcost has no primitive for it (a spec comment)


@dataclass
class Imported:
    """What an importer found: the ops, the input shape, and the model's own counts."""

    ops: list
    input: tuple
    source: str  # what was imported (factory or file)
    params: int | None = None  # sum of numel over unique parameters
    macs: int | None = None  # FlopCounterMode FLOPs / 2
    buffers: int | None = None
    notes: list = field(default_factory=list)
    ids: bool = False  # the input is token ids (L,) (an embedding reads it)
    tokens: bool | None = None  # a rank-2 input is tokens (L, D), not a map (C, L); None: rank


class UnknownOp(SpecError):
    """An op archcost has no primitive for: ``what`` it is, the module ``path`` and the
    ``source`` line. Exit 2 unless the import allows unknown ops."""

    def __init__(self, what: str, path: str, source: str):
        where = f" at {path}" if path else ""
        line = f" ({source})" if source else ""
        hint = "; --allow-unknown records it as a row of type unknown (MACs unknown)"
        self.plain = f"import: archcost has no primitive for {what}{where}{line}"
        super().__init__(self.plain + hint)
        self.what, self.path, self.source = what, path, source


def unknown_op(what: str, path: str, source: str) -> SpecError:
    return UnknownOp(what, path, source)


def unknown_fields(op: str, shape, tokens: bool, params, buffers) -> dict:
    """The fields of an ``unknown`` row: the op, the output shape per sample (rank-2 tokens
    as ``layout: tokens``), and params and buffers when known (None: left out, unknown)."""
    fields = {"op": op, "shape": [int(d) for d in shape]}
    if tokens and len(fields["shape"]) == 2:
        fields["layout"] = "tokens"
    if params is not None:
        fields["params"] = int(params)
    if buffers is not None:
        fields["buffers"] = int(buffers)
    return fields


def pair(v):
    """An int when every axis agrees (k: 3), else one value per axis (k: [1, 3])."""
    if isinstance(v, (tuple, list)):
        return int(v[0]) if len(set(v)) == 1 else [int(x) for x in v]
    return int(v)


def reorder(dims) -> tuple[str, dict]:
    """A new order of the axes per sample as archcost's ``transpose`` when two axes swap
    (no fields for the last two), else ``permute``."""
    moved = [i for i, d in enumerate(dims) if d != i]
    if len(moved) == 2:
        a, b = moved[0] - len(dims), moved[1] - len(dims)
        return "transpose", ({} if (a, b) == (-2, -1) else {"a": a, "b": b})
    return "permute", {"dims": list(dims)}


def parameter_fields(dims) -> tuple[tuple, dict]:
    """A learned tensor read as an activation: its shape per sample (a leading axis of 1 is
    the batch axis it broadcasts over: (1, 1, D) is a class token (1, D)) and its
    ``parameter`` fields (rank 2 is tokens)."""
    shape = tuple(int(d) for d in dims)
    if len(shape) >= 2 and shape[0] == 1:
        shape = shape[1:]
    fields = {"shape": list(shape)}
    if len(shape) == 2:
        fields["layout"] = "tokens"
    return shape, fields


def pad_fields(per_axis, value) -> tuple[str, dict] | None:
    """Constant padding of a channels-first map, ``(before, after)`` for each axis per sample,
    channels first: ``pad`` of the spatial axes, or ``zero_pad`` when zeros are appended to
    the channels of a 2-d map with one border all round; None for other padding of channels."""
    (c_before, c_after), spatial = per_axis[0], per_axis[1:]
    if not spatial:
        return None
    if (c_before, c_after) != (0, 0):
        sym = {p for side in spatial for p in side}
        if c_before or value or len(sym) != 1 or len(spatial) != 2:
            return None
        return "zero_pad", {"c": c_after, "p": sym.pop()}
    flat = [p for side in spatial for p in side]
    fields = {"p": flat[0] if len(set(flat)) == 1 else flat}
    if value:
        fields["value"] = value
    return "pad", fields

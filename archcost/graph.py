"""The evaluated network: primitive nodes in execution order, grouped into the spec's rows.

A :class:`Node` is one primitive (conv, pool, add, ...) with its inputs, fields, output shape
and costs. A :class:`Row` is one row of the spec as the paper prints it (``inception (3a)``),
owning the nodes it expanded into; its costs are the sums of its nodes'. Totals are sums of
rows, so a table always adds up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import unknown
from .layers import PRIMITIVES, elements


class Node:
    """One primitive in execution order. ``inputs`` are Nodes; the network input is a Node too."""

    __slots__ = ("id", "op", "inputs", "fields", "shape", "params", "bias", "buffers", "macs",
                 "ops", "row", "line", "weight", "inplace", "depth", "extra",
                 "call")  # fmt: skip

    def __init__(self, id, op, inputs, fields, cost, row, line):
        prim = PRIMITIVES.get(op)
        self.id = id
        self.op = op
        self.inputs = inputs
        self.fields = fields
        self.shape = cost.shape
        self.params = cost.params
        self.bias = cost.bias
        self.buffers = cost.buffers
        self.macs = cost.macs
        self.ops = cost.ops
        self.extra = cost.extra  # intermediate elements written (attention's scores, ...)
        self.row = row
        self.line = line
        self.weight = prim.weight if prim else False
        self.inplace = prim.inplace if prim else False
        # how torch code calls it: "module" (nn.ReLU) or "functional" (F.relu); the spec's
        # `call:` (archcost.conventions: some tools count the two differently)
        self.call = "module"
        # weight layers on the longest path to this node inside its row (a row's "depth")
        depth = 0
        if row is not None:
            for i in inputs:
                if i.row is row and i.depth > depth:
                    depth = i.depth
        self.depth = depth + 1 if self.weight else depth

    @property
    def activations(self):
        """Elements this node writes per sample: its output (0 for in-place primitives) and
        any intermediate tensors (attention's q, k, v, scores)."""
        return (0 if self.inplace else elements(self.shape)) + self.extra

    def __repr__(self):  # pragma: no cover - debugging aid
        return f"Node({self.id!r}, {self.op}, {self.shape})"


@dataclass(eq=False)
class Row:
    """A row of the spec, as the paper prints it, with the nodes it expanded into."""

    id: str  # unique within the network (repeated labels get ' #2', ' #3', ...)
    label: str  # the row's key as written in the spec
    type: str  # primitive or block name
    line: int | None
    train_only: bool = False
    columns: dict = field(default_factory=dict)  # block columns shown in the table (#1x1, ...)
    patch: str = ""  # "7x7/2": the row's conv/pool window, or a block's only spatial window
    block_patches: set = field(default_factory=set)
    repeat: int = 1
    nodes: list = field(default_factory=list)
    output: Node | None = None

    def _sum(self, attr):
        try:
            return sum(getattr(n, attr) for n in self.nodes)
        except TypeError:  # an unknown row's None: the sum is unknown (archcost.unknown)
            return unknown.total(getattr(n, attr) for n in self.nodes)

    def sums(self) -> dict:
        """The row's costs in one pass over its nodes (see :func:`sum_costs`)."""
        return sum_costs(self.nodes)

    @property
    def params(self):
        return self._sum("params")

    @property
    def bias(self):
        return self._sum("bias")

    @property
    def weights(self):
        """Params without biases (what GoogLeNet's Table 1 counts)."""
        return unknown.sub(self.params, self.bias)

    @property
    def buffers(self):
        return self._sum("buffers")

    @property
    def macs(self):
        return self._sum("macs")

    @property
    def ops(self):
        return self._sum("ops")

    @property
    def activations(self):
        return self._sum("activations")

    @property
    def depth(self):
        return max((n.depth for n in self.nodes), default=0)

    @property
    def weight_layers(self):
        return sum(1 for n in self.nodes if n.weight)

    @property
    def shape(self):
        return self.output.shape if self.output is not None else ()


QUANTITIES = ("params", "bias", "weights", "buffers", "macs", "ops", "activations")


def sum_costs(nodes) -> dict:
    """The QUANTITIES summed over ``nodes`` in one pass (the hot path of sweeps and tables).
    An unknown row's None makes an addition raise TypeError; then the sums are redone by
    :func:`archcost.unknown.sum_costs` (a sum that includes an unknown is unknown), so known
    networks pay nothing for it."""
    params = bias = buffers = macs = ops = activations = 0
    try:
        for n in nodes:
            params += n.params
            bias += n.bias
            buffers += n.buffers
            macs += n.macs
            ops += n.ops
            if not n.inplace:
                activations += elements(n.shape)
            if n.extra:
                activations += n.extra
    except TypeError:
        if not any(n.op == "unknown" for n in nodes):
            raise
        return unknown.sum_costs(nodes)
    return {"params": params, "bias": bias, "weights": params - bias, "buffers": buffers,
            "macs": macs, "ops": ops, "activations": activations}  # fmt: skip


@dataclass(eq=False)
class Network:
    """A spec evaluated at one set of parameter values."""

    name: str  # what the user typed: googlenet, googlenet:torchvision, path.yaml
    title: str
    source: str  # file the spec came from
    input: Node
    rows: list[Row]
    nodes: list[Node]
    params: dict  # spec parameter values used
    meta: dict  # paper, year, notes, variants, ...
    train: bool = False

    def total(self, quantity: str) -> int:
        return self.totals()[quantity]

    def totals(self) -> dict:
        """params, bias, weights, buffers, macs, ops and activations of the whole network."""
        return sum_costs(self.nodes)

    @property
    def output_shape(self):
        return self.outputs()[0].shape

    def outputs(self) -> tuple:
        """(main output node, [auxiliary output nodes]): the last inference row's output and,
        in a network built with train=True, the outputs of its training-only rows."""
        main = self.input
        for row in reversed(self.rows):
            if not row.train_only and row.output is not None:
                main = row.output
                break
        aux = [row.output for row in self.rows if row.train_only and row.output is not None]
        return main, aux

    @property
    def weight_layers(self) -> int:
        return sum(1 for n in self.nodes if n.weight)

    def row(self, row_id: str) -> Row | None:
        for row in self.rows:
            if row.id == row_id:
                return row
        return None

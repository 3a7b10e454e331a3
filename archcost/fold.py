"""Batch-norm folding, statically: the network as deployed with BN merged into its weights.

A conv or linear node whose only reader is a batch norm absorbs it (inference arithmetic:
w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta):

* the BN node is removed, with its 2*C params, 2*C buffers and 2 ops per element;
* the conv/linear gains a bias of C_out where it had none (params + C_out, bias + C_out,
  ops + C_out*H_out*W_out bias adds); where it had a bias, the bias is reused;
* MACs are unchanged.

A BN after anything else (an activation, an add, a pool) stays. The result is a new
:class:`~archcost.graph.Network` made of new :class:`~archcost.graph.Node` and
:class:`~archcost.graph.Row` objects, so every view of a Network (table, compare, the torch
backend) works on it unchanged. Rows keep their ids and order; a row that held only a folded
BN stays, with no nodes, its output being the layer that absorbed it.
"""

from __future__ import annotations

import dataclasses

from . import layers as L
from .graph import Network, Node

FOLDABLE = ("conv", "linear")


def foldable_pairs(network: Network) -> dict[str, str]:
    """{conv/linear node id: bn node id} for each BN that folding would absorb."""
    readers: dict[int, int] = {}
    for node in network.nodes:
        for inp in node.inputs:
            readers[id(inp)] = readers.get(id(inp), 0) + 1
    pairs = {}
    for node in network.nodes:
        if node.op != "bn" or len(node.inputs) != 1:
            continue
        src = node.inputs[0]
        # the layer's own output must have the BN as its only reader: anyone else needs the
        # unnormalised value (a row that only names it as its output shows the same shape)
        if src.op in FOLDABLE and readers.get(id(src)) == 1:
            pairs[src.id] = node.id
    return pairs


def _cost(node) -> L.Cost:
    return L.Cost(node.shape, node.params, node.bias, node.buffers, node.macs, node.ops,
                  node.extra)


def fold_bn(network: Network) -> Network:
    """A new Network with every foldable BN merged into its conv/linear (see module doc).

    ``meta["folded_bn"]`` maps each absorbing node id to the BN node id it absorbed.
    """
    pairs = foldable_pairs(network)
    absorbed = set(pairs.values())
    new_input = Node(network.input.id, network.input.op, (), dict(network.input.fields),
                     _cost(network.input), None, network.input.line)  # fmt: skip
    rows = {}
    new_rows = []
    for row in network.rows:
        copy = dataclasses.replace(row, columns=dict(row.columns), nodes=[], output=None)
        rows[id(row)] = copy
        new_rows.append(copy)
    mapped = {id(network.input): new_input}
    by_id = {}
    nodes = []
    for node in network.nodes:
        if node.id in absorbed:
            mapped[id(node)] = mapped[id(node.inputs[0])]
            continue
        inputs = tuple(mapped[id(i)] for i in node.inputs)
        fields = dict(node.fields)
        if node.id in pairs:
            fields["bias"] = True
            cost = L.PRIMITIVES[node.op].fn(*(i.shape for i in inputs), **fields)
        else:
            cost = _cost(node)
        row = rows.get(id(node.row)) if node.row is not None else None
        new = Node(node.id, node.op, inputs, fields, cost, row, node.line)
        mapped[id(node)] = new
        by_id[node.id] = new
        nodes.append(new)
        if row is not None:
            row.nodes.append(new)
    for row in network.rows:
        if row.output is not None:
            rows[id(row)].output = mapped[id(row.output)]
    meta = dict(network.meta)
    meta["folded_bn"] = pairs
    title = f"{network.title} (BN folded)" if pairs else network.title
    return Network(network.name, title, network.source, new_input, new_rows, nodes,
                   dict(network.params), meta, network.train)  # fmt: skip

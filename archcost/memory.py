"""Activation memory over time: which tensors are alive while the network runs.

The model is deliberately simple, and exact for what it states:

* The network's nodes run one at a time, in ``network.nodes`` order (the spec's order).
* A node that is not in place writes a new tensor of ``elements(shape)`` elements per sample.
  An in-place node (activation functions, dropout: ``node.inplace``) allocates nothing; its
  output *is* its input's tensor, so whoever reads the in-place node keeps that tensor alive.
* A tensor is alive from the step of the node that makes it to the step of its last reader
  (inclusive: a node's inputs and its output exist together while it runs). A tensor nobody
  reads (the network's output, a training-only head's output under ``--train``) stays alive
  to the end.
* The network's input is not a layer's output and is left out by default, as in the
  ``activations`` totals; ``include_input=True`` counts it too (alive until its last reader).

Peak = the largest sum of live tensors over the steps. Everything is in elements per sample;
multiply by batch size and bytes per element for memory. No reuse of freed memory between
tensors of different sizes is assumed or needed: this is the sum of what must coexist, a lower
bound for any allocator, not what a particular framework's allocator reserves.
"""

from __future__ import annotations

from .layers import elements


def live_intervals(network, include_input: bool = False) -> dict:
    """Tensor -> (size in elements, first step, last step), tensors keyed by their maker's id.

    Steps are indices into ``network.nodes``; the network input (if included) is made at
    step -1. An in-place node's output is counted as its input's tensor.
    """
    nodes = network.nodes
    owner = {}  # node id -> id of the node whose tensor it is (itself unless in place)
    intervals = {}  # tensor id -> [size, first, last]
    last_step = len(nodes) - 1
    if include_input:
        owner[network.input.id] = network.input.id
        intervals[network.input.id] = [elements(network.input.shape), -1, -1]
    for step, node in enumerate(nodes):
        for inp in node.inputs:
            tensor = owner.get(inp.id)
            if tensor is not None:
                intervals[tensor][2] = step
        if node.inplace and node.inputs:
            owner[node.id] = owner.get(node.inputs[0].id)
            continue
        owner[node.id] = node.id
        intervals[node.id] = [elements(node.shape), step, step]
    readers = set()
    for node in nodes:
        for inp in node.inputs:
            readers.add(inp.id)
    for node in nodes:
        # a value nobody reads (through in-place aliases too) is an output: alive to the end
        if node.id not in readers:
            tensor = owner.get(node.id)
            if tensor is not None:
                intervals[tensor][2] = last_step
    return {k: tuple(v) for k, v in intervals.items()}


def peak_activations(network, include_input: bool = False) -> tuple[int, str | None]:
    """(peak elements per sample, id of the node running at the peak) by liveness.

    Walks ``network.nodes`` in execution order; at each step the live tensors are those made
    at or before the step whose last reader is at or after it (see the module docstring:
    in-place nodes allocate nothing, unread tensors live to the end). Returns the largest sum
    and the first node at which it occurs; ``(0, None)`` for a network without nodes.
    """
    nodes = network.nodes
    if not nodes:
        return 0, None
    delta = [0] * (len(nodes) + 1)
    base = 0
    for size, first, last in live_intervals(network, include_input).values():
        if first < 0:  # the input: alive from before the first step
            base += size
            delta[last + 1] -= size
            continue
        delta[first] += size
        delta[last + 1] -= size
    peak, at, live = -1, None, base
    for step, node in enumerate(nodes):
        live += delta[step]
        if live > peak:
            peak, at = live, node.id
    return peak, at

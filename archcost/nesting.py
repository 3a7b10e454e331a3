"""The spec's block nesting as a tree, and two views of a network built on it.

A *group* is a row of the spec at any depth: a top-level row (depth 0), one repetition of a
repeated row, a row inside a block definition, a primitive row with its sugar (``bn: true``,
``act: relu``). The expander records each as an interval of the network's nodes in execution
order (``meta["spans"]``); intervals nest, so the groups form a tree whose leaves are nodes.

* :func:`at_depth` lists the groups down to depth N, each child after its parent, with exact
  costs: a group that is shown *opened* (its children are listed) carries no costs of its own,
  so summing the listed costs never counts a parent and its children twice; the sum is the
  network's total.
* :func:`by_type` sums the nodes by primitive type (depthwise and grouped convolutions
  apart) with their shares of params, MACs and activation memory.

Pure integer arithmetic; no torch, no sympy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .graph import Network, sum_costs

COST_KEYS = ("params", "weights", "buffers", "macs", "ops", "activations")


@dataclass(eq=False)
class Group:
    """A row at some depth of the nesting: the nodes ``nodes`` (contiguous in execution
    order) and its children (Groups and Nodes, in order)."""

    id: str
    label: str
    type: str
    depth: int
    nodes: list
    children: list = field(default_factory=list)
    parent: Group | None = None

    @property
    def leaf(self) -> bool:
        """A group with nothing below it worth a line: no subgroups and at most one node."""
        return not any(isinstance(c, Group) for c in self.children) and len(self.nodes) <= 1

    def output(self, readers):
        """The node whose value leaves the group: the last one read from outside it (or the
        network's output); the last node when none is."""
        inside = {id(n) for n in self.nodes}
        for node in reversed(self.nodes):
            outside = readers.get(id(node), ())
            if not outside or any(id(r) not in inside for r in outside):
                return node
        return self.nodes[-1] if self.nodes else None


def row_spans(net: Network):
    """(id, type, start, end) of every group, with indices into ``net.nodes``.

    A BN-folded network (archcost.fold) keeps the original build's spans: its intervals are
    mapped through node ids onto the surviving nodes (folding keeps their order)."""
    spans, original = net.meta.get("spans") or ((), None)
    if original is None or original is net.nodes:
        return list(spans)
    where = {n.id: i for i, n in enumerate(net.nodes)}
    # index of the first surviving node at or after each original position
    after = [len(net.nodes)] * (len(original) + 1)
    for i in range(len(original) - 1, -1, -1):
        j = where.get(original[i].id)
        after[i] = j if j is not None else after[i + 1]
    return [(sid, typ, after[s], after[e]) for sid, typ, s, e in spans]


def tree(net: Network) -> list[Group]:
    """The top-level groups (the spec's rows), each with its subtree."""
    spans = row_spans(net)
    order = sorted(range(len(spans)), key=lambda k: (spans[k][2], -spans[k][3], -k))
    roots: list[Group] = []
    stack: list[tuple[Group, int]] = []  # (group, end)
    nodes = net.nodes
    for k in order:
        sid, typ, start, end = spans[k]
        if start >= end:
            continue  # a row that emitted nothing (a folded-away BN row)
        while stack and start >= stack[-1][1]:
            stack.pop()
        parent = stack[-1][0] if stack else None
        label = _relative(sid, parent)
        group = Group(sid, label, typ, 0 if parent is None else parent.depth + 1,
                      nodes[start:end], parent=parent)  # fmt: skip
        (parent.children if parent else roots).append(group)
        stack.append((group, end))
    for group in _walk(roots):
        _fill_leaves(group)
    return roots


def _relative(sid: str, parent: Group | None) -> str:
    if parent is None:
        return sid
    if sid.startswith(parent.id + "/"):
        return sid[len(parent.id) + 1 :]
    if sid.startswith(parent.id + "."):  # one repetition of a repeated row
        return parent.label + sid[len(parent.id) :]
    return sid


def _fill_leaves(group: Group) -> None:
    """Interleave the group's own nodes (not in any subgroup) with its subgroups, in order."""
    covered = {}
    for child in group.children:
        for n in child.nodes:
            covered[id(n)] = child
    children, seen = [], set()
    for node in group.nodes:
        owner = covered.get(id(node))
        if owner is None:
            children.append(node)
        elif id(owner) not in seen:
            seen.add(id(owner))
            children.append(owner)
    group.children = children


def _walk(groups):
    for g in groups:
        yield g
        yield from _walk([c for c in g.children if isinstance(c, Group)])


def readers_of(net: Network) -> dict:
    readers: dict = {}
    for node in net.nodes:
        for inp in node.inputs:
            readers.setdefault(id(inp), []).append(node)
    return readers


def _node_label(node, parent: Group) -> str:
    if node.id == parent.id:
        return node.op
    if node.id.startswith(parent.id + "/"):
        return node.id[len(parent.id) + 1 :]
    return node.id


def at_depth(net: Network, depth: int) -> list[dict]:
    """Records of the groups down to ``depth`` (0 = the spec's rows), parents first.

    Each record: ``name`` (full id), ``label`` (relative to the parent), ``type``, ``level``
    (indentation), ``parent`` (index of the parent's record), ``group`` (a row, not a single
    primitive), ``atomic`` (no rows below it: a primitive row with its bn/act), ``train_only``, ``open`` (True when its children follow: then its own cost fields are 0 and
    ``subtotal`` holds the group's sums), ``output`` shape and the cost sums of its nodes.
    The costs of the records add up to the network's totals, whatever the depth.
    """
    readers = readers_of(net)
    records: list[dict] = []

    def emit(item, level, parent, up):
        if isinstance(item, Group):
            out = item.output(readers)
            sums = sum_costs(item.nodes)
            opened = level < depth and not item.leaf
            atomic = not any(isinstance(c, Group) for c in item.children)
            rec = {"name": item.id, "label": item.label, "type": item.type, "level": level,
                   "open": opened, "output": list(out.shape) if out is not None else [],
                   "nodes": [n.id for n in item.nodes], "parent": up, "group": True,
                   "atomic": atomic, "train_only": _train_only(item.nodes[0])}  # fmt: skip
            _put_costs(rec, sums, zero=opened)
            here = len(records)
            records.append(rec)
            if opened:
                for child in item.children:
                    emit(child, level + 1, item, here)
        else:
            sums = sum_costs([item])
            rec = {"name": item.id, "label": _node_label(item, parent), "type": item.op,
                   "level": level, "open": False, "output": list(item.shape),
                   "nodes": [item.id], "parent": up, "group": False, "atomic": True,
                   "train_only": _train_only(item)}  # fmt: skip
            _put_costs(rec, sums, zero=False)
            records.append(rec)

    covered = set()
    for group in tree(net):
        covered.update(id(n) for n in group.nodes)
        emit(group, 0, None, None)
    # nodes outside every group (none in a built spec; kept so totals always add up)
    for node in net.nodes:
        if id(node) not in covered:
            emit(node, 0, None, None)
    return records


def _train_only(node) -> bool:
    """Whether the node belongs to a training-only row (GoogLeNet's auxiliary heads)."""
    return bool(node.row is not None and node.row.train_only)


def _put_costs(rec, sums, zero):
    own = {k: sums[k] for k in COST_KEYS}
    if zero:
        rec["subtotal"] = own
        own = dict.fromkeys(COST_KEYS, 0)
    rec.update(own)


def primitive_type(node) -> str:
    """The node's op, with convolutions split three ways: depthwise (groups ``g`` = input
    channels), grouped (1 < g < input channels) and plain."""
    if node.op == "conv":
        groups = node.fields.get("g", 1) or 1
        c_in = node.inputs[0].shape[0] if node.inputs and node.inputs[0].shape else None
        if groups > 1 and groups == c_in:
            return "conv (depthwise)"
        if groups > 1:
            return "conv (grouped)"
    return node.op


def by_type(net: Network) -> list[dict]:
    """Totals by primitive type, largest MACs first: count, costs and shares (percent, floats
    computed from the exact integers) of params, MACs and activations."""
    groups: dict[str, list] = {}
    for node in net.nodes:
        groups.setdefault(primitive_type(node), []).append(node)
    totals = net.totals()
    out = []
    for typ, nodes in groups.items():
        sums = sum_costs(nodes)
        rec = {"type": typ, "count": len(nodes), **{k: sums[k] for k in COST_KEYS}}
        for key in ("params", "macs", "activations"):
            rec[key + "_share"] = _share(sums[key], totals[key])
        out.append(rec)
    out.sort(key=lambda r: (r["macs"] is None, -(r["macs"] or 0), r["params"] is None,
                            -(r["params"] or 0), -r["activations"], r["type"]))  # None: unknown
    return out


def _share(part: int, whole: int) -> float | None:
    if part is None or whole is None:  # unknown (archcost.unknown): views show it as such
        return None
    return None if whole == 0 else round(100 * part / whole, 2)

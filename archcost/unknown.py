"""Unknown costs, and the one rule every command follows for them.

An ``unknown`` row (:func:`archcost.layers_custom.unknown`, written by ``archcost import
--allow-unknown`` or by hand) is an op archcost has no formula for. Its output shape is known,
so the rows after it and its activations count as usual; its MACs and other ops are unknown,
and so are its params and buffers unless the row gives them. An unknown quantity is ``None``,
never 0.

**The rule: every sum, difference, product or ratio that includes an unknown is unknown.**
A row, a block, a total, a per-type sum, a FLOP count (2 x MACs), a latency, a diff or a share
that includes an unknown row's unknown quantity is unknown. It is shown as ``?`` in text,
Markdown, LaTeX and HTML, as an empty cell in CSV and as ``null`` in JSON (as
:mod:`archcost.conventions` shows a count a tool does not model). The text notes say which
rows are unknown and what the known rows add up to (``MACs unknown: 1 unknown row
(torch.cumsum at 'cum'); the known rows hold 4,087,296,000``), so that number is never lost
and never passed off as the total.

Networks without unknown rows keep the fast path: sums are plain integer additions, and only
when one raises ``TypeError`` (an unknown ``None``) does :func:`sum_costs` redo them here.
"""

from __future__ import annotations

from .layers import elements

SHOWN = "?"  # how text, Markdown, LaTeX and HTML show an unknown
QUANTITIES = ("params", "weights", "bias", "buffers", "macs", "flops", "ops", "count")


class Unknown:
    """A table cell whose value is unknown: ``?`` in text, Markdown and LaTeX, empty in CSV
    (:func:`archcost.report.render`). A cell that is None is "not applicable" (``-``)."""

    __slots__ = ()

    def __str__(self):
        return SHOWN

    __repr__ = __str__


UNKNOWN = Unknown()


def mark(rows, keys=QUANTITIES) -> None:
    """Replace None by :data:`UNKNOWN` in the cost cells of table rows (called only for a
    network that has unknown rows, so the common case pays nothing)."""
    for row in rows:
        if row is None:
            continue
        for k in keys:
            if k in row and row[k] is None:
                row[k] = UNKNOWN


def add(*values):
    """The sum of ``values``, or None when one is unknown."""
    total = 0
    for v in values:
        if v is None:
            return None
        total = total + v
    return total


def total(values):
    """The sum of an iterable, or None when one item is unknown."""
    return add(*values)


def sub(a, b):
    return None if a is None or b is None else a - b


def mul(a, b):
    return None if a is None or b is None else a * b


def known_total(values) -> int:
    """The sum of the known items alone (for the notes: what the known rows hold)."""
    return sum(v for v in values if v is not None)


def sum_costs(nodes) -> dict:
    """:func:`archcost.graph.sum_costs` for nodes that include unknown ones: each quantity is
    the sum, or None when a node's is unknown. Activations are known from the shapes."""
    out = {"params": 0, "bias": 0, "buffers": 0, "macs": 0, "ops": 0, "activations": 0}
    for n in nodes:
        for q in ("params", "bias", "buffers", "macs", "ops"):
            v = getattr(n, q)
            out[q] = None if v is None or out[q] is None else out[q] + v
        if not n.inplace:
            out["activations"] += elements(n.shape)
        if n.extra:
            out["activations"] += n.extra
    out["weights"] = sub(out["params"], out["bias"])
    return {k: out[k] for k in ("params", "bias", "weights", "buffers", "macs", "ops",
                                "activations")}  # fmt: skip


def unknown_nodes(net) -> list:
    """The network's unknown nodes, in order."""
    return [n for n in net.nodes if n.op == "unknown"]


def fmt(value, exact=True) -> str:
    """A count as text: 1,234 (or 1.23K with ``exact=False``), ``?`` when unknown."""
    if value is None:
        return SHOWN
    if exact or not isinstance(value, int):
        return f"{value:,}" if isinstance(value, int) else str(value)
    from .report import human

    return human(value)


def where(nodes, limit=3) -> str:
    """``1 unknown row (torch.cumsum at 'cum')``: what makes a total unknown."""
    parts = [f"{n.fields.get('op', n.op)} at '{n.id}'" for n in nodes[:limit]]
    more = f", and {len(nodes) - limit} more" if len(nodes) > limit else ""
    return f"{len(nodes)} unknown row{'s' if len(nodes) != 1 else ''} ({', '.join(parts)}{more})"


def note(net, quantities=("params", "macs", "ops", "buffers")) -> str | None:
    """The text note for a network with unknown rows, or None: which totals are unknown, which
    rows make them so, and what the known rows hold."""
    nodes = unknown_nodes(net)
    if not nodes:
        return None
    labels = {"params": "params", "macs": "MACs", "ops": "other ops", "buffers": "buffers"}
    parts = []
    for q in quantities:
        values = [getattr(n, q) for n in net.nodes]
        if any(v is None for v in values):
            parts.append(f"{labels[q]} (the known rows hold {known_total(values):,})")
    return (f"unknown: {', '.join(parts)}; {where(nodes)} archcost has no formula for. Every "
            "total that includes an unknown is unknown (?), never 0 (archcost.unknown)")


# the memory command's fields that come from the training simulation: what an unknown op
# saves for backward, its gradients and backward MACs are unknown, so all of them are
TRAINING_FIELDS = ("saved_bytes", "train_live_bytes", "backward_live_bytes", "backward_macs")


def no_training(live):
    """What ``memory`` shows of training for a network with unknown rows: the records'
    shape, each field unknown (None). The simulation (:func:`archcost.memory.training`) is not
    run: it needs what every op saves for backward."""
    from types import SimpleNamespace

    zero = SimpleNamespace(saved_bytes=0, live_bytes=0, backward_live_bytes=0, backward_macs=0)
    nodes = [zero] * len(live.nodes)  # placeholders: :func:`blank` makes every field unknown
    return SimpleNamespace(nodes=nodes, saved_bytes=None, backward_macs=None, peak_bytes=None,
                           weights_bytes=live.weights_bytes, buffers_bytes=live.buffers_bytes,
                           gradient_bytes=live.weights_bytes, optimizer_bytes=None,
                           optimizer_temp_bytes=None, forward_peak_bytes=None,
                           peak_phase=None, peak_layer=None, peak_node=None)


def blank(records, keys=TRAINING_FIELDS) -> None:
    """Set ``keys`` of every record to None (unknown)."""
    for rec in records:
        for k in keys:
            if k in rec:
                rec[k] = None


def refuse(net, what: str) -> None:
    """A :class:`~archcost.errors.SpecError` (exit 2) when ``net`` has unknown rows: torch can
    neither build nor time an op archcost does not know, and a check against counts that are
    unknown proves nothing (``verify``, ``verify --against``, ``bench``)."""
    nodes = unknown_nodes(net)
    if nodes:
        from .errors import SpecError

        raise SpecError(f"{net.name}: cannot {what}: it has {where(nodes)} archcost has no "
                        "formula for (type unknown); replace them with known layers first")

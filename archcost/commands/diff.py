"""``archcost diff A B``: two networks (or two variants, or two settings) row by row."""

from __future__ import annotations

import click

from .. import unknown
from ..errors import SpecError
from ..layers import fmt_shape
from ..limits import MAX_DIFF_NODES
from ..netargs import assign_labels, parse_networks, variadic_settings
from ..options import format_option, output_option, train_option
from ..report import Column, emit, render, to_json
from ..shapes import layout_record
from ..spec import build
from ..yamlio import gc_paused

FIELDS = ("type", "output", "params", "macs", "ops", "activations", "buffers")
NUMBERS = ("params", "macs", "ops", "activations", "buffers")


def _row_data(row) -> dict:
    shape = row.shape
    sums = row.sums()  # one pass over the row's nodes (each property is a pass of its own)
    return {"type": row.type, "output": list(shape), "params": sums["params"],
            "macs": sums["macs"], **layout_record(shape), "ops": sums["ops"],
            "activations": sums["activations"], "buffers": sums["buffers"]}  # fmt: skip


def _unknown_ops(row) -> list:
    """The ops of a row's unknown layers (archcost.unknown): two unknown rows of equal shape
    differ when they stand for different ops."""
    return [n.fields.get("op") for n in row.nodes if n.op == "unknown"]


def match_rows(rows_a, rows_b) -> list[tuple]:
    """Pairs (row of A or None, row of B or None) in reading order.

    Rows match by row id first, then the remaining ones by label, in order. Rows only in B
    are placed after the B row that precedes them in B.

    Linear in the rows (10,000 rows took 21 s when each insertion rescanned the list): labels
    are queued per label, and each row only in B is chained after its predecessor in B.
    """
    from collections import deque

    if len(rows_a) == len(rows_b) and all(ra.id == rb.id for ra, rb in zip(rows_a, rows_b)) \
            and len({r.id for r in rows_a}) == len(rows_a):  # fmt: skip
        return list(zip(rows_a, rows_b))  # the same unique row ids in the same order
    by_id = {r.id: r for r in rows_b}
    pair_of: dict = {}  # id(row of A) -> row of B
    used = set()
    for ra in rows_a:
        rb = by_id.get(ra.id)
        if rb is not None and id(rb) not in used:
            pair_of[id(ra)] = rb
            used.add(id(rb))
    by_label: dict = {}
    for rb in rows_b:
        if id(rb) not in used:
            by_label.setdefault(rb.label, deque()).append(rb)
    for ra in rows_a:
        if id(ra) in pair_of:
            continue
        queue = by_label.get(ra.label)
        while queue and id(queue[0]) in used:
            queue.popleft()
        if queue:
            rb = queue.popleft()
            pair_of[id(ra)] = rb
            used.add(id(rb))
    after: dict = {}  # id(row of B) -> the row only in B that follows it in B
    first = None  # a row only in B that comes first in B
    for k, rb in enumerate(rows_b):
        if id(rb) not in used:
            if k == 0:
                first = rb
            else:
                after[id(rows_b[k - 1])] = rb

    entries: list[tuple] = []

    def chain(rb):
        while rb is not None:
            entries.append((None, rb))
            rb = after.get(id(rb))

    chain(first)
    for ra in rows_a:
        rb = pair_of.get(id(ra))
        entries.append((ra, rb))
        if rb is not None:
            chain(after.get(id(rb)))
    return entries


def diff_records(net_a, net_b) -> dict:
    return {"a": net_a.name, "b": net_b.name, "rows": list(_records(net_a, net_b)),
            "total": _totals(net_a, net_b)}  # fmt: skip


def _records(net_a, net_b):
    """The record of each pair of rows, in reading order (one at a time: the text of a long
    diff needs no list of them)."""
    for ra, rb in match_rows(net_a.rows, net_b.rows):
        da = _row_data(ra) if ra is not None else None
        db = _row_data(rb) if rb is not None else None
        if da is None:
            yield {"row": rb.id, "label": rb.label, "status": "only in B",
                   "changes": list(FIELDS), "a": None, "b": db,
                   "delta": {q: db[q] for q in NUMBERS}}  # fmt: skip
            continue
        elif db is None:
            yield {"row": ra.id, "label": ra.label, "status": "only in A",
                   "changes": list(FIELDS), "a": da, "b": None,
                   "delta": {q: unknown.mul(-1, da[q]) for q in NUMBERS}}  # fmt: skip
            continue
        elif da == db and (da["macs"] is not None or _unknown_ops(ra) == _unknown_ops(rb)):
            # the common case of a long diff: nothing to compare field by field (an unknown
            # MACs count may hide two different unknown ops)
            delta = dict.fromkeys(NUMBERS, 0) if None not in da.values() else \
                {q: unknown.sub(db[q], da[q]) for q in NUMBERS}  # fmt: skip
            yield {"row": ra.id, "label": ra.label, "status": "same", "changes": [], "a": da,
                   "b": db, "delta": delta}  # fmt: skip
            continue
        else:
            changes = [f for f in FIELDS if da[f] != db[f]]
            if _unknown_ops(ra) != _unknown_ops(rb):  # both unknown, but not the same op
                changes.append("op")
            status = "changed" if changes else "same"
        delta = {q: unknown.sub(db[q], da[q]) for q in NUMBERS}
        yield {"row": (ra or rb).id, "label": (ra or rb).label, "status": status,
               "changes": changes, "a": da, "b": db, "delta": delta}  # fmt: skip


def _totals(net_a, net_b) -> dict:
    ta, tb = net_a.totals(), net_b.totals()
    ta["flops"], tb["flops"] = unknown.mul(2, ta["macs"]), unknown.mul(2, tb["macs"])
    return {"a": ta, "b": tb, "delta": {q: unknown.sub(tb[q], ta[q]) for q in ta}}


def _signed(value: int) -> str:
    if value is None:  # a difference with an unknown is unknown (archcost.unknown)
        return unknown.UNKNOWN
    return f"{value:+,}" if value else "0"


def _percent(delta, base) -> str:
    if delta is None or base is None:
        return unknown.UNKNOWN
    if not delta:
        return ""
    if not base:
        return "new"
    return f"{100 * delta / base:+.1f}%"


_STYLES = {"only in A": "red", "only in B": "green", "changed": "yellow"}


def render_diff(data, fmt: str, show_all: bool, label_a: str, label_b: str) -> str:
    columns = [Column("row", "row", numeric=False), Column("status", "status", numeric=False),
               Column("what", "what differs", numeric=False),
               Column("output", "output (A -> B)", numeric=False),
               Column("params_a", "params A"), Column("params_b", "params B"),
               Column("params_d", "params B-A"), Column("params_p", "params %"),
               Column("macs_a", "MACs A"), Column("macs_b", "MACs B"),
               Column("macs_d", "MACs B-A"), Column("macs_p", "MACs %")]  # fmt: skip
    machine = fmt == "csv"
    out = []
    counts: dict = {}
    shapes: dict = {}  # (output, layout) -> its text (a long diff repeats a few shapes)
    changed: dict = {}  # (B-A, A) -> the texts of B-A and of the percentage

    def shape_text(rec):
        key = (tuple(rec["output"]), rec.get("layout"))
        text = shapes.get(key)
        if text is None:
            text = shapes[key] = fmt_shape(*key)
        return text

    for rec in data["rows"]:
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
        if rec["status"] == "same" and not show_all:
            continue
        a, b = rec["a"] or {}, rec["b"] or {}
        sa = shape_text(a) if a else ""
        sb = shape_text(b) if b else ""
        output = sa if sa == sb else f"{sa or '-'} -> {sb or '-'}"
        what = ", ".join(rec["changes"]) if rec["status"] == "changed" else ""
        row = {"row": rec["row"], "status": rec["status"], "what": what, "output": output}
        delta = rec["delta"]
        for q in ("params", "macs"):
            row[q + "_a"] = a.get(q) if not a or a.get(q) is not None else unknown.UNKNOWN
            row[q + "_b"] = b.get(q) if not b or b.get(q) is not None else unknown.UNKNOWN
            d = delta[q]
            if d == 0:
                row[q + "_d"], row[q + "_p"] = (0 if machine else "0"), ""
                continue
            key = (d, a.get(q, 0))
            texts = changed.get(key)
            if texts is None:  # a long diff repeats a few differences
                texts = changed[key] = (_signed(d), _percent(*key))
            row[q + "_d"] = d if machine and d is not None else texts[0]
            row[q + "_p"] = texts[1]
        if fmt == "text":
            row["_style"] = _STYLES.get(rec["status"])
        out.append(row)
    ta, tb, td = data["total"]["a"], data["total"]["b"], data["total"]["delta"]
    footer = {"row": "total", "status": "", "what": "", "output": ""}
    for q in ("params", "macs"):
        footer[q + "_a"], footer[q + "_b"] = ta[q], tb[q]
        footer[q + "_d"] = td[q] if machine and td[q] is not None else _signed(td[q])
        footer[q + "_p"] = _percent(td[q], ta[q])
    notes = ()
    if fmt in ("text", "md"):
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if s != "same")
        same = counts.get("same", 0)
        notes = (f"A = {label_a}, B = {label_b}: {summary or 'no rows differ'}; {same} rows "
                 f"identical{'' if show_all else ' (not shown; --all shows them)'}. "
                 f"Activations B-A {_signed(td['activations'])}, other ops B-A {_signed(td['ops'])}, "
                 f"buffers B-A {_signed(td['buffers'])}.",)  # fmt: skip
    title = f"diff: A = {label_a}, B = {label_b}"
    unknown.mark([footer], [k + s for k in ("params", "macs") for s in ("_a", "_b")])
    if fmt in ("text", "md") and None in (ta["params"], ta["macs"], tb["params"], tb["macs"]):
        notes += ("? = unknown: a row archcost has no formula for (type unknown); every sum or "
                  "difference that includes one is unknown (archcost.unknown)",)
    return render(columns, out, fmt, title=title, footer=footer, notes=notes)


@click.command("diff", context_settings=variadic_settings())
@click.argument("networks", nargs=-1, type=click.UNPROCESSED, metavar="A [--set K=V]... B [--set K=V]...")
@format_option()
@train_option
@click.option("--all", "show_all", is_flag=True, help="Show identical rows too.")
@output_option
def command(networks, fmt, train, show_all, output):
    """Compare two networks row by row: rows only in A, only in B, and rows whose output
    shape, params or MACs (or type, other ops, activations, buffers) differ, with by how
    much; then the totals' difference.

    Rows are matched by row id, then by label. A and B are built-in names, NAME:VARIANT or
    spec files, each optionally followed by --set KEY=VALUE:

    \b
      archcost diff googlenet googlenet:torchvision
      archcost diff mobilenet mobilenet --set alpha=0.5
    """
    nargs = parse_networks(networks, minimum=2, maximum=2)
    nets = []
    for n in nargs:  # both networks stay alive, with a record per row: bounded together
        nets.append(build(n.spec, params=n.sets or None, train=train))
        nodes = sum(len(net.nodes) for net in nets)
        if nodes > MAX_DIFF_NODES:
            raise SpecError(f"diff compares networks of at most {MAX_DIFF_NODES:,} layers "
                            f"together (MAX_DIFF_NODES); these have {nodes:,}")  # fmt: skip
    assign_labels(nargs, [n.name for n in nets])
    with gc_paused():  # a large diff's records are many small objects that all stay alive
        if fmt == "json":
            data = diff_records(*nets)
            data["a"], data["b"] = nargs[0].label, nargs[1].label
            text = to_json(data)
        else:  # each record read once, as it is made (100,000-row diffs: 300 MB less)
            data = {"a": nargs[0].label, "b": nargs[1].label, "rows": _records(*nets),
                    "total": _totals(*nets)}  # fmt: skip
            text = render_diff(data, fmt, show_all, nargs[0].label, nargs[1].label)
    emit(text, output)

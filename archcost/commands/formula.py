"""``archcost formula SPEC``: the formulas behind the numbers, per row or in the parameters."""

from __future__ import annotations

import click

from ..options import output_option, parse_sets, resolution_option, set_option, train_option
from ..report import Column, emit, render, to_json
from ..spec import build_doc, load

FORMATS = ("text", "json", "csv", "md", "latex")


def row_formulas(net, row_id: str | None) -> list[dict]:
    """Each row's params and MACs formulas in the layer's own dimensions, with values.

    A row with one costed layer shows that layer's formula; a row of several shows the sum of
    their values (``--row NAME`` shows every layer of that row, each with its formula).
    """
    from ..symbolic import evaluate_formula, node_formula

    rows = net.rows
    if row_id is not None:
        row = net.row(row_id)
        if row is None:
            import difflib

            from ..errors import SpecError

            ids = [r.id for r in net.rows]
            close = difflib.get_close_matches(row_id, ids, n=1)
            hint = f"did you mean '{close[0]}'?" if close else "rows: " + ", ".join(ids)
            raise SpecError(f"--row {row_id!r}: no such row; {hint}")
        rows = [row]
    from ..errors import SpecError
    from ..limits import MAX_SYMBOLIC_NODES

    # the formulas sympy will build: one per row of one costed layer, or each layer of --row
    shown = 0
    for r in rows:
        costed = sum(1 for n in r.nodes if _costed(n))
        shown += costed if row_id is not None else costed == 1
    if shown > MAX_SYMBOLIC_NODES:  # sympy takes a few ms a formula
        raise SpecError(f"formula shows at most {MAX_SYMBOLIC_NODES:,} layer formulas "
                        f"(MAX_SYMBOLIC_NODES); {net.name} has {shown:,}")  # fmt: skip
    records = []
    for row in rows:
        costed = [n for n in row.nodes if _costed(n)]
        if row_id is None and len(costed) != 1:
            records.append({"row": row.id, "layer": f"{len(costed)} layers" if costed else "-",
                            "type": row.type, "params_formula": "sum" if costed else "",
                            "params": row.params, "macs_formula": "sum" if costed else "",
                            "macs": row.macs, "where": "", "values": {},
                            "latex": {"params": "", "macs": ""}})  # fmt: skip
            continue
        for node in costed:
            params, macs, _ops, subs = node_formula(node)
            records.append({
                "row": row.id, "layer": node.id, "type": node.op,
                "params_formula": _shown(params, node), "params": evaluate_formula(params, subs),
                "macs_formula": _shown(macs, node), "macs": evaluate_formula(macs, subs),
                "values": {str(k): v for k, v in subs.items()},
                "where": ", ".join(f"{k}={v}" for k, v in subs.items()),
                "latex": {"params": _shown(params, node, _latex),
                          "macs": _shown(macs, node, _latex)},
            })  # fmt: skip
        if row_id is not None and len(costed) > 1:
            records.append({"row": row.id, "layer": "row total", "type": "",
                            "params_formula": "sum", "params": row.params,
                            "macs_formula": "sum", "macs": row.macs, "where": "", "values": {},
                            "latex": {"params": "", "macs": ""}})  # fmt: skip
    return records


def _costed(node) -> bool:
    """A layer with params or MACs, or with an unknown one (archcost.unknown)."""
    return bool(node.params or node.macs or node.params is None or node.macs is None)


def _shown(expr, node, show=str) -> str:
    from ..symbolic import unknown_formula

    return unknown_formula(node) if expr is None else show(expr)


def _latex(expr) -> str:
    import sympy

    return sympy.latex(expr)


def render_rows(net, records, fmt: str, row_id) -> str:
    if fmt == "json":
        return to_json({"network": net.name, "title": net.title, "row": row_id,
                        "layers": records})  # fmt: skip
    columns = [Column("row", "row", numeric=False), Column("layer", "layer", numeric=False),
               Column("params_formula", "params formula", numeric=False),
               Column("params", "params"),
               Column("macs_formula", "MACs formula", numeric=False), Column("macs", "MACs"),
               Column("where", "where", numeric=False)]  # fmt: skip
    rows = []
    unknown_ = any(rec["params"] is None or rec["macs"] is None for rec in records)
    for rec in records:
        row = dict(rec)
        if unknown_ and fmt != "csv":
            from ..unknown import mark

            mark([row], ("params", "macs"))
        if fmt == "latex" and rec["latex"]["params"]:
            for key in ("params", "macs"):  # an unknown's statement stays text (escaped)
                text = rec["latex"][key]
                row[key + "_formula"] = text if rec[key] is None else "$" + text + "$"
        rows.append(row)
    notes = ()
    if fmt in ("text", "md"):
        notes = ("Symbols are each layer's own dimensions: C_in, H_in, W_in (input), C_out, "
                 "k_h, k_w (kernel), s (stride), p (padding), g (groups), N_in (flat input), "
                 "L_in, D_in (tokens), D_in (depth of a 3-D map). "
                 "Rows of several layers show sums; --row ROW shows each layer.",)  # fmt: skip
    title = f"{net.title} ({net.name}): formulas per " + ("layer" if row_id else "row")
    if fmt == "latex":
        return _latex_rows(columns, rows, title)
    return render(columns, rows, fmt, title=title, notes=notes)


def _latex_rows(columns, rows, title) -> str:
    """booktabs tabular with math cells kept as math (render() would escape the $)."""
    from ..report import _latex_escape
    from ..safeio import terminal

    spec = "".join("r" if c.numeric else "l" for c in columns)
    lines = [f"% {terminal(title)}", "\\begin{tabular}{" + spec
             + "}", "\\toprule", " & ".join(_latex_escape(c.header) for c in columns) + " \\\\",
             "\\midrule"]  # fmt: skip
    for row in rows:
        cells = []
        for c in columns:
            value = row.get(c.key)
            if isinstance(value, str) and value.startswith("$"):
                cells.append(value)
            elif isinstance(value, int):
                cells.append(f"{value:,}")
            else:
                cells.append(_latex_escape("" if value is None else str(value)))
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- --in: whole network


def formula_json(f, title: str) -> dict:
    import sympy

    from ..formula import growth, has_unknown, value_at

    def quantity(expr, engine):
        if has_unknown(expr, f):  # an unknown row's symbol: the value is unknown too
            rec = {"expr": str(expr), "latex": sympy.latex(expr), "value": None,
                   "engine": None, "equal": None}  # fmt: skip
            if f.continuous:
                rec["growth"] = growth(expr, f.symbols)
            return rec
        value = value_at(expr, f.point)
        rec = {"expr": str(expr), "latex": sympy.latex(expr), "value": _plain(value),
               "engine": engine, "equal": value == engine}  # fmt: skip
        if f.continuous:
            rec["growth"] = growth(expr, f.symbols)
        return rec

    return {
        "network": f.network,
        "title": title,
        "in": [str(s) for s in f.symbols],
        "point": {str(k): _plain(_py(v)) for k, v in f.point.items()},
        "fixed": {k: _plain(v) for k, v in f.fixed.items()},
        "continuous": f.continuous,
        "params": quantity(f.params, f.numeric["params"]),
        "macs": quantity(f.macs, f.numeric["macs"]),
        "activations": quantity(f.activations, f.numeric["activations"]),
        "decisions": [{"source": d.source, "what": d.what, "outcome": d.outcome,
                       "count": d.count} for d in f.decisions],  # fmt: skip
        "unknowns": [{"symbol": sym, "row": row, "op": op} for sym, row, op in f.unknowns],
    }


def _py(value):
    import sympy

    from ..formula import plain

    if value is sympy.true or value is sympy.false:  # a true/false spec parameter
        return value is sympy.true
    return plain(value)


def _plain(value):
    from fractions import Fraction

    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    return value


def _num(value) -> str:
    from fractions import Fraction

    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):,.6g}"
    return f"{int(value):,}"


def _number(value) -> str:
    """An integer as an integer (568,740,352), anything else with its decimals
    (639,198,354.5), never in e-notation."""
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def render_network_formula(data: dict, fmt: str) -> str:
    if fmt == "json":
        return to_json(data)
    if fmt in ("csv", "md"):
        columns = [Column("quantity", "quantity", numeric=False),
                   Column("expr", "formula", numeric=False), Column("value", "value at point"),
                   Column("engine", "engine")]  # fmt: skip
        rows = [{"quantity": key, **data[key]} for key in ("params", "macs", "activations")]
        if fmt == "csv":
            return render(columns, rows, "csv")
        for row in rows:
            row["expr"] = f"`{row['expr']}`"
            if row["value"] is None:  # an unknown row's symbol in it (archcost.unknown)
                row["value"] = row["engine"] = "?"
        point = ", ".join(f"{k}={v}" for k, v in data["point"].items())
        notes = [f"decision point: {point}"] + [
            f"- decision: {d['what']} -> {d['outcome']} (from {d['source']})"
            for d in data["decisions"]] + [
            f"- {u['symbol']}: unknown ({u['row']}: {u['op']}; archcost has no formula for it)"
            for u in data.get("unknowns", ())]  # fmt: skip
        title = f"{data['title']} ({data['network']}): costs as functions of {', '.join(data['in'])}"
        return render(columns, rows, "md", title=title, notes=notes)
    point = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in data["point"].items())  # fmt: skip
    fixed = ", ".join(f"{k}={v}" for k, v in data["fixed"].items())
    kind = {"relaxed": "continuous, relaxed: every rounding R(x) replaced by x; NOT exact",
            "piecewise": "continuous, piecewise: every rounding R(x) replaced by x plus its "
                         "offset at the decision point; exact there and wherever the offsets "
                         "are the same"}.get(data["continuous"], "exact")  # fmt: skip
    from ..safeio import terminal

    head = terminal(f"{data['title']} ({data['network']}): costs as functions of "
                    f"{', '.join(data['in'])} ({kind})")  # fmt: skip
    names = (("params", "params"), ("macs", "MACs"))
    if fmt == "latex":
        lines = [f"% {head}", f"% decision point: {point}" + (f"; fixed: {fixed}" if fixed else "")]
        for d in data["decisions"]:
            lines.append(f"% decision: {d['what']} -> {d['outcome']} (from {d['source']})")
        lines.append("\\begin{align*}")
        body = [f"\\text{{{label}}} &= {data[key]['latex']}" for key, label in names]
        lines.append(" \\\\\n".join(body))
        lines.append("\\end{align*}")
        return "\n".join(terminal(line) for line in lines) + "\n"
    lines = [head, f"decision point: {point}" + (f"; other parameters fixed at {fixed}" if fixed
                                                 else "")]  # fmt: skip
    for key, label in names:
        q = data[key]
        lines.append("")
        lines.append(f"{label} = {q['expr']}")
        value = q["value"]
        shown = _number(value) if value is not None else "?"
        if value is None:
            lines.append(f"  at {point}: unknown (the formula holds unknown symbols below)")
        elif data["continuous"] == "relaxed" and value == q["engine"]:
            lines.append(f"  at {point}: {shown} (engine: {q['engine']:,}; equal: no rounding "
                         "changes this one here)")  # fmt: skip
        elif data["continuous"] == "relaxed":
            off = (value - q["engine"]) / q["engine"] * 100 if q["engine"] else 0
            lines.append(f"  at {point}: {shown}, the engine's exact count {q['engine']:,}: "
                         f"{off:+.2f}% off here (each floor(x) -> x adds up to 1 per rounding and "
                         "nested roundings compound; --continuous piecewise is exact here)")  # fmt: skip
        elif data["continuous"]:
            check = ("equal, as at every point where the offsets are the same" if q["equal"]
                     else "DIFFERS: please report this as a bug")  # fmt: skip
            lines.append(f"  at {point}: {shown} (engine: {q['engine']:,}; {check})")
        else:
            check = "equal" if q["equal"] else "DIFFERS: please report this as a bug"
            lines.append(f"  at {point}: {shown} (engine: {q['engine']:,}; {check})")
        if data["continuous"]:
            degrees = ", ".join(f"{k}^{v}" if v is not None else f"{k}: not polynomial"
                                for k, v in q["growth"].items())  # fmt: skip
            lines.append(f"  grows as {degrees} (highest power of each parameter)")
    if data["decisions"]:
        lines.append("")
        lines.append(f"Structural decisions, taken at {point} (the formula holds where they "
                     "come out the same):")  # fmt: skip
        for d in data["decisions"]:
            times = f" ({d['count']} times)" if d["count"] > 1 else ""
            lines.append(f"  - {d['what']} -> {d['outcome']}   [from {d['source']!r}]{times}")
    else:
        lines.append("")
        lines.append("No structural decision depends on these parameters: the formula holds "
                     "for every value the network accepts.")  # fmt: skip
    for u in data.get("unknowns", ()):
        lines.append(f"{u['symbol']}: unknown ({u['symbol'].split('_')[0]} of row "
                     f"'{u['row']}', {u['op']}: archcost has no formula for it; archcost.unknown)")
    if not data["continuous"]:
        lines.append("floor/ceiling are the engine's integer rounding; --continuous gives a "
                     "polynomial exact at the decision point (piecewise), --continuous relaxed "
                     "one with the rounding dropped.")  # fmt: skip
    return "\n".join(terminal(line) for line in lines) + "\n"


@click.command("formula")
@click.argument("spec")
@click.option("--row", "row_id", metavar="NAME", help="Every layer of this row, with formulas.")
@click.option("--in", "in_params", metavar="P1,P2", help="Whole-network params and MACs as exact "
              "expressions of these spec parameters.")  # fmt: skip
@click.option("--continuous", type=click.Choice(["piecewise", "relaxed"]), is_flag=False,
              flag_value="piecewise", default=None, metavar="[piecewise|relaxed]",
              help="With --in: a polynomial. piecewise (the default): each rounding R(x) -> "
              "x + its offset at the decision point, exact there and wherever the offsets are "
              "the same; relaxed: R(x) -> x, not exact (MobileNet MACs +12% at 224).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format.")  # fmt: skip
@set_option
@resolution_option
@train_option
@output_option
def command(spec, row_id, in_params, continuous, fmt, sets, train, output):
    """Formulas behind the numbers (sympy).

    Without --in: each row's params and MACs as expressions in the layer's own dimensions
    (C_in, H_in, k_h, ...) and their values; --row NAME shows each layer of one row.

    With --in P1,P2: the whole network's params and MACs as exact expressions of those spec
    parameters (the others at their defaults or --set values). Where the architecture takes
    a structural decision from a value (a `when:` condition, a comparison, a repeat count),
    the decision is taken at the parameters' defaults (or --set values) and listed.

    \b
      archcost formula googlenet --row "inception (3a)"
      archcost formula mobilenet --in alpha,resolution --continuous
      archcost formula mobilenet --in alpha,resolution --continuous relaxed
    """
    doc, name = load(spec)
    values = parse_sets(sets) or None
    if in_params is None:
        if continuous:
            raise click.UsageError("--continuous goes with --in P1,P2")
        net = build_doc(doc, name, values, train)
        emit(render_rows(net, row_formulas(net, row_id), fmt, row_id), output)
        return
    if row_id is not None:
        raise click.UsageError("--row and --in are separate views; give one")
    from ..formula import network_formula

    names = [n.strip() for n in in_params.split(",") if n.strip()]
    f = network_formula(doc, name, names, values, train, continuous)
    title = str(doc.get("title") or name)
    emit(render_network_formula(formula_json(f, title), fmt), output)

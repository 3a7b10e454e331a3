"""``archcost report``: one self-contained HTML file per run (no network access, no CDN).

For each network: totals, the graph (Graphviz SVG inlined, boxes clickable), the per-layer
table at every depth of the block nesting (sortable; filter by name and type; a depth
selector; each row's formula on demand in a ``<details>``), inference memory (peak and where,
with a plot of live bytes along the layers), the published tables of the network checked cell
by cell (archcost.tables), and a plot of MACs per row. Several networks get a comparison table
and a MACs-vs-params plot first.

Every text that comes from a spec (labels, titles, types) is HTML-escaped (``html.escape``
with quotes); the data for the script is JSON with ``<``, ``>`` and ``&`` as ``\\u`` escapes,
so no spec text can close a tag or start a script. Plots are hand-written SVG (no matplotlib).
Numbers are the engine's exact integers; shown with thousands separators.
"""

from __future__ import annotations

import html
import json

from . import graphview, unknown
from .errors import SpecError
from .layers import fmt_shape
from .memory import inference
from .nesting import at_depth
from .options import DTYPE_BYTES
from .report import human, human_bytes

MAX_FORMULA_NODES = 4000  # sympy takes a few ms a layer; beyond this the report omits formulas
MAX_FORMULAS_PER_ROW = 24
COST_COLUMNS = (("params", "params"), ("macs", "MACs"), ("ops", "other ops"),
                ("activations", "activations"))  # fmt: skip


def esc(text) -> str:
    """HTML text and attribute value: &, <, >, " and ' escaped; control characters dropped."""
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in str(text))
    return html.escape(text, quote=True)


def script_json(obj) -> str:
    """JSON safe inside <script>: no '<', '>' or '&' (so no '</script>' or '<!--')."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _num(value) -> str:
    return "?" if value is None else f"{value:,}"


# -- the data of one network


class NetworkPage:
    """Everything the report shows about one built network (computed once)."""

    def __init__(self, net, key: str, label: str, *, depth=None, color="macs", batch=1,
                 dtype="float32", formulas=True, graph=True):  # fmt: skip
        self.net = net
        self.key = key  # unique prefix of element ids: n0, n1, ...
        self.label = label
        self.batch = batch
        self.dtype = dtype
        self.nbytes = DTYPE_BYTES[dtype]
        self.records = at_depth(net, 1 << 20)
        self.totals = net.totals()
        self.live = inference(net, batch, dtype)
        self.svg = None
        self.graph_note = ""
        try:
            self.model = graphview.build_model(net, depth, color)
        except SpecError as err:  # too many boxes to draw: the rest of the page still helps
            self.model, self.graph_note, graph = None, err.message, False
        if graph:
            if graphview.dot_program() is None:
                self.graph_note = graphview.INSTALL_DOT.format(fmt="report's graph")
            else:
                dot = graphview.to_dot(self.model, prefix=key + "-", legend=False)
                self.svg = graphview.svg_body(graphview.render(dot, "svg"))
        self.formulas = self._formulas() if formulas else {}
        self.checks = published_checks(net)

    def _formulas(self) -> dict:
        if len(self.net.nodes) > MAX_FORMULA_NODES:
            return {}
        from .symbolic import node_formula, unknown_formula  # sympy, only for the formulas

        out = {}
        for node in self.net.nodes:
            if node.op == "input":
                continue
            params, macs, _ops, subs = node_formula(node)
            if params == 0 and macs == 0:
                continue
            where = ", ".join(f"{k}={v}" for k, v in subs.items())
            out[node.id] = tuple(unknown_formula(node) if e is None else str(e)
                                 for e in (params, macs)) + (where,)
        return out

    @property
    def max_level(self) -> int:
        return max((r["level"] for r in self.records), default=0)

    def types(self) -> list[str]:
        return sorted({r["type"] for r in self.records})


def published_checks(net) -> list:
    """check results (archcost.tables) of every published table of this network's family."""
    from .tables import check_table, table_files
    from .yamlio import load_file

    base = net.name.split(":")[0]
    results = []
    for path in table_files():
        doc = load_file(path)
        network = str(doc.get("network") or "") if isinstance(doc, dict) else ""
        if network.split(":")[0] == base:
            results.append(check_table(path))
    return results


# -- HTML pieces


def _totals_html(page: NetworkPage) -> str:
    t, live = page.totals, page.live
    n = _n  # unknown (None) is '?', never 0 (archcost.unknown)
    items = [
        ("input", fmt_shape(tuple(page.net.input.shape))),
        ("params", f"{n(t['params'])} (weights {n(t['weights'])}, biases {n(t['bias'])})"),
        ("buffers", n(t["buffers"])),
        ("MACs", n(t["macs"])),
        ("FLOPs (2 x MACs)", n(unknown.mul(2, t["macs"]))),
        ("other ops", n(t["ops"])),
        ("activations", f"{t['activations']:,} elements per sample = "
                        f"{human_bytes(t['activations'] * page.batch * page.nbytes)}"),
        ("weight layers", f"{page.net.weight_layers:,}"),
        ("peak live activations", f"{human_bytes(live.peak_bytes)} ({live.peak_bytes:,} bytes) "
                                  f"at '{live.peak_layer}'"),
    ]  # fmt: skip
    note = unknown.note(page.net)
    if note:
        items.append(("unknown", note))
    rows = "".join(f"<tr><th scope=\"row\">{esc(k)}</th><td class=\"tot-{i}\">{esc(v)}</td></tr>"
                   for i, (k, v) in enumerate(items))  # fmt: skip
    return (f'<table class="totals" id="{page.key}-totals"><caption>Totals '
            f"(batch {page.batch}, {esc(page.dtype)})</caption><tbody>{rows}</tbody></table>")


def _layer_table_html(page: NetworkPage) -> str:
    k = page.key
    head = ['<th scope="col" data-sort="index" aria-sort="ascending"><button type="button">#'
            "</button></th>",
            '<th scope="col" data-sort="label"><button type="button">layer</button></th>',
            '<th scope="col" data-sort="type"><button type="button">type</button></th>',
            '<th scope="col">output</th>']  # fmt: skip
    head += [f'<th scope="col" class="num" data-sort="{key}"><button type="button">{esc(name)}'
             "</button></th>" for key, name in COST_COLUMNS]  # fmt: skip
    head.append('<th scope="col">formula</th>')
    body = []
    for i, rec in enumerate(page.records):
        costs = graphview.costs_of(rec)
        kids = "1" if rec["open"] else "0"
        parent = "" if rec["parent"] is None else str(rec["parent"])
        cells = [f'<td class="idx">{i}</td>',
                 f'<td class="name" style="padding-left:{0.4 + 1.2 * rec["level"]:.1f}em">'
                 f"{esc(rec['label'])}{' (train)' if rec.get('train_only') else ''}</td>",
                 f'<td class="type">{esc(rec["type"])}</td>',
                 f'<td class="shape">{esc(fmt_shape(tuple(rec["output"])))}</td>']  # fmt: skip
        cells += [f'<td class="num" data-v="{_v(costs[key])}"><span>{_n(costs[key])}</span></td>'
                  for key, _ in COST_COLUMNS]  # fmt: skip
        cells.append(f"<td>{_formula_html(page, rec)}</td>")
        train = ' class="train"' if rec.get("train_only") else ""
        body.append(f'<tr id="{k}-r{i}"{train} data-index="{i}" data-level="{rec["level"]}" '
                    f'data-kids="{kids}" data-parent="{parent}" data-name="{esc(rec["name"])}" '
                    f'data-type="{esc(rec["type"])}" tabindex="0">{"".join(cells)}</tr>')  # fmt: skip
    t = page.totals
    foot = ('<tr class="total"><th scope="row" colspan="4">total</th>'
            + "".join(f'<td class="num" data-total="{key}">{_n(t[key])}</td>'
                      for key, _ in COST_COLUMNS) + "<td></td></tr>")  # fmt: skip
    depth_opts = "".join(f'<option value="{d}"{" selected" if d == 0 else ""}>{d}</option>'
                         for d in range(page.max_level + 1))  # fmt: skip
    type_opts = '<option value="">all types</option>' + "".join(
        f'<option value="{esc(t)}">{esc(t)}</option>' for t in page.types())
    controls = (f'<div class="controls" role="group" aria-label="layer table controls">'
                f'<label>depth <select class="depth" id="{k}-depth">{depth_opts}</select></label>'
                f' <label>name <input class="name" type="search" id="{k}-filter" '
                f'placeholder="filter by name"></label>'
                f' <label>type <select class="type" id="{k}-type">{type_opts}</select></label>'
                f' <span class="shown" aria-live="polite" id="{k}-shown"></span></div>')  # fmt: skip
    note = ("<p class=\"hint\">Depth 0 is the spec's rows. A row whose children are listed "
            "shows no numbers of its own (its children carry them), so the columns always add "
            "up to the total. Click a row to find it in the graph, a box in the graph to find "
            "its row; the column headings sort.</p>")
    return (controls + note + f'<table class="layers" id="{k}-layers"><caption>Layers of '
            f"{esc(page.net.title)}</caption><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody><tfoot>{foot}</tfoot></table>")


def _formula_html(page: NetworkPage, rec) -> str:
    if not page.formulas:
        return ""
    lines = [(n, page.formulas[n]) for n in rec["nodes"] if n in page.formulas]
    if not lines:
        return ""
    more = len(lines) - MAX_FORMULAS_PER_ROW
    items = "".join(f"<li><code>{esc(n)}</code>: params = <code>{esc(p)}</code>; MACs = "
                    f"<code>{esc(m)}</code>{' where ' + esc(w) if w else ''}</li>"
                    for n, (p, m, w) in lines[:MAX_FORMULAS_PER_ROW])  # fmt: skip
    if more > 0:
        items += f"<li>... and {more} more layers</li>"
    return f"<details><summary>formula</summary><ul>{items}</ul></details>"


def _graph_html(page: NetworkPage) -> str:
    if page.svg is None:
        return f'<p class="note">Graph omitted: {esc(page.graph_note)}.</p>'
    legend = "".join(f'<li><span class="swatch" style="background:{c}"></span>{esc(t)}</li>'
                     for c, t in graphview.legend_rows(page.model))  # fmt: skip
    legend_html = f'<ul class="legend" aria-label="colour legend">{legend}</ul>' if legend else ""
    return (f'<figure class="graph" id="{page.key}-graph"><div class="svgwrap">{page.svg}</div>'
            f"<figcaption>The network as Graphviz lays it out: {len(page.model.boxes)} boxes, "
            f"{len(page.model.clusters)} blocks, {len(page.model.edges)} edges; edges carry the "
            f"tensor shape, fill shows the cost per box.</figcaption>{legend_html}</figure>")


def _memory_html(page: NetworkPage) -> str:
    live = page.live
    values = [n.live_bytes for n in live.nodes]
    plot = line_plot(values, live.peak_index, f"live activation bytes along the {len(values)} "
                     "layers (inference)", human_bytes)  # fmt: skip
    peak_id = live.peak_node.id
    where = [i for i, r in enumerate(page.records) if peak_id in r["nodes"]]
    find = (f' <button type="button" class="findrow" data-index="{where[-1]}">show it in the '
            "table and the graph</button>" if where and live.nodes else "")  # fmt: skip
    return (f"<p>Inference at batch {page.batch}, {esc(page.dtype)}: peak live activations "
            f"<strong>{human_bytes(live.peak_bytes)}</strong> ({live.peak_bytes:,} bytes) while "
            f"layer <code>{esc(live.peak_node.id)}</code> of row "
            f"<code>{esc(live.peak_layer)}</code> runs; weights {human_bytes(live.weights_bytes)}"
            f", buffers {human_bytes(live.buffers_bytes)}, total "  # '?' when unknown
            f"{human_bytes(live.total_bytes)} (<code>archcost memory</code> gives the "
            f"details).{find}</p>{plot}")  # fmt: skip


def _checks_html(page: NetworkPage) -> str:
    if not page.checks:
        return "<p>No published table of this network is in specs/tables.</p>"
    parts = []
    for r in page.checks:
        counts = {s: sum(1 for c in r.cells if c.status == s)
                  for s in ("match", "erratum", "mismatch")}  # fmt: skip
        rows = "".join(
            f'<tr class="st-{esc(c.status)}"><td>{esc(c.row)}</td><td>{esc(c.column)}</td>'
            f'<td class="num">{esc(c.published)}</td><td class="num">{esc(c.computed)}</td>'
            f"<td>{esc(c.status)}{' (' + esc(c.note) + ')' if c.note else ''}</td>"
            f"<td>{esc(c.reason)}</td></tr>" for c in r.cells)  # fmt: skip
        parts.append(
            f'<table class="check"><caption>{esc(r.title)} ({esc(r.id)}): {len(r.cells)} cells, '
            f"{counts['match']} match, {counts['erratum']} errata, {counts['mismatch']} "
            f'mismatches</caption><thead><tr><th scope="col">row</th><th scope="col">column'
            f'</th><th scope="col">published</th><th scope="col">computed</th><th scope="col">'
            f'status</th><th scope="col">reason</th></tr></thead><tbody>{rows}</tbody></table>')
    return "".join(parts)


def _macs_plot(page: NetworkPage) -> str:
    top = [r for r in page.records if r["level"] == 0]
    return bar_plot([(r["label"], graphview.costs_of(r)["macs"]) for r in top],
                    "MACs per row of the spec", human)  # fmt: skip


def network_section(page: NetworkPage, level: int = 2) -> str:
    h, k = f"h{level}", page.key
    sub = f"h{level + 1}"
    return (f'<section class="network" id="{k}" data-key="{k}" aria-labelledby="{k}-title">'
            f'<{h} id="{k}-title">{esc(page.net.title)} <small>({esc(page.label)})</small></{h}>'
            f"{_totals_html(page)}"
            f'<div class="explore"><div class="graphcol"><{sub} id="{k}-graph-h">Graph</{sub}>'
            f"{_graph_html(page)}</div>"
            f'<div class="tablecol"><{sub} id="{k}-layers-h">Layers</{sub}>'
            f"{_layer_table_html(page)}</div></div>"
            f'<{sub} id="{k}-memory-h">Memory</{sub}>{_memory_html(page)}'
            f'<{sub} id="{k}-check-h">Published tables</{sub}>{_checks_html(page)}'
            f'<{sub} id="{k}-plots-h">Plots</{sub}>{_macs_plot(page)}</section>')


def _compare_html(pages) -> str:
    rows = []
    for p in pages:
        t = p.totals
        rows.append(f'<tr><th scope="row"><a href="#{p.key}">{esc(p.label)}</a></th>'
                    f'<td class="num">{_n(t["params"])}</td><td class="num">{_n(t["macs"])}</td>'
                    f'<td class="num">{_n(unknown.mul(2, t["macs"]))}</td>'
                    f'<td class="num">{t["activations"]:,}</td>'
                    f'<td class="num">{p.live.peak_bytes:,}</td>'
                    f'<td class="num">{p.net.weight_layers}</td></tr>')  # fmt: skip
    table = ('<table class="compare" id="compare"><caption>The networks side by side</caption>'
             '<thead><tr><th scope="col">network</th><th scope="col">params</th>'
             '<th scope="col">MACs</th><th scope="col">FLOPs</th><th scope="col">activations'
             '</th><th scope="col">peak act. bytes</th><th scope="col">weight layers</th></tr>'
             f"</thead><tbody>{''.join(rows)}</tbody></table>")  # fmt: skip
    # a network whose params or MACs are unknown has no point on the plot
    points = [(p.label, p.totals["params"], p.totals["macs"]) for p in pages
              if p.totals["params"] is not None and p.totals["macs"] is not None]  # fmt: skip
    missing = [p.label for p in pages if p.totals["params"] is None or p.totals["macs"] is None]
    note = (f'<p class="note">Not on the plot (params or MACs unknown): '
            f'{esc(", ".join(missing))}.</p>' if missing else "")  # fmt: skip
    return table + scatter_plot(points, "MACs against params") + note


# -- plots (hand-written SVG)


def _n(value) -> str:
    """A count with thousands separators; ``?`` when unknown (archcost.unknown)."""
    return unknown.SHOWN if value is None else f"{value:,}"


def _v(value) -> str:
    """A sort key for a table cell: the number, or ``unknown`` (sorted after the numbers)."""
    return "unknown" if value is None else str(value)


def bar_plot(items, title: str, fmt=human, width: int = 640) -> str:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    if not items:
        return ""
    bar_h, gap, left, right = 14, 4, 170, 80
    top = max((v for _, v in items if v is not None), default=0) or 1
    height = len(items) * (bar_h + gap) + 30
    span = width - left - right
    parts = [f'<svg class="plot" role="img" aria-label="{esc(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{esc(title)}</title><text x="0" y="14" class="ptitle">{esc(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * (bar_h + gap)
        w = span * value / top if value is not None else 0  # unknown: no bar, a '?'
        short = label if len(label) <= 26 else label[:24] + "..."
        parts.append(f'<text x="{left - 6}" y="{y + bar_h - 3}" text-anchor="end">{esc(short)}'
                     f'</text><rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                     f'class="bar"><title>{esc(label)}: {_n(value)}</title></rect>'
                     f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}">{esc(fmt(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def line_plot(values, mark: int, title: str, fmt=human_bytes, width=640, height=200) -> str:
    """A step line of ``values`` (one per layer) with the point ``mark`` marked."""
    if not values:
        return ""
    left, bottom, top_pad = 70, 24, 24
    hi = max(values) or 1
    w, h = width - left - 10, height - bottom - top_pad

    def xy(i, v):
        return left + w * i / max(len(values) - 1, 1), top_pad + h - h * v / hi

    pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, v in enumerate(values)))
    parts = [f'<svg class="plot" role="img" aria-label="{esc(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{esc(title)}</title><text x="0" y="14" class="ptitle">{esc(title)}</text>'
             f'<line x1="{left}" y1="{top_pad + h}" x2="{left + w}" y2="{top_pad + h}" '
             f'class="axis"/><line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + h}" '
             f'class="axis"/><text x="{left - 4}" y="{top_pad + 4}" text-anchor="end">'
             f'{esc(fmt(hi))}</text><text x="{left - 4}" y="{top_pad + h}" text-anchor="end">0'
             f'</text><polyline points="{pts}" class="line"/>']  # fmt: skip
    if 0 <= mark < len(values):
        x, y = xy(mark, values[mark])
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="peak"><title>peak '
                     f"{fmt(values[mark])} at layer {mark}</title></circle>")
    parts.append(f'<text x="{left + w}" y="{height - 6}" text-anchor="end">layers in '
                 "execution order</text></svg>")
    return "".join(parts)


def scatter_plot(points, title: str, width=640, height=320) -> str:
    """One labelled point per (label, params, MACs), linear axes from zero."""
    if not points:
        return ""
    left, bottom, top_pad, right = 70, 36, 24, 150
    px = max(p for _, p, _ in points) or 1
    py = max(m for _, _, m in points) or 1
    w, h = width - left - right, height - bottom - top_pad
    parts = [f'<svg class="plot" role="img" aria-label="{esc(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
             f'<title>{esc(title)}</title><text x="0" y="14" class="ptitle">{esc(title)}</text>'
             f'<line x1="{left}" y1="{top_pad + h}" x2="{left + w}" y2="{top_pad + h}" '
             f'class="axis"/><line x1="{left}" y1="{top_pad}" x2="{left}" y2="{top_pad + h}" '
             f'class="axis"/><text x="{left + w}" y="{height - 8}" text-anchor="end">params '
             f'(max {human(px)})</text><text x="{left - 4}" y="{top_pad + 4}" '
             f'text-anchor="end">{human(py)}</text><text x="{left - 4}" y="{top_pad + h}" '
             f'text-anchor="end">0 MACs</text>']  # fmt: skip
    for label, p, m in points:
        x, y = left + w * p / px, top_pad + h - h * m / py
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="dot"><title>'
                     f"{esc(label)}: {p:,} params, {m:,} MACs</title></circle>"
                     f'<text x="{x + 6:.1f}" y="{y + 4:.1f}">{esc(label[:30])}</text>')
    parts.append("</svg>")
    return "".join(parts)


# -- the page


def page_html(pages, title: str) -> str:
    compare = ""
    if len(pages) > 1:
        compare = f'<section id="comparison" aria-labelledby="cmp-h"><h2 id="cmp-h">Comparison' \
                  f"</h2>{_compare_html(pages)}</section>"
    nav = ""
    if len(pages) > 1:
        nav = ('<nav aria-label="networks"><ul>' + "".join(
            f'<li><a href="#{p.key}">{esc(p.label)}</a></li>' for p in pages) + "</ul></nav>")
    sections = "".join(network_section(p) for p in pages)
    data = {p.key: {"label": p.label, "rows": len(p.records), "totals": p.totals}
            for p in pages}  # fmt: skip
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<meta name=\"generator\" content=\"archcost\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body><header><h1>{esc(title)}</h1>"
        "<p class=\"conv\">params: trainable weights + biases (BN running statistics are buffers,"
        " apart); MACs: multiply-accumulates of conv, linear and matrix-product (attention)"
        " layers (FLOPs = 2 x MACs); other"
        " ops: pooling, BN, activations, adds; activations: elements written per sample.</p>"
        f"</header>{nav}<main>{compare}{sections}</main>"
        f'<script type="application/json" id="archcost-data">{script_json(data)}</script>'
        f"<script>{JS}</script></body></html>\n"
    )


def report(pages) -> str:
    if len(pages) == 1:
        title = f"archcost report: {pages[0].net.title} ({pages[0].label})"
    else:
        title = "archcost report: " + ", ".join(p.label for p in pages)
    return page_html(pages, title)


def graph_page(page: NetworkPage) -> str:
    """``graph --format html``: the graph alone, with its legend, in a self-contained page."""
    title = f"{page.net.title} ({page.label}): graph"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{esc(title)}</h1><section class="network" data-key="{page.key}">'
        f"{_graph_html(page)}</section></main></body></html>\n"
    )


CSS = """
:root { --fg: #1a1a1a; --muted: #555; --line: #ccc; --sel: #ffe08a; --accent: #0b5cad; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
  color: var(--fg); background: #fff; margin: 0 auto; max-width: 2000px; padding: 0 1.5em 3em; }
h1 { font-size: 1.6em; margin: 0.8em 0 0.3em; }
h2 { font-size: 1.35em; border-bottom: 2px solid var(--line); padding-bottom: 0.2em;
  margin-top: 1.6em; }
h3 { font-size: 1.1em; margin: 1.4em 0 0.4em; }
small { color: var(--muted); font-weight: normal; }
a { color: var(--accent); }
.conv, .hint, .note, figcaption { color: var(--muted); font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.4em 0 1em; }
caption { text-align: left; font-weight: 600; padding: 0.3em 0; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #e4e4e4; vertical-align: top;
  text-align: left; }
thead th { position: sticky; top: 0; background: #f3f3f3; border-bottom: 2px solid var(--line); }
td.num, th.num, td.idx { text-align: right; font-variant-numeric: tabular-nums; }
td.idx { color: var(--muted); }
table.layers td.name, table.layers td.type, table.layers td.shape { white-space: nowrap; }
table.totals th { font-weight: 600; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0;
  cursor: pointer; color: inherit; }
th[aria-sort=ascending] button::after { content: " \\2191"; }
th[aria-sort=descending] button::after { content: " \\2193"; }
table.layers tbody tr { cursor: pointer; }
table.layers tbody tr:hover { background: #f5f9ff; }
table.layers tr.opened td { font-weight: 600; }
table.layers tr.opened td.num span { visibility: hidden; }
table.layers tr.hidden { display: none; }
table.layers tr.train td { color: var(--muted); font-style: italic; }
button.findrow { font: inherit; margin-left: 0.5em; }
tr.selected, tr.selected:hover { background: var(--sel) !important; outline: 2px solid #b8860b; }
tr:focus { outline: 2px solid var(--accent); }
tr.total th, tr.total td { font-weight: 700; border-top: 2px solid var(--line); }
table.check td:first-child { white-space: nowrap; }
tr.st-erratum td { background: #fff7d6; }
tr.st-mismatch td { background: #ffd9d9; }
details summary { cursor: pointer; color: var(--accent); }
details ul { margin: 0.2em 0; padding-left: 1.2em; max-width: 60em; }
.controls { margin: 0.5em 0; display: flex; gap: 1em; flex-wrap: wrap; align-items: center; }
.controls input, .controls select { font: inherit; padding: 0.15em 0.3em; }
.explore { display: grid; grid-template-columns: minmax(300px, 1fr) minmax(0, max-content);
  gap: 1.5em; align-items: start; }
.graphcol { position: sticky; top: 0; }
.tablecol { overflow-x: auto; }
.tablecol .hint, .tablecol .controls { width: 0; min-width: 100%; }  /* not widening it */
.graphcol figure { margin: 0; }
@media (max-width: 1100px) { .explore { display: block; } .graphcol { position: static; } }
.svgwrap { overflow: auto; max-height: 78vh; border: 1px solid var(--line); padding: 0.5em; }
.svgwrap svg { max-width: none; height: auto; }
.svgwrap g.node, .svgwrap g.cluster { cursor: pointer; }
.svgwrap g.node.selected polygon, .svgwrap g.node.selected path,
.svgwrap g.cluster.selected polygon, .svgwrap g.cluster.selected path {
  stroke: #0b5cad; stroke-width: 4px; }
ul.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.3em 1em;
  font-size: 0.9em; }
.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #999;
  vertical-align: middle; margin-right: 0.3em; }
svg.plot { font-size: 11px; font-family: inherit; display: block; margin: 0.5em 0 1em; }
svg.plot .ptitle { font-weight: 600; font-size: 12px; }
svg.plot .bar { fill: #fd8d3c; }
svg.plot .line { fill: none; stroke: #0b5cad; stroke-width: 1.5; }
svg.plot .axis { stroke: #888; }
svg.plot .peak { fill: #bd0026; }
svg.plot .dot { fill: #bd0026; }
nav ul { list-style: none; padding: 0; display: flex; gap: 1em; flex-wrap: wrap; }
@media print {
  .controls, .hint, details summary, button.findrow { display: none; }
  table.layers tr.hidden { display: table-row; }
  table.layers tr.opened td.num span { visibility: visible; color: #777; }
  .svgwrap { max-height: none; overflow: visible; border: 0; }
  .explore { display: block; }
  .graphcol { position: static; }
  .svgwrap svg { max-width: 100%; }
  thead th { position: static; }
  tr { break-inside: avoid; }
  section.network { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
"""

JS = r"""
(function () {
  "use strict";
  function setup(sec) {
    var key = sec.getAttribute("data-key");
    var table = sec.querySelector("table.layers");
    if (!table) { return; }
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var byIndex = {};
    rows.forEach(function (r) { byIndex[r.getAttribute("data-index")] = r; });
    var depthSel = sec.querySelector("select.depth");
    var typeSel = sec.querySelector("select.type");
    var nameIn = sec.querySelector("input.name");
    var shown = sec.querySelector(".shown");
    var svg = sec.querySelector(".svgwrap svg");
    function apply() {
      var d = parseInt(depthSel.value, 10);
      var t = typeSel.value;
      var q = nameIn.value.toLowerCase();
      var filtering = t !== "" || q !== "";
      var n = 0;
      rows.forEach(function (r) {
        var level = parseInt(r.getAttribute("data-level"), 10);
        var opened = level < d && r.getAttribute("data-kids") === "1";
        var vis = level <= d;
        if (vis && filtering) {
          vis = !opened && (t === "" || r.getAttribute("data-type") === t) &&
            (q === "" || r.getAttribute("data-name").toLowerCase().indexOf(q) >= 0);
        }
        r.classList.toggle("opened", opened && !filtering);
        r.classList.toggle("hidden", !vis);
        if (vis) { n += 1; }
      });
      shown.textContent = n + " of " + rows.length + " rows shown";
    }
    [depthSel, typeSel].forEach(function (el) { el.addEventListener("change", apply); });
    nameIn.addEventListener("input", apply);
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.querySelector("button").addEventListener("click", function () {
        var k = th.getAttribute("data-sort");
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        if (th.getAttribute("aria-sort") === null && k !== "index" && k !== "label" &&
            k !== "type") { dir = "descending"; }
        table.querySelectorAll("th[data-sort]").forEach(function (o) {
          o.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", dir);
        var col = Array.prototype.indexOf.call(th.parentNode.children, th);
        function value(r) {
          if (k === "index") { return parseInt(r.getAttribute("data-index"), 10); }
          if (k === "label" || k === "type") { return r.cells[col].textContent.toLowerCase(); }
          return Number(r.cells[col].getAttribute("data-v"));
        }
        var numeric = k !== "index" && k !== "label" && k !== "type";
        var sorted = rows.slice().sort(function (a, b) {
          if (numeric) {  /* opened groups show no numbers: they go after the rows that do */
            var oa = a.classList.contains("opened"), ob = b.classList.contains("opened");
            if (oa !== ob) { return oa ? 1 : -1; }
          }
          var va = value(a), vb = value(b);
          if (numeric && isNaN(va) !== isNaN(vb)) { return isNaN(va) ? 1 : -1; }  /* unknown */
          var c = va < vb ? -1 : va > vb ? 1 : 0;
          if (dir !== "ascending") { c = -c; }
          if (c === 0) {  /* ties keep the layer order */
            c = parseInt(a.getAttribute("data-index"), 10) - parseInt(b.getAttribute("data-index"), 10);
          }
          return c;
        });
        sorted.forEach(function (r) { tbody.appendChild(r); });
      });
    });
    function clearMarks() {
      sec.querySelectorAll(".selected").forEach(function (el) {
        el.classList.remove("selected");
        if (el.tagName === "TR") { el.removeAttribute("aria-selected"); }
      });
    }
    function graphElement(i) {
      while (i !== null && i !== "" && svg) {
        var el = svg.querySelector("#" + key + "-b" + i) || svg.querySelector("#" + key + "-c" + i);
        if (el) { return el; }
        var r = byIndex[i];
        i = r ? r.getAttribute("data-parent") : null;
      }
      return null;
    }
    function select(i, fromGraph) {
      var r = byIndex[i];
      if (!r) { return; }
      clearMarks();
      var level = parseInt(r.getAttribute("data-level"), 10);
      if (r.classList.contains("hidden")) {
        if (parseInt(depthSel.value, 10) < level) { depthSel.value = String(level); }
        nameIn.value = ""; typeSel.value = "";
        apply();
      }
      r.classList.add("selected");
      r.setAttribute("aria-selected", "true");
      var g = graphElement(i);
      if (g) {
        g.classList.add("selected");
        if (!fromGraph) {  /* scroll the picture's own box, not the page */
          var wrap = svg.parentNode, gr = g.getBoundingClientRect(), wr = wrap.getBoundingClientRect();
          wrap.scrollTop += (gr.top - wr.top) - (wr.height - gr.height) / 2;
          wrap.scrollLeft += (gr.left - wr.left) - (wr.width - gr.width) / 2;
        }
      }
      if (fromGraph) { r.scrollIntoView({block: "center"}); r.focus({preventScroll: true}); }
    }
    rows.forEach(function (r) {
      r.addEventListener("click", function (ev) {
        if (ev.target.closest("details")) { return; }
        select(r.getAttribute("data-index"), false);
      });
      r.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") {
          ev.preventDefault(); select(r.getAttribute("data-index"), false);
        }
      });
    });
    sec.querySelectorAll("button.findrow").forEach(function (b) {
      b.addEventListener("click", function () { select(b.getAttribute("data-index"), true); });
    });
    if (svg) {
      svg.querySelectorAll("g.node, g.cluster").forEach(function (g) {
        var prefix = key + (g.classList.contains("node") ? "-b" : "-c");
        if (g.id.indexOf(prefix) !== 0 || !byIndex[g.id.slice(prefix.length)]) { return; }
        var i = g.id.slice(prefix.length);
        g.setAttribute("tabindex", "0");
        g.setAttribute("role", "button");
        g.setAttribute("aria-label", byIndex[i].getAttribute("data-name"));
        g.addEventListener("click", function () { select(i, true); });
        g.addEventListener("keydown", function (ev) {
          if (ev.key === "Enter") { select(i, true); }
        });
      });
    }
    apply();
  }
  document.querySelectorAll("section.network").forEach(setup);
}());
"""

"""The network as a picture: a graph model (boxes, clusters, edges) and its DOT and Mermaid text.

Boxes are the spec's rows down to ``depth`` of the block nesting (archcost.nesting); a row of
one primitive with its sugar (conv + bn + relu) is always one box; an opened block row is a
cluster around its boxes. An edge joins two boxes when a node of one reads a node of the other;
it is labelled with the tensor's shape. Each box is filled by a sequential colour map
(ColorBrewer YlOrRd, 9 classes) over the chosen cost on a log scale, with a legend.

Layout is Graphviz's ``dot`` (run as a program, never reimplemented); without it ``dot`` and
``mermaid`` text still work and the picture formats say how to install it. Every label comes
from an untrusted spec and is escaped for each output language.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from dataclasses import dataclass, field

from .errors import SpecError
from .layers import fmt_shape
from .nesting import at_depth

METRICS = {"macs": "macs", "params": "params", "memory": "activations", "none": None}
FORMATS = ("dot", "svg", "png", "mermaid", "html")
# ColorBrewer YlOrRd, 9 classes (Brewer, colorbrewer2.org): light = cheap, dark = costly
PALETTE = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c",
           "#bd0026", "#800026")  # fmt: skip
ZERO_FILL = "#f4f4f4"  # a box with none of the cost
UNKNOWN_FILL = "#c6dbef"  # a box whose cost is unknown (archcost.unknown): not on the scale
MAX_BOXES = 3000  # dot takes minutes beyond this; --depth collapses blocks
DOT_TIMEOUT_S = 300
INSTALL_DOT = ("the 'dot' program of Graphviz is needed for --format {fmt}; install it "
               "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
               "https://graphviz.org/download/) or use --format dot or mermaid")  # fmt: skip


@dataclass
class Box:
    index: int  # the record's index in the depth records (row of the report's table)
    label: str
    type: str
    shape: list
    costs: dict
    cluster: int | None  # index of the enclosing cluster's record
    kind: str = "row"  # row | input
    train_only: bool = False  # drawn dashed: counts for training only


@dataclass
class Cluster:
    index: int
    label: str
    type: str
    parent: int | None
    costs: dict


@dataclass
class GraphModel:
    title: str
    metric: str | None
    boxes: list[Box]
    clusters: list[Cluster]
    edges: list[tuple[int, int, str]]  # (box index, box index, shape text)
    records: list[dict] = field(default_factory=list)  # at_depth(net, all) records
    _bins: list | None = field(default=None, repr=False)

    def bins(self):
        """(lower, upper) edges of each palette class over the metric's positive values
        (log scale, so one class is a constant factor of cost); computed once."""
        if self._bins is None:
            self._bins = self._make_bins()
        return self._bins

    def _make_bins(self):
        if self.metric is None:
            return []
        values = [b.costs[self.metric] for b in self.boxes
                  if b.costs[self.metric] is not None and b.costs[self.metric] > 0]  # fmt: skip
        if not values:
            return []
        lo, hi = min(values), max(values)
        if lo == hi:
            return [(lo, hi)]
        k = len(PALETTE)
        step = (math.log(hi) - math.log(lo)) / k
        edges = [lo] + [round(math.exp(math.log(lo) + step * i)) for i in range(1, k)] + [hi]
        return list(zip(edges[:-1], edges[1:]))

    def fill(self, value: int) -> str:
        bins = self.bins()
        if self.metric is not None and value is None:
            return UNKNOWN_FILL
        if self.metric is None or value <= 0 or not bins:
            return ZERO_FILL if self.metric is not None else "#ffffff"
        for i, (_, upper) in enumerate(bins):
            if value <= upper:
                return PALETTE[i] if len(bins) > 1 else PALETTE[len(PALETTE) // 2]
        return PALETTE[-1]


def text_color(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (WCAG relative luminance)."""
    r, g, b = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
              for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b)))  # fmt: skip
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def costs_of(rec: dict) -> dict:
    src = rec.get("subtotal") or rec
    return {"params": src["params"], "macs": src["macs"], "ops": src["ops"],
            "activations": src["activations"]}  # fmt: skip


def build_model(net, depth: int | None = None, color: str = "macs") -> GraphModel:
    """Boxes and clusters of ``net`` down to ``depth`` (None = every block opened)."""
    if color not in METRICS:
        raise SpecError(f"--color must be one of {', '.join(METRICS)}")
    records = at_depth(net, 1 << 20)
    limit = 1 << 20 if depth is None else depth
    opened: dict[int, bool] = {}
    boxes: list[Box] = []
    clusters: list[Cluster] = []
    where: dict[str, int] = {}  # node id -> box position
    inp = Box(-1, "input", "input", list(net.input.shape), dict.fromkeys(
        ("params", "macs", "ops", "activations"), 0), None, "input")  # fmt: skip
    boxes.append(inp)
    where[net.input.id] = 0
    for i, rec in enumerate(records):
        parent = rec["parent"]
        if parent is not None and not opened.get(parent):
            opened[i] = False  # inside a box drawn whole
            continue
        opens = rec["open"] and not rec["atomic"] and rec["level"] < limit
        opened[i] = opens
        if opens:
            clusters.append(Cluster(i, rec["label"], rec["type"], parent, costs_of(rec)))
            continue
        for node_id in rec["nodes"]:
            where[node_id] = len(boxes)
        boxes.append(Box(i, rec["label"], rec["type"], rec["output"], costs_of(rec), parent,
                         train_only=rec.get("train_only", False)))  # fmt: skip
    if len(boxes) > MAX_BOXES:
        raise SpecError(f"the graph would have {len(boxes):,} boxes (at most {MAX_BOXES:,}); "
                        "collapse blocks with --depth N")  # fmt: skip
    edges: dict[tuple[int, int], str] = {}
    for node in net.nodes:
        dst = where.get(node.id)
        for src_node in node.inputs:
            src = where.get(src_node.id)
            if src is None or dst is None or src == dst:
                continue
            edges.setdefault((src, dst), fmt_shape(tuple(src_node.shape)))
    return GraphModel(f"{net.title} ({net.name})", METRICS[color], boxes, clusters,
                      [(a, b, s) for (a, b), s in edges.items()], records)  # fmt: skip


# -- DOT


def _clean(text: str, limit: int = 200) -> str:
    """Printable text of at most ``limit`` characters (labels are untrusted and unbounded)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dot_string(text: str) -> str:
    """A DOT quoted string: backslash and quote escaped, so no escape sequence survives."""
    return '"' + _clean(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _human(value: int) -> str:
    if value is None:
        return "?"  # unknown (archcost.unknown)
    for unit, scale in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= scale:
            x = value / scale
            return f"{x:.{2 if x < 10 else 1 if x < 100 else 0}f}{unit}"
    return str(value)


def box_lines(model: GraphModel, box: Box) -> list[str]:
    if box.kind == "input":
        return ["input", fmt_shape(tuple(box.shape))]
    lines = [box.label + (" (train)" if box.train_only else ""),
             f"{box.type}  {fmt_shape(tuple(box.shape))}"]
    if model.metric is not None:
        lines.append(f"{_human(box.costs[model.metric])} {_metric_word(model.metric)}")
    return lines


def _metric_word(metric: str) -> str:
    return {"macs": "MACs", "params": "params", "activations": "act."}[metric]


def _children(model: GraphModel) -> dict:
    """{cluster index or None: [("c", cluster) or ("b", position, box)]} in the spec's order."""
    children: dict[int | None, list] = {}
    items = [(c.index, c.parent, ("c", c)) for c in model.clusters]
    items += [(b.index, b.cluster, ("b", pos, b)) for pos, b in enumerate(model.boxes)]
    for _, owner, item in sorted(items, key=lambda t: t[0]):
        children.setdefault(owner, []).append(item)
    return children


def to_dot(model: GraphModel, prefix: str = "", legend: bool = True) -> str:
    """The graph in Graphviz's DOT language (top to bottom, clusters for opened blocks).

    Each box's SVG element gets the id ``{prefix}b{record index}``, each cluster's
    ``{prefix}c{record index}`` (the report links them to its table rows)."""
    out = ["digraph archcost {",
           f"  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, "
           f"label={dot_string(model.title)}, newrank=true, nodesep=0.25, ranksep=0.35];",
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
           'penwidth=0.8];',
           '  edge [fontname="Helvetica", fontsize=8, color="#555555", fontcolor="#333333", '
           "arrowsize=0.6];"]  # fmt: skip
    children = _children(model)

    def emit(owner, indent):
        for item in children.get(owner, []):
            if item[0] == "c":
                c = item[1]
                out.append(f"{indent}subgraph cluster_{c.index} {{")
                out.append(f"{indent}  label={dot_string(c.label + '  (' + c.type + ')')}; "
                           f'id="{prefix}c{c.index}"; style="rounded"; color="#888888"; '
                           f'fontsize=10;')  # fmt: skip
                emit(c.index, indent + "  ")
                out.append(f"{indent}}}")
            else:
                _, pos, b = item
                fill = model.fill(b.costs[model.metric]) if model.metric else "#ffffff"
                if b.kind == "input":
                    fill = "#dddddd"
                label = "\\n".join(dot_string(x)[1:-1] for x in box_lines(model, b))
                dashed = ', style="rounded,filled,dashed"' if b.train_only else ""
                out.append(f'{indent}b{pos} [label="{label}", id="{prefix}b{b.index}", '
                           f'fillcolor="{fill}", fontcolor="{text_color(fill)}"{dashed}];')  # fmt: skip

    emit(None, "  ")
    for a, b, shape in model.edges:
        out.append(f"  b{a} -> b{b} [label={dot_string(shape)}];")
    if legend:  # (the HTML report draws its own, beside the picture)
        out += _dot_legend(model, prefix)
    out.append("}")
    return "\n".join(out) + "\n"


def legend_rows(model: GraphModel) -> list[tuple[str, str]]:
    """(fill colour, range text) of each legend class, cheapest first."""
    if model.metric is None:
        return []
    word = _metric_word(model.metric)
    rows = [(ZERO_FILL, f"0 {word}")]
    if any(b.costs[model.metric] is None for b in model.boxes):
        rows.append((UNKNOWN_FILL, f"? {word} (unknown)"))
    bins = model.bins()
    if len(bins) == 1:
        rows.append((PALETTE[len(PALETTE) // 2], f"{_human(bins[0][0])} {word}"))
    else:
        for colour, (lo, hi) in zip(PALETTE, bins):
            rows.append((colour, f"{_human(lo)} - {_human(hi)} {word}"))
    return rows


def _dot_legend(model: GraphModel, prefix: str = "") -> list[str]:
    rows = legend_rows(model)
    if not rows:
        return []
    cells = "".join(f'<TR><TD BGCOLOR="{c}" WIDTH="18"> </TD><TD ALIGN="LEFT">{_html(t)}</TD></TR>'
                    for c, t in rows)  # fmt: skip
    title = _html(f"colour: {_metric_word(model.metric)} per box (log scale)")
    return [f'  subgraph cluster_legend {{ label=""; color="#bbbbbb"; id="{prefix}legend";',
            f'    legend [shape=plaintext, style="", label=<<TABLE BORDER="0" CELLBORDER="0" '
            f'CELLSPACING="1"><TR><TD COLSPAN="2">{title}</TD></TR>{cells}</TABLE>>];',
            "  }"]  # fmt: skip


def _html(text: str) -> str:
    return (_clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))  # fmt: skip


# -- Mermaid


def mermaid_text(text: str) -> str:
    """Mermaid label text: every character outside a small safe set as an entity code
    (``#35;``), so quotes, brackets, pipes and HTML in a label stay text."""
    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,_-+/x()")
    return "".join(ch if ch in safe else f"#{ord(ch)};" for ch in _clean(text))


def to_mermaid(model: GraphModel) -> str:
    """The graph as a Mermaid flowchart (GitHub and many wikis render it)."""
    out = ["flowchart TB"]
    children = _children(model)
    styles = []

    def emit(owner, indent):
        for item in children.get(owner, []):
            if item[0] == "c":
                c = item[1]
                out.append(f'{indent}subgraph c{c.index}["{mermaid_text(c.label)}"]')
                emit(c.index, indent + "  ")
                out.append(f"{indent}end")
            else:
                _, pos, b = item
                label = "<br/>".join(mermaid_text(x) for x in box_lines(model, b))
                out.append(f'{indent}b{pos}["{label}"]')
                if model.metric is not None and b.kind != "input":
                    fill = model.fill(b.costs[model.metric])
                    styles.append(f"  style b{pos} fill:{fill},color:{text_color(fill)}")

    emit(None, "  ")
    for a, b, shape in model.edges:
        out.append(f'  b{a} -->|"{mermaid_text(shape)}"| b{b}')
    return "\n".join(out + styles) + "\n"


# -- pictures (Graphviz)


def dot_program() -> str | None:
    return shutil.which("dot")


def render(dot_source: str, fmt: str) -> bytes:
    """``dot -T<fmt>`` of the DOT text (svg or png); SpecError saying how to install Graphviz
    when the program is missing."""
    exe = dot_program()
    if exe is None:
        raise SpecError(INSTALL_DOT.format(fmt=fmt))
    try:
        done = subprocess.run([exe, f"-T{fmt}"], input=dot_source.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise SpecError(f"Graphviz took more than {DOT_TIMEOUT_S} s; collapse blocks with "
                        "--depth N") from None  # fmt: skip
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"dot failed: {err[-1] if err else done.returncode}")
    return done.stdout


def svg_body(svg: bytes) -> str:
    """The ``<svg>`` element of dot's output, without the XML prolog and doctype (to inline)."""
    text = svg.decode("utf-8")
    return text[text.index("<svg") :]

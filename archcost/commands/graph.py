"""``archcost graph SPEC``: the network as a picture (Graphviz DOT, SVG, PNG, Mermaid, HTML)."""

from __future__ import annotations

import os
import sys

import click

from ..errors import SpecError
from ..options import fold_bn_option, maybe_fold, parse_sets, set_option, train_option
from ..report import emit, write_atomic
from ..spec import build

SUFFIX_FORMATS = {".dot": "dot", ".gv": "dot", ".svg": "svg", ".png": "png", ".mmd": "mermaid",
                  ".mermaid": "mermaid", ".html": "html", ".htm": "html"}  # fmt: skip


@click.command("graph")
@click.argument("spec")
@click.option("--depth", type=click.IntRange(0, 64), default=None, metavar="N",
              help="Open blocks down to depth N of the nesting (0 = one box per spec row); "
                   "default: every block opened.")  # fmt: skip
@click.option("--color", "color", type=click.Choice(["macs", "params", "memory", "none"]),
              default="macs", show_default=True,
              help="Cost that fills the boxes (memory = activations written).")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "png", "mermaid", "html"]),
              default=None, help="Output format (default: from -o's suffix, else dot).")
@set_option
@train_option
@fold_bn_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file instead of stdout (atomically).")
def command(spec, depth, color, fmt, sets, train, fold_bn, output):
    """Draw SPEC: one box per row (blocks opened as clusters down to --depth), labelled with
    name, type, output shape and cost; edges carry tensor shapes; fill colour shows the cost
    (sequential colour map, legend included).

    Layout is Graphviz's `dot` program: --format svg, png and html need it (Debian/Ubuntu:
    apt-get install graphviz); dot and mermaid text do not.

    \b
      archcost graph googlenet --format svg -o googlenet.svg
      archcost graph resnet50 --depth 1 -o resnet50.png
      archcost graph mobilenet --format mermaid
    """
    if fmt is None:
        suffix = os.path.splitext(output or "")[1].lower()
        fmt = SUFFIX_FORMATS.get(suffix, "dot")
    from .. import graphview

    if fmt in ("svg", "png", "html") and graphview.dot_program() is None:
        raise SpecError(graphview.INSTALL_DOT.format(fmt=fmt))
    if fmt == "png" and not output and sys.stdout.isatty():
        raise click.UsageError("--format png writes binary data; give -o FILE.png")
    net = maybe_fold(build(spec, params=parse_sets(sets) or None, train=train), fold_bn)
    if fmt == "html":
        from ..html_report import NetworkPage, graph_page

        page = NetworkPage(net, "n0", net.name, depth=depth, color=color, formulas=False)
        if page.svg is None:
            raise SpecError(page.graph_note)
        emit(graph_page(page), output)
        return
    model = graphview.build_model(net, depth, color)
    if fmt == "mermaid":
        emit(graphview.to_mermaid(model), output)
        return
    dot = graphview.to_dot(model)
    if fmt == "dot":
        emit(dot, output)
        return
    data = graphview.render(dot, fmt)
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    write_atomic(output, lambda handle: handle.write(data), binary=True)

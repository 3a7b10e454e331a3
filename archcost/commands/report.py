"""``archcost report SPEC [SPEC...]``: one self-contained HTML page (graph, table, memory,
published tables, formulas, plots); no network access needed to view it."""

from __future__ import annotations

import click

from ..netargs import assign_labels, parse_networks, variadic_settings
from ..options import batch_option, dtype_option, fold_bn_option, maybe_fold, train_option
from ..report import emit
from ..spec import build


@click.command("report", context_settings=variadic_settings())
@click.argument("networks", nargs=-1, type=click.UNPROCESSED, metavar="NETWORK [--set K=V]...")
@click.option("--depth", type=click.IntRange(0, 64), default=None, metavar="N",
              help="Open blocks of the graph down to depth N (default: all).")
@click.option("--color", "color", type=click.Choice(["macs", "params", "memory", "none"]),
              default="macs", show_default=True, help="Cost that fills the graph's boxes.")
@batch_option
@dtype_option
@train_option
@fold_bn_option
@click.option("--no-formulas", is_flag=True, help="Leave out the per-row formulas (faster).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              default="report.html", show_default=True,
              help="The HTML file to write ('-' for stdout).")  # fmt: skip
def command(networks, depth, color, batch, dtype, train, fold_bn, no_formulas, output):
    """Write one self-contained HTML report of one or more networks.

    Per network: totals; the graph (Graphviz SVG inline, needs `dot`; click a box to find its
    row); the per-layer table at every depth (sortable, filter by name and type, formula of
    each row on demand); inference memory with its peak; the published tables of the network
    checked cell by cell; plots. Several networks are also compared side by side.

    \b
      archcost report googlenet -o googlenet.html
      archcost report vgg16 googlenet resnet50 mobilenet -o zoo.html
    """
    from ..html_report import NetworkPage, report

    nargs = parse_networks(networks)
    nets = [maybe_fold(build(n.spec, params=n.sets or None, train=train), fold_bn)
            for n in nargs]  # fmt: skip
    assign_labels(nargs, [net.name for net in nets])
    pages = [NetworkPage(net, f"n{i}", narg.label, depth=depth, color=color, batch=batch,
                         dtype=dtype, formulas=not no_formulas)
             for i, (narg, net) in enumerate(zip(nargs, nets, strict=True))]  # fmt: skip
    text = report(pages)
    emit(text, output)
    if output not in (None, "-"):
        click.echo(f"wrote {output} ({len(text.encode('utf-8')):,} bytes, "
                   f"{len(pages)} network{'s' if len(pages) > 1 else ''})", err=True)

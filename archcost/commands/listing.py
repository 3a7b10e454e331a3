"""``archcost list``: every built-in network with its variants, parameters, paper and totals."""

from __future__ import annotations

import click

from ..errors import SpecError
from ..options import format_option, output_option
from ..report import Column, emit, human, render, to_json
from ..spec import build, builtin_names, effective, resolve


def _entry(name):
    path, _ = resolve(name)
    doc = effective(path, None)
    net = build(name)
    params = {k: (float(v) if not isinstance(v, int) else v) for k, v in net.params.items()}
    return {
        "name": name,
        "title": net.title,
        "paper": net.meta.get("paper"),
        "year": net.meta.get("year"),
        "family": net.meta.get("family"),
        "variants": sorted((doc.get("variants") or {}).keys()),
        "params_defaults": params,
        "params": net.total("params"),
        "macs": net.total("macs"),
        "input": list(net.input.shape),
    }


@click.command("list")
@format_option()
@click.option("--exact", is_flag=True, help="Exact integers instead of human units.")
@output_option
def command(fmt, exact, output):
    """Built-in networks: variants (NAME:VARIANT), spec parameters, paper and totals."""
    entries = []
    for name in builtin_names():
        try:
            entries.append(_entry(name))
        except SpecError as err:  # a broken built-in is a bug worth seeing, not hiding
            raise SpecError(f"built-in network {name}: {err}") from None
    if fmt == "json":
        emit(to_json({"networks": entries}), output)
        return
    columns = [Column("name", "name", numeric=False), Column("variants", "variants", numeric=False),
               Column("parameters", "spec parameters", numeric=False),
               Column("paper", "paper", numeric=False), Column("year", "year", numeric=False),
               Column("p", "params"), Column("m", "MACs")]  # fmt: skip
    rows = []
    for e in entries:
        rows.append({**e, "variants": ", ".join(e["variants"]), "year": str(e["year"] or ""),
                     "parameters": ", ".join(f"{k}={v:g}" for k, v in e["params_defaults"].items()),
                     "p": human(e["params"], exact) if fmt == "text" else e["params"],
                     "m": human(e["macs"], exact) if fmt == "text" else e["macs"]})  # fmt: skip
    emit(render(columns, rows, fmt, title="Built-in networks (archcost table NAME[:VARIANT])",
                notes=["MACs at the default input; params are trainable weights + biases."]
                if fmt == "text" else ()), output)  # fmt: skip

"""``archcost import torch FACTORY`` and ``archcost import onnx FILE``: a spec from a model.

The spec goes to ``-o FILE`` (or stdout); a summary goes to stderr: rows, blocks, and the
round trip (the written spec's totals beside the model's own numel and FlopCounterMode / 2).
Exit 0 when the round trip is exact, 1 when it is not, 2 on a user error (an unknown op).
With ``--allow-unknown`` an unknown op is a row of type ``unknown`` instead: the summary says how
many were written, and the round trip compares params and buffers (MACs are unknown).
"""

from __future__ import annotations

import click

from ..report import emit
from ._common import Command


def _summary(text, imported, output, allow_unknown=False):
    from ..importers.run import round_trip

    check = round_trip(text, imported)
    blocks = text.count("\n    doc: ")
    where = output or "stdout"
    unknown = sum(1 for op in imported.ops if op.type == "unknown")
    lines = [f"wrote {where}: {check['rows']} rows, {blocks} block definition(s), "
             f"{len(imported.ops)} ops imported"
             + (f", {unknown} unknown row(s)" if allow_unknown else "")]  # fmt: skip
    for key, label in (("params", "params"), ("macs", "MACs"), ("buffers", "BN running stats")):
        spec, model = check[key]
        if spec is None:  # an unknown row's: not compared (archcost.unknown)
            lines.append(f"  {label:<17} spec {'unknown':>16}   model {model:>16,}   unknown "
                         f"({unknown} unknown row(s); the known rows hold "
                         f"{check['known'][key]:,})")  # fmt: skip
            continue
        verdict = "ok" if spec == model else "DIFF"
        lines.append(f"  {label:<17} spec {spec:>16,}   model {model:>16,}   {verdict}")
    for op in imported.ops:
        if op.type == "unknown":
            at = f" ({op.source})" if op.source else ""
            lines.append(f"unknown: {op.fields['op']} at {op.path}{at}: MACs unknown")
    for note in imported.notes:
        lines.append(f"note: {note}")
    click.echo("\n".join(lines), err=True)
    return 0 if check["ok"] else 1


@click.group("import")
def command():
    """Write an archcost spec from a model: a torch module or an ONNX file.

    \b
    Examples:
      archcost import torch torchvision.models:resnet50 -o resnet50.yaml
      archcost import torch models.py:Net --kwargs '{"num_classes": 10}' --input 3,32,32
      archcost import onnx model.onnx -o net.yaml
    """


@command.command("torch", cls=Command)
@click.argument("target")
@click.option("--kwargs", "kwargs_text", default=None, help="JSON object passed to the factory.")
@click.option("--input", "input_text", default="3,224,224", show_default=True,
              help="Input shape per sample, C,H,W.")  # fmt: skip
@click.option("-o", "--output", default=None, help="Write the spec here (default: stdout).")
@click.option("--flat", is_flag=True, help="One row per op, no blocks (for debugging).")
@click.option("--allow-unknown", "allow_unknown", is_flag=True,
              help="Write an op archcost has no primitive for as a row of type unknown (its "
              "output shape, params and buffers; MACs unknown, never 0) instead of failing.")
def torch_command(target, kwargs_text, input_text, output, flat, allow_unknown):
    """Trace TARGET (package.module:factory or path/file.py:Class) with torch.fx and write a
    spec whose rows follow the module hierarchy; repeated modules become blocks."""
    from ..importers.factory import parse_input, parse_kwargs
    from ..importers.run import import_torch

    text, imported = import_torch(target, parse_kwargs(kwargs_text), parse_input(input_text),
                                  flat, allow_unknown=allow_unknown)  # fmt: skip
    emit(text, output)
    click.get_current_context().exit(_summary(text, imported, output, allow_unknown))


@command.command("onnx", cls=Command)
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, help="Write the spec here (default: stdout).")
@click.option("--flat", is_flag=True, help="One row per op, no blocks.")
@click.option("--allow-unknown", "allow_unknown", is_flag=True,
              help="Write an ONNX node archcost has no primitive for as a row of type unknown "
              "(its output shape and initializers; MACs unknown, never 0) instead of failing.")
def onnx_command(path, output, flat, allow_unknown):
    """Read PATH with the onnx package (static shape inference, initializers as params) and
    write a spec."""
    from ..importers.run import import_onnx

    text, imported = import_onnx(path, flat, allow_unknown=allow_unknown)
    emit(text, output)
    click.get_current_context().exit(_summary(text, imported, output, allow_unknown))

"""``archcost verify SPEC``: build the network in torch and check the static numbers.

Per node and in total: static params == sum of the module's parameter numel, static bias and
BN buffers (running mean/var) likewise, static MACs == FlopCounterMode's convolution and matmul
FLOPs / 2 on a real forward pass at batch 1, static output shape == the real output shape
(per sample), static activations == the output numel torch wrote. The module is built from the
spec's fields and the shapes torch computes (archcost.torch_modules), never from archcost's own
shape arithmetic; where torch cannot run a node on the shapes it computed, that node is
reported as a difference. Exit 0 when everything agrees, 1 otherwise, 2 on a user error.
"""

from __future__ import annotations

import json

import click

from .. import unknown
from ..errors import SpecError
from ..options import device_option, parse_sets, printed_output, set_option, train_option
from ..safeio import rich_markup
from ._common import Command, jsonable, shape_text, torch_backend
from ._memguard import check_memory, max_memory_option


def load_network(spec, sets, train=False, resolution=None):
    """(Network, note): the spec built with ``--set`` values, at ``--resolution`` if given
    (the spec's ``resolution`` parameter; an error when it has none)."""
    from ..spec import build

    params = dict(sets)
    net = build(spec, params=params or None, train=train)
    note = None
    if resolution is not None:
        if "resolution" not in (net.meta.get("params") or {}):
            raise SpecError(f"--resolution: {net.name} has no 'resolution' parameter (its input "
                            f"is {shape_text(net.input.shape)}); use --set for its parameters")  # fmt: skip
        full = net.params["resolution"]
        params["resolution"] = str(resolution)
        net = build(spec, params=params, train=train)
        if resolution != full:
            note = (f"verified at resolution={resolution} (input {shape_text(net.input.shape)}), "
                    f"not the spec's {full}: every number below is for this input size")  # fmt: skip
    return net, note


def run_verify(net, device="cpu", fold_bn=False):
    """The whole check as a JSON-ready dict (see the command's help for the keys)."""
    backend = torch_backend()
    import torch

    dev = backend.device(device)
    common = {"network": net.name, "nodes": len(net.nodes), "input": list(net.input.shape),
              "params": jsonable(net.params), "train": net.train, "device": dev.type,
              "torch_version": torch.__version__, "batch": 1}  # fmt: skip
    if fold_bn and dev.type == "meta":
        raise SpecError("--fold-bn compares computed outputs: use --device cpu or cuda")
    try:
        model = backend.build_module(net, device=dev.type)
    except backend.BuildError as err:  # torch's shapes do not fit: a difference, not a crash
        result = backend.compare_failed(net, err)
        return {**common, "ok": False, "static": result["static"], "torch": None,
                "rows": result["rows"], "error": result["error"], "inplace_activations": 0}
    if net.train:
        model.return_aux = True  # count the training-only heads, in eval mode
    measured = backend.measure(model, net, dev)
    result = backend.compare(net, measured)
    out = {**common, "ok": result["ok"], "static": result["static"], "torch": result["torch"],
           "rows": result["rows"], "inplace_activations": sum(model.inplace.values()),
           "unchecked": result["unchecked"]}
    if fold_bn:
        backend.randomise_bn(model)
        folded_net, folded_model = backend.fold_module(model, net)
        outputs = backend.check_fold(model, folded_model, dev)
        fres = backend.compare(folded_net, backend.measure(folded_model, folded_net, dev))
        out["fold_bn"] = {"ok": fres["ok"] and outputs["ok"], "folded": len(folded_net.meta["folded_bn"]),
                          "pairs": folded_net.meta["folded_bn"], "static": fres["static"],
                          "torch": fres["torch"], "rows": fres["rows"], "outputs": outputs}  # fmt: skip
        out["ok"] = out["ok"] and out["fold_bn"]["ok"]
    return out


def _cell(static, real, fmt=lambda v: f"{v:,}"):
    if real is None and static is not None:
        return f"{fmt(static)} -> -"
    if static == real:
        return fmt(static)
    shown = fmt(real) if real is not None else "missing"
    return f"[red]{fmt(static)} -> {shown}[/red]"


def _rows_table(title, rows, show_all):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name, justify in (("node", "left"), ("op", "left"), ("params", "right"),
                          ("buffers", "right"), ("MACs", "right"), ("shape", "right"),
                          ("", "center")):  # fmt: skip
        table.add_column(name, justify=justify, no_wrap=name != "node")
    shown = 0
    for row in rows:
        if row["ok"] and not show_all:
            continue
        shown += 1
        s, t = row["static"], row["torch"] or {}
        if not row["ok"] and "params" not in t:  # torch failed here, or never got here
            what = t.get("error") or ", ".join(row["differs"])
            shape = _cell(s["shape"], t.get("shape"), shape_text) if "shape" in t else "-"
            table.add_row(rich_markup(row["node"]), row["op"], "-", "-", "-", shape,
                          f"[red]{rich_markup(what)}[/red]")
            continue
        table.add_row(rich_markup(row["node"]), row["op"], _cell(s["params"], t.get("params")),
                      _cell(s["buffers"], t.get("buffers")), _cell(s["macs"], t.get("macs")),
                      _cell(s["shape"], t.get("shape"), shape_text),
                      "[green]ok[/green]" if row["ok"] else "[red]DIFF[/red]")  # fmt: skip
    return table, shown


def _totals_table(static, real):
    from rich.table import Table

    table = Table(show_header=True, box=None, padding=(0, 2))
    for name in ("total", "static", "torch", ""):
        table.add_column(name, justify="left" if name == "total" else "right")
    for key, label in (("params", "params (numel)"), ("macs", "MACs (FLOPs/2)"),
                       ("buffers", "BN running stats"),
                       ("activations", "activations (output numel)")):  # fmt: skip
        same = static[key] == real[key]
        table.add_row(label, f"{static[key]:,}", f"{real[key]:,}",
                      "[green]ok[/green]" if same else "[red]DIFF[/red]")  # fmt: skip
    return table


def print_text(out, note, show_all):
    from rich.console import Console
    from rich.markup import escape as rich_escape

    console = Console(highlight=False)
    train = ", with training-only rows" if out["train"] else ""
    console.print(f"[bold]{rich_markup(out['network'])}[/bold]: static vs torch {out['torch_version']} "
                  f"({out['device']}, batch 1, input {shape_text(out['input'])}{train}, "
                  f"{out['nodes']} nodes)")  # fmt: skip
    if note:
        console.print(f"[yellow]note:[/yellow] {rich_markup(note)}")
    table, shown = _rows_table("nodes that differ" if not show_all else "all nodes",
                               out["rows"], show_all)  # fmt: skip
    if shown:
        console.print(table)
    if out["torch"] is None:
        console.print(f"[red]FAILED[/red]: torch could not run the network: "
                      f"{rich_escape(out['error'])}")  # fmt: skip
        return
    console.print(_totals_table(out["static"], out["torch"]))
    if out.get("unchecked"):
        console.print(f"[yellow]not checked by torch[/yellow]: {len(out['unchecked'])} "
                      "user-defined primitive node(s) (their counts are the spec's own "
                      "expressions; left out of the totals above): "
                      + rich_escape(", ".join(out["unchecked"][:5]))
                      + (" ..." if len(out["unchecked"]) > 5 else ""))  # fmt: skip
    counters = out["torch"]["num_batches_tracked"]
    if counters:
        console.print(f"torch also holds {counters} BN num_batches_tracked counter(s) (int64 "
                      "step counters, not statistics): not counted as buffers")  # fmt: skip
    if out["torch"]["other_flops"]:
        console.print(f"[yellow]FlopCounterMode also counted {out['torch']['other_flops']:,} "
                      "FLOPs outside convolution/matmul (not MACs)[/yellow]")  # fmt: skip
    fold = out.get("fold_bn")
    if fold is not None:
        console.print(f"\n[bold]BN folded[/bold]: {fold['folded']} conv/linear layer(s) absorb "
                      "the BN after them")  # fmt: skip
        table, shown = _rows_table("folded nodes that differ" if not show_all else
                                   "all folded nodes", fold["rows"], show_all)  # fmt: skip
        if shown:
            console.print(table)
        console.print(_totals_table(fold["static"], fold["torch"]))
        o = fold["outputs"]
        verdict = "[green]agree[/green]" if o["ok"] else "[red]DIFFER[/red]"
        console.print(f"outputs folded vs unfolded (eval, float32, random BN statistics): "
                      f"{verdict}; max |diff| {o['max_abs_diff']:.3g} = "
                      f"{o['max_diff_over_max_output']:.3g} x max |output| "
                      f"(tolerance {o['atol_relative_to_max']:g} x max + {o['rtol']:g} x |output|)")  # fmt: skip
    if out["ok"]:
        console.print(f"[green]OK[/green]: static params, buffers, MACs, shapes and activations "
                      f"equal torch's for all {out['nodes']} nodes")  # fmt: skip
    else:
        bad = sum(not r["ok"] for r in out["rows"])
        bad += sum(not r["ok"] for r in (fold or {}).get("rows", []))
        console.print(f"[red]FAILED[/red]: {bad} node(s) differ"
                      + ("" if bad else " (totals or outputs differ)"))  # fmt: skip


@click.command("verify", cls=Command)
@click.argument("spec")
@device_option(("cpu", "cuda", "meta"),
               help="meta: torch's shapes and FLOP counts without computing anything (any size "
                    "in seconds; not with --fold-bn).")  # fmt: skip
@printed_output(native=("text", "json"), records="rows",
                progress="verify: building the torch module, counting its FLOPs")
@click.option(
    "--all", "show_all", is_flag=True, help="List every node, not only those that differ."
)
@train_option
@set_option
@click.option(
    "--resolution",
    type=click.IntRange(1),
    default=None,
    help="Verify at this value of the spec's 'resolution' parameter (faster on CPU).",
)
@click.option(
    "--fold-bn",
    is_flag=True,
    help="Also fold BN into conv/linear weights and check outputs and folded counts.",
)
@click.option("--against", default=None, metavar="MODEL",
              help="Compare with a model archcost did not build: package.module:factory, "
                   "file.py:Class or model.onnx (totals and weight layers in order).")
@click.option("--kwargs", "kwargs_text", default=None, help="JSON object for --against's factory.")
@max_memory_option
def command(spec, device, fmt, show_all, train, sets, resolution, fold_bn, against, kwargs_text,
            max_memory):  # fmt: skip
    """Check SPEC's static params, MACs and shapes against a real torch module.

    Per node and in total: params = sum of parameter numel; BN buffers = running mean and
    variance (num_batches_tracked reported apart); MACs = FlopCounterMode convolution and
    matmul FLOPs / 2 on one forward pass at batch 1; output shape = the real one. Exit 0 when
    all agree, 1 otherwise. JSON: {network, ok, static: {params, macs, buffers}, torch: {...},
    rows: [...]}; rows are the differing nodes (all with --all).
    """
    if against is not None:  # archcost/against.py: the spec beside an independent model
        from ..against import run_command

        return run_command(spec, against, kwargs_text, parse_sets(sets), train, fmt)
    torch_backend()  # fail early, before building, when torch is missing
    net, note = load_network(spec, parse_sets(sets), train, resolution)
    unknown.refuse(net, "be verified")  # exit 2: counts that are unknown prove nothing
    check_memory(net, 1, 4, max_memory, copies=2 if fold_bn else 1)
    out = run_verify(net, device, fold_bn)
    out["note"] = note
    if not show_all:
        out["rows"] = [r for r in out["rows"] if not r["ok"]]
        if "fold_bn" in out:
            out["fold_bn"]["rows"] = [r for r in out["fold_bn"]["rows"] if not r["ok"]]
    if fmt == "json":
        click.echo(json.dumps(jsonable(out), indent=2))
    else:
        print_text(out, note, show_all)
    click.get_current_context().exit(0 if out["ok"] else 1)

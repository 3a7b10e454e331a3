"""``archcost memory SPEC``: activation memory per row, the inference peak, training memory."""

from __future__ import annotations

import click

from .. import unknown
from ..layers import fmt_shape
from ..memory import (
    DEVICES,
    FRAMEWORKS,
    OPTIMIZER_COPIES,
    WORKSPACES,
    graph_index,
    inference,
    peak_assumptions,
    training,
)
from ..options import (
    DTYPE_BYTES,
    batch_option,
    device_option,
    dtype_option,
    fold_bn_option,
    format_option,
    maybe_fold,
    output_option,
    parse_sets,
    resolution_option,
    set_option,
    train_option,
)
from ..report import Column, emit, human, human_bytes, render, to_json
from ..shapes import layout_record
from ..spec import build
from ..yamlio import gc_paused

NOT_MODELLED = (
    "not modelled: the CUDA context, cached but free allocator blocks and fragmentation; "
    "cuDNN workspaces only with --workspace cudnn (oneDNN's CPU reorder copies are modelled); "
    "CUDA sizes are rounded up to the caching allocator's 512-byte blocks"
)


def memory_json(net, batch, dtype, device, optimizer, expand, framework="torch-eager",
                autocast=False, workspace="none") -> dict:
    index = graph_index(net)  # read once for both passes
    live = inference(net, batch, dtype, device, framework=framework, autocast=autocast,
                     workspace=workspace, index=index)  # fmt: skip
    unknowns = unknown.unknown_nodes(net)  # their training costs are unknown: all are
    train = unknown.no_training(live) if unknowns else training(net, batch, dtype, device,
                                                                 optimizer, index=index)  # fmt: skip
    # a user primitive (custom) that needs a gradient: what it saves for backward is unknown
    custom = [] if train.peak_bytes is not None else [n for n in net.nodes if n.op == "custom"]
    if custom:
        train = unknown.no_training(live)
    totals = net.totals()
    nbytes = DTYPE_BYTES[dtype]
    records = []
    if expand:
        for lrec, trec in zip(live.nodes, train.nodes, strict=True):
            node = lrec.node
            records.append({
                "name": node.id, "type": node.op, "output": list(node.shape),
                **layout_record(node.shape),
                "row": node.row.id if node.row is not None else None,
                "activation_bytes": node.activations * batch * nbytes,
                "alloc_bytes": lrec.alloc_bytes, "transient_bytes": lrec.transient_bytes,
                "live_bytes": lrec.live_bytes, "in_place": lrec.in_place,
                "saved_bytes": trec.saved_bytes, "train_live_bytes": trec.live_bytes,
                "backward_live_bytes": trec.backward_live_bytes,
                "backward_macs": trec.backward_macs,
                "train_only": bool(node.row and node.row.train_only),
            })  # fmt: skip
    else:
        by_row: dict = {}
        for lrec, trec in zip(live.nodes, train.nodes, strict=True):
            row = lrec.node.row
            rec = by_row.get(row.id)
            if rec is None:
                rec = by_row[row.id] = {
                    "name": row.id, "type": row.type, "output": list(row.shape),
                    **layout_record(row.shape),
                    "activation_bytes": row.activations * batch * nbytes, "alloc_bytes": 0,
                    "transient_bytes": 0, "live_bytes": 0, "saved_bytes": 0,
                    "train_live_bytes": 0, "backward_live_bytes": 0, "backward_macs": 0,
                    "train_only": row.train_only,
                }  # fmt: skip
            rec["alloc_bytes"] += lrec.alloc_bytes
            rec["transient_bytes"] = max(rec["transient_bytes"], lrec.transient_bytes)
            rec["live_bytes"] = max(rec["live_bytes"], lrec.live_bytes)
            rec["saved_bytes"] += trec.saved_bytes
            rec["train_live_bytes"] = max(rec["train_live_bytes"], trec.live_bytes)
            rec["backward_live_bytes"] = max(rec["backward_live_bytes"], trec.backward_live_bytes)
            rec["backward_macs"] += trec.backward_macs
        records = list(by_row.values())
    data = {
        "network": net.name,
        "title": net.title,
        "batch": batch,
        "dtype": dtype,
        "device": device,
        "framework": framework,
        "autocast": autocast,
        "workspace": workspace,
        "peak_assumptions": peak_assumptions(device),
        "train": net.train,
        "params": totals["params"],
        "weights_bytes": live.weights_bytes,
        "buffers_bytes": live.buffers_bytes,
        "input_bytes": live.input_bytes,
        "output_bytes": live.output_bytes,
        "peak_activation_bytes": live.peak_bytes,
        "peak_layer": live.peak_layer,
        "peak_node": live.peak_node.id,
        "inference_bytes": live.total_bytes,
        "saved_bytes": train.saved_bytes,
        "backward_macs": train.backward_macs,
        "macs": totals["macs"],
        "layers": records,
        "not_modelled": NOT_MODELLED,
    }
    if unknowns or custom:
        unknown.blank(records)
        data["unknown_rows"] = [n.id for n in unknowns or custom]
        data["unknown_note"] = unknown.note(net, ("params", "buffers")) or ""
        data["unknown_note"] += ("; the inference peak counts each unknown op's output (known "
                                 "from its shape) but not what it allocates while it runs; "
                                 "training memory and backward MACs are unknown (what an "
                                 "unknown op saves for backward is not known)")  # fmt: skip
        if custom:
            names = ", ".join(f"'{n.id}'" for n in custom)
            data["unknown_note"] = ("training memory and backward MACs are unknown: what the "
                                    f"user primitive (custom) rows {names} save for backward "
                                    "is not known (archcost.memory)")
    if net.train:
        data["training_bytes"] = train.peak_bytes
        data["training"] = {
            "optimizer": optimizer,
            "weights_bytes": train.weights_bytes,
            "buffers_bytes": train.buffers_bytes,
            "gradient_bytes": train.gradient_bytes,
            "optimizer_bytes": train.optimizer_bytes,
            "optimizer_temp_bytes": train.optimizer_temp_bytes,
            "saved_bytes": train.saved_bytes,
            "forward_peak_bytes": train.forward_peak_bytes,
            "peak_bytes": train.peak_bytes,
            "peak_phase": train.peak_phase,
            "peak_layer": train.peak_layer,
            "peak_node": train.peak_node.id if train.peak_node is not None else None,
        }
    return data


def render_memory(data, fmt) -> str:
    train = data["train"]
    exact = fmt == "csv"
    size = (lambda n: n) if exact else _remembered(human_bytes)
    shape_text = _remembered(lambda key: fmt_shape(*key))
    macs_text = _remembered(human)
    columns = [Column("name", "layer", numeric=False), Column("out", "output", numeric=False),
               Column("act", "activations"), Column("live", "live")]  # fmt: skip
    if train:
        columns += [Column("tlive", "train fwd live"), Column("blive", "backward live")]
    columns += [Column("saved", "saved for bwd"), Column("bmacs", "bwd MACs/sample")]
    rows = []
    for rec in data["layers"]:
        row = {"name": rec["name"] + (" (train)" if rec["train_only"] else ""),
               "out": shape_text((tuple(rec["output"]), rec.get("layout"))),
               "act": size(rec["activation_bytes"]),
               "live": size(rec["live_bytes"]), "tlive": size(rec["train_live_bytes"]),
               "blive": size(rec["backward_live_bytes"]), "saved": size(rec["saved_bytes"]),
               "bmacs": rec["backward_macs"] if exact else macs_text(rec["backward_macs"])}  # fmt: skip
        if rec["name"] in (data["peak_layer"], data["peak_node"]):
            row["name"] += "  <- peak"
            row["_style"] = "bold"
        elif rec["train_only"]:
            row["_style"] = "dim"
        rows.append(row)
    footer = {"name": "total / peak", "live": size(data["peak_activation_bytes"]),
              "saved": size(data["saved_bytes"]),
              "bmacs": data["backward_macs"] if exact else human(data["backward_macs"])}  # fmt: skip
    notes = []
    if fmt in ("text", "md"):
        hb = human_bytes
        notes = [
            f"{data['title']}: batch {data['batch']}, {data['dtype']}, {data['device']} allocator "
            f"model. weights {hb(data['weights_bytes'])} ({unknown.fmt(data['params'])} params)"
            + (f", BN buffers {hb(data['buffers_bytes'])}" if data["buffers_bytes"] else ""),
            f"peak activations {hb(data['peak_activation_bytes'])} at '{data['peak_layer']}' "
            f"(node {data['peak_node']}), including the input {hb(data['input_bytes'])}; "
            f"inference total = weights + buffers + peak = {hb(data['inference_bytes'])}",
            "live = bytes alive while the row runs: tensors made earlier and still to be read, "
            "its outputs and transient buffers (max-pool indices, LRN temporaries). In-place "
            "activations, dropout and flatten allocate nothing; concat copies.",
        ]
        if train and data["training"]["peak_bytes"] is None:
            notes.append(f"training ({data['training']['optimizer']}): unknown: "
                         f"{len(data['unknown_rows'])} unknown row(s) (archcost.unknown)")
        elif train:
            t = data["training"]
            notes.append(
                f"training ({t['optimizer']}): weights {hb(t['weights_bytes'])} + gradients "
                f"{hb(t['gradient_bytes'])} + optimizer state {hb(t['optimizer_bytes'])}; "
                f"saved for backward {hb(t['saved_bytes'])}; peak {hb(t['peak_bytes'])} in "
                f"{t['peak_phase']} at '{t['peak_layer']}'; backward "
                f"{unknown.fmt(data['backward_macs'])} MACs/sample (forward "
                f"{unknown.fmt(data['macs'])})")
        notes.append(data["not_modelled"])
        if data.get("unknown_note"):
            notes.append(data["unknown_note"])
    title = f"{data['title']} ({data['network']}): memory"
    return render(columns, rows, fmt, title=title, footer=footer, notes=notes)


def _remembered(fn):
    """``fn`` with its results kept by argument (a table of 100,000 layers shows a few
    distinct sizes and shapes)."""
    memo: dict = {}

    def call(arg):
        text = memo.get(arg)
        if text is None:
            text = memo[arg] = fn(arg)
        return text

    return call


@click.command("memory")
@click.argument("spec")
@format_option()
@batch_option
@dtype_option
@train_option
@click.option("--optimizer", type=click.Choice(sorted(OPTIMIZER_COPIES)), default="adam",
              show_default=True, help="Optimizer state with --train: sgd 0, momentum 1, adam 2 "
              "copies of the parameters.")  # fmt: skip
@device_option(DEVICES, help="Whose allocations to model: cpu (oneDNN convolutions hold a "
               "reordered copy) or cuda (512-byte blocks).")  # fmt: skip
@click.option("--framework", type=click.Choice(FRAMEWORKS), default="torch-eager",
              show_default=True, help="torch-eager: a module's input lives until the module "
              "returns (how eager PyTorch runs nested modules); ideal: every tensor freed after "
              "its last reader.")  # fmt: skip
@click.option("--autocast", is_flag=True,
              help="torch.autocast to --dtype: float32 weights, plus the cast cache's "
              "low-precision copy of each conv/linear weight for the whole pass.")  # fmt: skip
@click.option("--workspace", type=click.Choice(WORKSPACES), default="none", show_default=True,
              help="cudnn: add a workspace of input + output bytes to float32 k x k "
              "convolutions on CUDA (FFT/Winograd algorithms; a bound).")  # fmt: skip
@click.option("--expand", is_flag=True, help="One row per primitive layer.")
@set_option
@resolution_option
@fold_bn_option
@output_option
def command(spec, fmt, batch, dtype, train, optimizer, device, framework, autocast, workspace,
            expand, sets, fold_bn, output):  # fmt: skip
    """Activation memory of SPEC: bytes per layer, live bytes at each layer, the inference
    peak (weights + peak activations) and, with --train, training memory (weights, gradients,
    optimizer state, tensors saved for backward, peak during backward) and backward MACs.
    """
    net = maybe_fold(build(spec, params=parse_sets(sets) or None, train=train), fold_bn)
    if autocast and dtype not in ("bfloat16", "float16"):
        raise click.UsageError("--autocast needs --dtype bfloat16 or float16")
    with gc_paused():  # a large network's records are many small objects that all stay alive
        data = memory_json(net, batch, dtype, device, optimizer, expand, framework, autocast,
                           workspace)  # fmt: skip
        text = to_json(data) if fmt == "json" else render_memory(data, fmt)
    emit(text, output)

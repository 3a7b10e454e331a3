"""Import end to end: the model -> ops -> spec text, and the round-trip check of that text.

The check builds the written spec with archcost's static engine and compares its totals with
the model's own: params with ``sum(p.numel())`` over unique parameters, MACs with
FlopCounterMode's FLOPs / 2 (ONNX: initializer sizes and the MACs of the graph's Conv, Gemm and
MatMul nodes from their inferred shapes), BN running statistics with the model's buffers.
With ``allow_unknown`` an op archcost has no primitive for is a row of type ``unknown``
(:mod:`.unknown_ops`); the spec's MACs are then unknown and the check compares params and
buffers only, saying so (:mod:`archcost.unknown`).
"""

from __future__ import annotations

import os

from ..errors import SpecError
from .ir import Imported
from .writer import write_spec


def _need(module: str, extra: str):
    import importlib

    try:
        importlib.import_module(module)
    except ImportError:
        raise SpecError(f"{module} is not installed; pip install 'archcost[{extra}]'") from None


def import_torch(target, kwargs=None, input_shape=(3, 224, 224), flat=False, title=None,
                 allow_unknown=False):  # fmt: skip
    """(spec text, Imported) for a factory ``pkg.mod:fn`` / ``file.py:Net`` or an nn.Module;
    ``allow_unknown``: an op with no primitive is a row of type unknown, not an error."""
    _need("torch", "torch")
    import torch

    from . import torch_fx
    from .factory import build_model

    if isinstance(target, torch.nn.Module):
        model, source = target.eval(), type(target).__name__
    else:
        model, source = build_model(target, kwargs), str(target)
    imported = torch_fx.trace(model, tuple(input_shape), source, allow_unknown=allow_unknown)
    header = [f"Imported by archcost from {source} (torch {torch.__version__}, torch.fx).",
              *_count_lines(imported, "sum of numel", "FlopCounterMode FLOPs / 2")]  # fmt: skip
    return write_spec(imported, flat, title or source.rsplit(":", 1)[-1], header), imported


def import_onnx(path, flat=False, title=None, allow_unknown=False):
    """(spec text, Imported) for an ONNX file (``allow_unknown`` as for :func:`import_torch`)."""
    _need("onnx", "import")
    from . import onnx as onnx_import

    imported = onnx_import.read(path, allow_unknown=allow_unknown)
    header = [f"Imported by archcost from {os.path.basename(path)} (ONNX, static shape inference).",
              *_count_lines(imported, "initializer elements", "Conv/ConvTranspose/Gemm/MatMul MACs")]  # fmt: skip
    title = title or os.path.splitext(os.path.basename(path))[0]
    return write_spec(imported, flat, title, header), imported


def _count_lines(imp: Imported, params_how, macs_how):
    shape = "x".join(str(d) for d in imp.input)
    lines = [f"The model holds {imp.params:,} params ({params_how}) and {imp.buffers:,} BN "
             f"running statistics; {imp.macs:,} MACs ({macs_how}) at input {shape}."]  # fmt: skip
    lines += [f"note: {n}" for n in imp.notes]
    unknown = unknown_ops(imp)
    if unknown:
        lines.append(f"note: {len(unknown)} op(s) archcost has no primitive for are rows of type "
                     "unknown (--allow-unknown): their MACs and other ops are unknown, and so "
                     "are the totals of those (archcost.unknown)")  # fmt: skip
    return lines


def unknown_ops(imp: Imported) -> list:
    """The imported ops of type unknown."""
    return [op for op in imp.ops if op.type == "unknown"]


def round_trip(text: str, imported: Imported) -> dict:
    """Build the spec text and compare its totals with the model's: {quantity: (spec, model)}."""
    from ..spec import build_text

    net = build_text(text, prefix="archcost-import-")
    totals = net.totals()
    out = {"params": (totals["params"], imported.params), "macs": (totals["macs"], imported.macs),
           "buffers": (totals["buffers"], imported.buffers)}  # fmt: skip
    # a quantity the spec leaves unknown (an unknown row's MACs) is not compared; the rest is
    out["unknown"] = [q for q, (a, _b) in out.items() if a is None]
    out["ok"] = all(a == b for a, b in (out[q] for q in ("params", "macs", "buffers"))
                    if a is not None)  # fmt: skip
    out["rows"] = len(net.rows)
    out["nodes"] = len(net.nodes)
    out["unknown_rows"] = sum(1 for n in net.nodes if n.op == "unknown")
    out["known"] = {q: sum(getattr(n, q) or 0 for n in net.nodes) for q in out["unknown"]}
    return out

"""``--allow-unknown``: an op archcost has no primitive for, recorded as a row of type
``unknown`` instead of an error (:class:`~archcost.importers.ir.UnknownOp`).

The row keeps what the model says for certain: the op's name, its output shape per sample (so
the layers after it still count), the module path and the source line (a comment in the spec),
and the parameters and buffers it holds, counted by identity as everywhere in the import
(a parameter already counted at an earlier op is not counted again). Its MACs and other ops
stay unknown: the spec's totals of them are unknown (:mod:`archcost.unknown`), never 0.

Where the op's output is not one tensor of a known shape there is nothing to write: the error
stays, saying so.
"""

from __future__ import annotations

from ..errors import SpecError
from .ir import Op, UnknownOp, unknown_fields


def _cannot(err: UnknownOp, why: str) -> SpecError:
    return SpecError(f"{err.plain}; --allow-unknown cannot record it: {why}")


# ---------------------------------------------------------------- torch


def torch_before(conv, node):
    """What an unknown row of ``node`` needs from before its conversion was tried: the number
    of ops so far and, for a module call, which of its parameters were counted already."""
    held = None
    if node.op == "call_module":
        mod = conv.gm.get_submodule(node.target)
        held = {id(p) for p in mod.parameters() if id(p) in conv.param_ids}
    return len(conv.ops), held


def torch_op_name(conv, node) -> str:
    """``torch.cumsum``, ``Tensor.cumsum`` or the module's class (``nn.Unfold``,
    ``mypkg.models.Odd``): the name the row's ``op`` field carries."""
    from .torch_fx import _name

    if node.op == "call_module":
        cls = type(conv.gm.get_submodule(node.target))
        mod = cls.__module__ or ""
        if mod.startswith("torch.nn.modules"):
            return f"nn.{cls.__name__}"
        return f"{mod}.{cls.__name__}" if mod else cls.__name__
    name = _name(node)
    if node.op == "call_method":
        return f"Tensor.{name}"
    mod = getattr(node.target, "__module__", None) or ""
    if mod in ("torch", "torch.functional", "torch._C._VariableFunctions") or not mod:
        return f"torch.{name}"
    if mod.startswith("torch.nn.functional"):
        return f"F.{name}"
    if mod == "_operator":  # x * 2.0, x @ y: Python's operators
        return f"operator.{name}"
    return f"{mod}.{name}"


def torch_unknown(conv, node, err: UnknownOp, before):
    """The unknown row for fx ``node`` whose conversion raised ``err``; its output tensor."""
    from torch import fx

    from .torch_fx import _T, _Attr, _flat_args, _Parts, _View

    n_ops, held = before
    del conv.ops[n_ops:]  # anything the failed conversion emitted
    inputs, params, buffers = [], 0, 0
    for arg in _flat_args(node):
        value = conv.env.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _View):
            value = conv.materialize(node, value)
        if isinstance(value, _T):
            if all(value.src != t.src for t in inputs):
                inputs.append(value)
        elif isinstance(value, _Attr):  # a learned tensor the op reads directly
            if value.is_param:
                params += conv.count(value.tensor)
            else:
                buffers += value.tensor.numel()
        elif isinstance(value, _Parts):
            raise _cannot(err, "it reads the pieces of a split tensor as one argument")
    if node.op == "call_module":
        mod = conv.gm.get_submodule(node.target)
        for p in mod.parameters():
            if id(p) not in held:
                conv.param_ids.add(id(p))
                params += p.numel()
        buffers += sum(b.numel() for name, b in mod.named_buffers()
                       if not name.endswith("num_batches_tracked"))  # fmt: skip
    bdim = inputs[0].bdim if inputs else 0
    shape = conv.shape(node, bdim)
    if shape is None:
        raise _cannot(err, "its output is not one tensor of a known shape")
    if not shape:
        raise _cannot(err, "its output is a scalar per sample")
    last = bool(inputs) and inputs[0].last and len(shape) == len(inputs[0].shape)
    name = node.target.rsplit(".", 1)[-1] if node.op == "call_module" else None
    fields = unknown_fields(torch_op_name(conv, node), shape, last, params, buffers)
    out = conv.emit(node, "unknown", fields, inputs, name=name or fields["op"].rsplit(".")[-1],
                    shape=tuple(shape), params=params, last=last)  # fmt: skip
    conv.ops[-1].reason = err.what
    return out


# ---------------------------------------------------------------- ONNX


def onnx_before(reader, node):
    """The initializers ``node`` reads that no earlier op has counted: its params if it turns
    out unknown (ONNX does not say which initializers are trainable; archcost's ONNX import
    counts every initializer a layer reads as params, BN statistics aside)."""
    used = reader.params_used | reader.buffers_used
    return len(reader.ops), [i for i in node.input if i in reader.inits and i not in used
                             and reader.canon.get(i, i) not in used]  # fmt: skip


def onnx_unknown(reader, node, err: UnknownOp, before):
    """The unknown row for ONNX ``node`` whose conversion raised ``err``."""
    n_ops, fresh = before
    del reader.ops[n_ops:]
    out = node.output[0] if node.output else ""
    full = reader.shape(out)
    if full is None or None in full[1:] or len(full) < 2:
        raise _cannot(err, "shape inference gives no shape per sample for its output")
    if any(o for o in node.output[1:] if o):
        used = {i for n in reader.graph.node for i in n.input}
        if any(o in used for o in node.output[1:] if o):
            raise _cannot(err, "a later node reads its second output")
    sizes = {}
    for name in fresh:
        key = reader.canon.get(name, name)
        if key not in sizes:
            n = 1
            for d in reader.inits[name]:
                n *= d
            sizes[key] = n
    reader.params_used.update(fresh)
    shape = tuple(full[1:])
    tokens = len(shape) == 2 and reader.shape("input") is not None and \
        len(reader.shape("input")) == 3  # fmt: skip
    fields = unknown_fields(f"ONNX {node.op_type}", shape, tokens, sum(sizes.values()), 0)
    ins = reader.tensor_inputs(node)
    chain, leaf, _ = reader.where(node)
    from .onnx import _name_path

    short = node.op_type.lower()
    scope = chain[-1].path if chain else _name_path(node.name or "")
    path = leaf or (f"{scope}.{short}" if scope else short)
    op = Op(out, "unknown", fields, [reader.src(i) for i in ins], shape,
            path.rsplit(".", 1)[-1], path, chain, node.name or "", sum(sizes.values()))  # fmt: skip
    op.reason = err.what
    reader.ops.append(op)
    return op

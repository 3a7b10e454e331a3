"""A torch ``nn.Module`` as archcost primitives, traced with torch.fx.

``torch.fx.symbolic_trace`` gives the call graph with each call's module path
(``node.meta['nn_module_stack']``) and source line (``record_stack_traces``); ``ShapeProp``
runs it once on a zero input of batch 1 to give every tensor's shape. Each call is mapped to
one archcost primitive with the fields the module holds (``nn.Conv2d`` -> ``conv`` with
``out, k, s, p, d, g, bias``), so the spec's counts come from archcost's own formulas and can
be compared with the model's ``numel`` and FlopCounterMode. Views and copies that only move
data (``view``, ``reshape``, ``transpose``, ``contiguous``, a channel shuffle) are followed to
the tensor they came from: they cost nothing in archcost's conventions, and a chain that ends
in the shape it started from is the identity.

An op with no archcost primitive is an error naming the op, the module path and the source
line (:func:`~archcost.importers.ir.unknown_op`), never a silent zero.
"""

from __future__ import annotations

import inspect
import operator
import os

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import SpecError
from .ir import Imported, Op, Scope, unknown_op

ACTIVATION_MODULES = {nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu",
                      nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Hardswish: "hardswish",
                      nn.Hardsigmoid: "hardsigmoid", nn.SiLU: "silu", nn.GELU: "gelu",
                      nn.ELU: "elu"}  # fmt: skip
ACTIVATION_FUNCTIONS = {F.relu: "relu", torch.relu: "relu", F.relu_: "relu", torch.relu_: "relu",
                        F.relu6: "relu6", F.leaky_relu: "leaky_relu", torch.sigmoid: "sigmoid",
                        F.sigmoid: "sigmoid", torch.tanh: "tanh", F.tanh: "tanh",
                        F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid",
                        F.silu: "silu", F.gelu: "gelu", F.elu: "elu"}  # fmt: skip
ACTIVATION_METHODS = {"relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid",
                      "tanh": "tanh", "tanh_": "tanh"}  # fmt: skip
VIEW_METHODS = {"view", "reshape", "transpose", "permute", "contiguous", "flatten", "squeeze",
                "unsqueeze", "view_as", "reshape_as", "clone", "detach"}  # fmt: skip
VIEW_FUNCTIONS = {torch.flatten, torch.reshape, torch.transpose, torch.permute, torch.squeeze,
                  torch.unsqueeze, torch.clone}  # fmt: skip
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
TORCH_DIR = os.path.dirname(torch.__file__)
OWN_DIR = os.path.dirname(os.path.abspath(__file__))


class _T:
    """A tensor the graph holds: the op it equals (``src``), its shape per sample, and whether
    its features are on the last axis (tokens (L, D), as nn.Linear and nn.LayerNorm read
    them) rather than first (the (C, H, W) maps of conv, BN and pools)."""

    __slots__ = ("src", "shape", "last")

    def __init__(self, src, shape, last=False):
        self.src = src
        self.shape = shape
        self.last = last


class _Pair:
    """What nn.MultiheadAttention returns: (output, weights); only the output is followed."""

    def __init__(self, first):
        self.first = first


class _Parts:
    """The tuple ``chunk``/``split`` returns: channel ranges of one source tensor."""

    def __init__(self, src, ranges, shape):
        self.src = src
        self.ranges = ranges
        self.shape = shape


def _pair(v):
    if isinstance(v, (tuple, list)):
        return v[0] if len(v) == 2 and v[0] == v[1] else [int(x) for x in v]
    return int(v)


def _source(node) -> str:
    """file:line of the innermost frame of the user's code that made this node."""
    trace = node.stack_trace or ""
    best = ""
    for line in trace.splitlines():
        line = line.strip()
        if not line.startswith("File "):
            continue
        try:
            path = line.split('"')[1]
            number = line.split(", line ")[1].split(",")[0]
        except IndexError:
            continue
        if not path.startswith((TORCH_DIR, OWN_DIR)):
            best = f"{path}:{number}"
    return best


class _Converter:
    def __init__(self, gm, model):
        self.gm = gm
        self.ops: list[Op] = []
        self.env: dict = {}
        self.scopes: dict = {}
        self.param_ids: set = set()
        self.shared: list = []
        self.modules = dict(model.named_modules())

    # ------------------------------------------------------------- helpers
    def scope_chain(self, node, leaf: bool):
        stack = list((node.meta.get("nn_module_stack") or {}).items())
        if leaf and stack:
            stack = stack[:-1]
        chain = []
        for key, (path, cls) in stack:
            scope = self.scopes.get(key)
            if scope is None:
                mod = self.modules.get(path)
                scope = Scope(path, cls.__name__, isinstance(mod, CONTAINERS) and
                              type(mod) in CONTAINERS)  # fmt: skip
                self.scopes[key] = scope
            chain.append(scope)
        return chain

    def shape(self, node):
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            return None
        return tuple(int(d) for d in meta.shape[1:])

    def tensor(self, arg, node, what) -> _T:
        value = self.env.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _View):
            return self.materialize(node, value)
        if not isinstance(value, _T):
            self.fail(node, what)
        return value

    def fail(self, node, what):
        chain = self.scope_chain(node, node.op == "call_module")
        path = node.target if node.op == "call_module" else (chain[-1].path if chain else "")
        raise unknown_op(what, path, _source(node))

    def emit(self, node, type_, fields, inputs, name=None, shape=None, params=0, last=None):
        leaf = node.op == "call_module"
        chain = self.scope_chain(node, leaf)
        if leaf and name != "reshape":
            path = node.target
            short = path.rsplit(".", 1)[-1]
        else:
            short = name or type_
            path = f"{chain[-1].path}.{short}" if chain and chain[-1].path else short
        op_id = f"{node.name}" if not self.ops or self.ops[-1].id != node.name else node.name + "+"
        shape = shape if shape is not None else self.shape(node)
        op = Op(op_id, type_, fields, [t.src for t in inputs], shape, short, path, chain,
                _source(node), params)  # fmt: skip
        self.ops.append(op)
        if last is None:  # elementwise ops keep their input's layout
            last = bool(inputs) and inputs[0].last and len(shape or ()) == len(inputs[0].shape)
        return _T(op_id, shape, last)

    def module_params(self, mod, node):
        """Parameter elements this call adds, each tensor counted once by identity; and the
        names of those it shares with an earlier call (a module called twice, tied weights)."""
        total = 0
        repeated = []
        for name, p in mod.named_parameters(recurse=True):
            if id(p) in self.param_ids:
                repeated.append(name)
                continue
            self.param_ids.add(id(p))
            total += p.numel()
        if repeated and not (isinstance(mod, nn.Linear) and repeated == ["weight"]):
            self.shared.append((node.target, _source(node)))
        return total, repeated

    # ------------------------------------------------------------- walk
    def run(self, input_shape):
        output = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if self.env:
                    raise SpecError("import: the model's forward takes more than one input; "
                                    "archcost specs have one input")  # fmt: skip
                self.env[node] = _T("input", tuple(input_shape), len(input_shape) == 2)
            elif node.op == "get_attr":
                self.env[node] = None  # a parameter or buffer used directly: checked at use
            elif node.op == "call_module":
                self.env[node] = self.call_module(node)
            elif node.op in ("call_function", "call_method"):
                self.env[node] = self.call(node)
            elif node.op == "output":
                output = node.args[0]
        return output

    def call_module(self, node):
        mod = self.gm.get_submodule(node.target)
        x = self.tensor_or_view(node.args[0], node, type(mod).__name__) if node.args else None
        if isinstance(x, _View) and not isinstance(mod, (nn.Linear, nn.LayerNorm, nn.Flatten,
                                                          nn.MultiheadAttention)):  # fmt: skip
            x = self.materialize(node, x)
        cls = type(mod)
        params, repeated = self.module_params(mod, node)
        emit = self.emit

        if cls in ACTIVATION_MODULES and cls is not nn.GELU:
            return emit(node, ACTIVATION_MODULES[cls], {}, [x])
        if isinstance(mod, nn.Identity):
            return x
        if isinstance(mod, (nn.Dropout, nn.Dropout2d)):
            return emit(node, "dropout", {"p": mod.p}, [x])
        if isinstance(mod, nn.Conv2d) and mod.padding_mode == "zeros":
            return emit(node, "conv", _conv_fields(mod), [x], params=params, last=False)
        if isinstance(mod, (nn.BatchNorm2d, nn.BatchNorm1d)) and mod.affine \
                and mod.track_running_stats and len(x.shape) in (1, 3):  # fmt: skip
            return emit(node, "bn", _eps(mod.eps), [x], params=params)
        if isinstance(mod, nn.Linear) and (len(x.shape) == 1 or x.last):
            fields = _linear_fields(mod)
            if repeated == ["weight"]:
                fields["tied"] = True  # the weight is an earlier layer's: counted there
            return emit(node, "linear", fields, [x], params=params)
        if isinstance(mod, nn.Linear) and isinstance(x, _View):
            return emit(node, "linear", _linear_fields(mod), [self.materialize(node, x)],
                        params=params)  # fmt: skip
        if isinstance(mod, nn.LayerNorm) and len(mod.normalized_shape) == 1:
            x = self.materialize(node, x) if isinstance(x, _View) else x
            if not (x.last or len(x.shape) == 1):
                self.fail(node, "LayerNorm on the last axis of a channels-first map")
            fields = {"eps": _number(mod.eps), "affine": mod.elementwise_affine,
                      "bias": mod.bias is not None}  # fmt: skip
            return emit(node, "layernorm", fields, [x], params=params)
        if isinstance(mod, nn.GELU):
            return emit(node, "gelu", {"approximate": mod.approximate}, [x])
        if isinstance(mod, nn.MultiheadAttention):
            return self.mha(node, mod, x, params)
        if isinstance(mod, nn.GroupNorm) and len(x.shape) >= 2 and not x.last:
            return emit(node, "groupnorm", {"groups": mod.num_groups, "eps": _number(mod.eps),
                                            "affine": mod.affine}, [x], params=params)  # fmt: skip
        if isinstance(mod, nn.MaxPool2d) and _one(mod.dilation) and not mod.return_indices:
            return emit(node, "maxpool", _pool_fields(mod.kernel_size, mod.stride, mod.padding,
                                                       mod.ceil_mode), [x])  # fmt: skip
        if isinstance(mod, nn.AvgPool2d) and mod.divisor_override is None:
            return emit(node, "avgpool", _pool_fields(mod.kernel_size, mod.stride, mod.padding,
                                                       mod.ceil_mode), [x])  # fmt: skip
        if isinstance(mod, nn.AdaptiveAvgPool2d):
            return self.adaptive(node, x, mod.output_size)
        if isinstance(mod, nn.Flatten):
            return self.view(node, x)
        if isinstance(mod, (nn.Softmax, nn.LogSoftmax)):
            return emit(node, "softmax", {}, [x])
        if isinstance(mod, nn.LocalResponseNorm):
            return emit(node, "lrn", {"size": mod.size, "alpha": mod.alpha, "beta": mod.beta,
                                      "k_const": mod.k}, [x])  # fmt: skip
        return self.unknown_module(node, mod)

    def materialize(self, node, view):
        """A reshape that a layer reads: archcost's ``reshape`` to the view's shape (a
        transpose costs the same: nothing); rank 2 is tokens (L, D)."""
        if view.real is None:
            fields = {"shape": list(view.shape)}
            if len(view.shape) == 2:
                fields["layout"] = "tokens"
            view.real = self.emit(view.node, "reshape", fields, [view.base], name="reshape",
                                  shape=view.shape, last=len(view.shape) == 2)  # fmt: skip
        return view.real

    def mha(self, node, mod, x, params):
        """nn.MultiheadAttention as self-attention on tokens: archcost's ``attention``."""
        q, k, v = (list(node.args) + [node.kwargs.get(n) for n in ("query", "key", "value")])[:3]
        if isinstance(x, _View):
            x = self.materialize(node, x)
        if not (mod.batch_first and q is k is v and mod._qkv_same_embed_dim and x.last
                and mod.bias_k is None and not mod.add_zero_attn
                and not node.kwargs.get("attn_mask") and len(node.args) <= 3):  # fmt: skip
            self.fail(node, "MultiheadAttention other than batch-first self-attention")
        fields = {"heads": mod.num_heads, "qkv_bias": mod.in_proj_bias is not None,
                  "out_bias": mod.out_proj.bias is not None}  # fmt: skip
        return _Pair(self.emit(node, "attention", fields, [x], params=params, last=True,
                               shape=x.shape))  # fmt: skip

    def unknown_module(self, node, mod):
        self.fail(node, f"module {type(mod).__name__}")

    def adaptive(self, node, x, size):
        if len(x.shape) != 3:
            self.fail(node, "adaptive_avg_pool2d on a non C x H x W tensor")
        size = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
        size = tuple(x.shape[1 + i] if s is None else int(s) for i, s in enumerate(size))
        if size == (1, 1):
            return self.emit(node, "global_avgpool", {}, [x], name="avgpool")
        return self.emit(node, "adaptive_avgpool", {"size": _pair(size)}, [x], name="avgpool")

    def view(self, node, x):
        """A reshape: the identity when the shape comes back, flatten when it becomes flat."""
        shape = self.shape(node)
        if shape is None:
            self.fail(node, f"{_name(node)} with an output archcost cannot follow")
        base = self.real(x)
        if shape == base.shape:
            return base
        if len(shape) == 1 and len(base.shape) >= 1:
            return self.emit(node, "flatten", {}, [base], name="flatten", shape=shape, last=False)
        return _View(base, shape, node)

    def real(self, x):
        return x.base if isinstance(x, _View) else x

    def call(self, node):
        target = node.target
        name = _name(node)
        args, kwargs = node.args, node.kwargs
        if target in (operator.getitem,):
            return self.getitem(node)
        if node.op == "call_method" and target in ("size", "dim", "numel") or target is getattr:
            return None  # shapes as numbers: used by views, never a tensor
        if not any(isinstance(self.env.get(a), (_T, _View, _Parts)) for a in _flat_args(node)):
            return None  # arithmetic on sizes (c // 2)
        if target in ACTIVATION_FUNCTIONS or (node.op == "call_method" and target in ACTIVATION_METHODS):
            kind = ACTIVATION_FUNCTIONS.get(target) or ACTIVATION_METHODS[target]
            return self.emit(node, kind, {}, [self.tensor(args[0], node, name)], name=kind)
        if target in VIEW_FUNCTIONS or (node.op == "call_method" and target in VIEW_METHODS):
            return self.view(node, self.tensor_or_view(args[0], node, name))
        if target is torch.cat:
            tensors = args[0] if args else kwargs.get("tensors")
            dim = _arg(args, kwargs, 1, "dim", 0)
            xs = [self.tensor(t, node, "cat") for t in tensors]
            if dim not in (1, -3) or any(len(t.shape) != 3 for t in xs):
                self.fail(node, f"cat along dim {dim} (archcost concatenates channels)")
            return self.emit(node, "concat", {}, xs, name="cat")
        if target in (operator.add, operator.iadd, torch.add) or (node.op == "call_method" and
                                                                target in ("add", "add_")):  # fmt: skip
            return self.add(node)
        if target in (operator.mul, operator.imul, torch.mul) or (node.op == "call_method" and
                                                                target in ("mul", "mul_")):  # fmt: skip
            return self.mul(node)
        if target is F.dropout or (node.op == "call_method" and target == "dropout"):
            p = _bound(F.dropout, args, kwargs)["p"]
            return self.emit(node, "dropout", {"p": p}, [self.tensor(args[0], node, name)],
                             name="dropout")  # fmt: skip
        if target in (F.adaptive_avg_pool2d,):
            b = _bound(F.adaptive_avg_pool2d, args, kwargs)
            return self.adaptive(node, self.tensor(args[0], node, name), b["output_size"])
        if target in (F.max_pool2d, torch.max_pool2d):
            b = _bound(F.max_pool2d, args, kwargs)
            if not _one(b["dilation"]) or b["return_indices"]:
                self.fail(node, "max_pool2d with dilation or indices")
            return self.emit(node, "maxpool", _pool_fields(b["kernel_size"], b["stride"],
                             b["padding"], b["ceil_mode"]), [self.tensor(args[0], node, name)],
                             name="maxpool")  # fmt: skip
        if target in (F.avg_pool2d, torch._C._nn.avg_pool2d):
            b = _bound(F.avg_pool2d, args, kwargs) if target is F.avg_pool2d else None
            if b is None or b.get("divisor_override") is not None:
                self.fail(node, "avg_pool2d with a divisor override")
            return self.emit(node, "avgpool", _pool_fields(b["kernel_size"], b["stride"],
                             b["padding"], b["ceil_mode"]), [self.tensor(args[0], node, name)],
                             name="avgpool")  # fmt: skip
        if target in (F.softmax, F.log_softmax, torch.softmax) or (
                node.op == "call_method" and target in ("softmax", "log_softmax")):  # fmt: skip
            return self.emit(node, "softmax", {}, [self.tensor(args[0], node, name)],
                             name="softmax")  # fmt: skip
        if target is torch.mean or (node.op == "call_method" and target == "mean"):
            return self.mean(node)
        if target is torch.chunk or (node.op == "call_method" and target in ("chunk", "split")) \
                or target is torch.split:  # fmt: skip
            return self.chunk(node)
        self.fail(node, f"{'method' if node.op == 'call_method' else 'function'} {name}")

    def tensor_or_view(self, arg, node, what):
        value = self.env.get(arg) if isinstance(arg, fx.Node) else None
        if not isinstance(value, (_T, _View)):
            self.fail(node, what)
        return value

    def add(self, node):
        a, b = (node.args + (node.kwargs.get("other"),))[:2]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            self.fail(node, "add of a tensor and a constant")
        x, y = self.tensor(a, node, "add"), self.tensor(b, node, "add")
        if x.shape != y.shape:
            self.fail(node, f"add with broadcasting ({x.shape} + {y.shape})")
        if len(node.args) > 2 or node.kwargs.get("alpha", 1) != 1:
            self.fail(node, "add with alpha")
        return self.emit(node, "add", {}, [x, y], name="add")

    def mul(self, node):
        a, b = node.args[:2]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            self.fail(node, "mul by a constant")
        x, g = self.tensor(a, node, "mul"), self.tensor(b, node, "mul")
        if len(x.shape) == 3 and g.shape == (x.shape[0], 1, 1):
            return self.emit(node, "scale", {}, [x, g], name="scale")
        if len(g.shape) == 3 and x.shape == (g.shape[0], 1, 1):
            return self.emit(node, "scale", {}, [g, x], name="scale")
        self.fail(node, f"mul of shapes {x.shape} and {g.shape} (archcost scales C x H x W by C x 1 x 1)")

    def mean(self, node):
        x = self.tensor(node.args[0], node, "mean")
        dims = _arg(node.args, node.kwargs, 1, "dim", None)
        keep = _arg(node.args, node.kwargs, 2, "keepdim", False)
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        if len(x.shape) != 3 or sorted(d % 4 for d in dims) != [2, 3]:
            self.fail(node, f"mean over dims {dims} (archcost has the global average pool)")
        pooled = self.emit(node, "global_avgpool", {}, [x], name="mean", shape=(x.shape[0], 1, 1))
        if keep:
            return pooled
        return self.emit(node, "flatten", {}, [pooled], name="flatten", shape=(x.shape[0],))

    def chunk(self, node):
        x = self.tensor(node.args[0], node, str(node.target))
        method = node.target if isinstance(node.target, str) else node.target.__name__
        second = _arg(node.args, node.kwargs, 1, "chunks" if method == "chunk" else
                      "split_size_or_sections", None)  # fmt: skip
        if method == "split" and second is None:
            second = node.kwargs.get("split_size")
        dim = _arg(node.args, node.kwargs, 2, "dim", 0)
        if dim not in (1, -3) or len(x.shape) != 3:
            self.fail(node, f"{method} along dim {dim} (archcost slices channels)")
        c = x.shape[0]
        if method == "chunk":
            size = -(-c // second)
            sizes = [min(size, c - i) for i in range(0, c, size)]
        elif isinstance(second, int):
            sizes = [min(second, c - i) for i in range(0, c, second)]
        else:
            sizes = list(second)
        ranges, start = [], 0
        for s in sizes:
            ranges.append((start, start + s))
            start += s
        return _Parts(x, ranges, x.shape)

    def getitem(self, node):
        value = self.env.get(node.args[0])
        if isinstance(value, _Pair):
            if node.args[1] != 0:
                self.fail(node, "the attention weights of MultiheadAttention")
            return value.first
        if isinstance(value, _Parts):
            start, end = value.ranges[node.args[1]]
            if (start, end) == (0, value.shape[0]):
                return value.src
            return self.emit(node, "slice", {"start": start, "end": end}, [value.src],
                             name="slice", shape=(end - start, *value.shape[1:]))  # fmt: skip
        if value is None:
            return None
        self.fail(node, "indexing a tensor")


class _View:
    """A reshape in flight (a channel shuffle's 5-d view): only more views may read it."""

    __slots__ = ("base", "shape", "real", "node")

    def __init__(self, base, shape, node):
        self.base = base
        self.shape = shape
        self.node = node  # the last view: the reshape is placed where it was made
        self.real = None  # the reshape op, once a layer reads this view


def _flat_args(node):
    for a in (*node.args, *node.kwargs.values()):
        if isinstance(a, (list, tuple)):
            yield from (x for x in a if isinstance(x, fx.Node))
        elif isinstance(a, fx.Node):
            yield a


def _name(node) -> str:
    t = node.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _arg(args, kwargs, index, key, default):
    if len(args) > index:
        return args[index]
    return kwargs.get(key, default)


def _bound(fn, args, kwargs) -> dict:
    sig = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _one(v) -> bool:
    return all(x == 1 for x in v) if isinstance(v, (tuple, list)) else v == 1


def _eps(eps) -> dict:
    return {} if eps == 1e-5 else {"eps": _number(eps)}


def _number(x):
    """A float as the shortest decimal that reads back the same (0.001, not 0.0010000000474)."""
    return float(repr(float(x))) if not float(x).is_integer() else int(x)


def _conv_fields(m) -> dict:
    """Every field, defaults included: the writer compares structures on all of them and
    leaves out the defaults when it writes."""
    p = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    return {"out": m.out_channels, "k": _pair(m.kernel_size), "s": _pair(m.stride), "p": p,
            "d": _pair(m.dilation), "g": m.groups, "bias": m.bias is not None}


def _linear_fields(m) -> dict:
    return {"out": m.out_features, "bias": m.bias is not None}


def _pool_fields(k, s, p, ceil) -> dict:
    k = _pair(k)
    s = k if s is None or (isinstance(s, (tuple, list)) and not s) else _pair(s)
    return {"k": k, "s": s, "p": _pair(p), "ceil": bool(ceil)}


def model_counts(model, input_shape) -> dict:
    """The model's own numbers: unique parameter elements, BN running statistics and
    FlopCounterMode's FLOPs / 2 on one forward pass at batch 1."""
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if not name.endswith("num_batches_tracked"))  # fmt: skip
    # with autograd on: nn.MultiheadAttention's inference fast path is invisible to the counter
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.zeros(1, *input_shape))
    flops = counter.get_total_flops()
    return {"params": params, "buffers": buffers, "macs": flops // 2}


def trace(model, input_shape, source="", hooks_only=False) -> Imported:
    """``model`` (an ``nn.Module``) as archcost ops, with its own counts to check against.
    ``hooks_only`` skips torch.fx and runs the hook trace (the fallback) directly."""
    model = model.eval()
    notes = []
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    try:
        if hooks_only:
            raise RuntimeError("hook trace asked for")
        graph = tracer.trace(model)
    except Exception as err:  # noqa: BLE001 - fx's reasons are many; the hook trace runs then
        from . import hooks

        reason = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        notes.append(f"torch.fx could not trace the model ({reason[:200]}); it was traced by "
                     "running it once with hooks, along the path this input takes")  # fmt: skip
        try:
            gm = hooks.trace(model, input_shape)
        except Exception as err2:  # noqa: BLE001
            raise SpecError(f"import: the model does not run on an input of shape "
                            f"{list(input_shape)}: {type(err2).__name__}: {err2}") from None  # fmt: skip
    else:
        gm = fx.GraphModule(model, graph)
        with torch.no_grad():
            try:
                ShapeProp(gm).propagate(torch.zeros(1, *input_shape))
            except Exception as err:  # noqa: BLE001
                raise SpecError(f"import: the model does not run on an input of shape "
                                f"{list(input_shape)}: {type(err).__name__}: {err}") from None  # fmt: skip
    conv = _Converter(gm, model)
    conv.run(input_shape)
    counts = model_counts(model, input_shape)
    for path, where in conv.shared:
        notes.append(f"{path} ({where}) reuses parameters counted at their first use; the "
                     "spec counts them again (archcost ties only linear weights)")  # fmt: skip
    tied = [op.path for op in conv.ops if op.fields.get("tied")]
    if tied:
        notes.append(f"tied weights counted once: {', '.join(tied)} (tied: true in the spec)")
    return Imported(conv.ops, tuple(input_shape), source, counts["params"], counts["macs"],
                    counts["buffers"], notes)  # fmt: skip

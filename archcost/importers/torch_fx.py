"""A torch ``nn.Module`` as archcost primitives, traced with torch.fx.

``torch.fx.symbolic_trace`` gives the call graph with each call's module path
(``node.meta['nn_module_stack']``) and source line (``record_stack_traces``); ``ShapeProp``
runs it once on a zero input of batch 1 to give every tensor's shape. Each call is mapped to
one archcost primitive with the fields the module holds (``nn.Conv2d`` -> ``conv`` with
``out, k, s, p, d, g, bias``), so the spec's counts come from archcost's own formulas and can
be compared with the model's ``numel`` and FlopCounterMode. Views and copies that only move
data (``view``, ``reshape``, ``transpose``, ``contiguous``, a channel shuffle) are followed to
the tensor they came from: they cost nothing in archcost's conventions, and a chain that ends
in the shape it started from is the identity; a chain that only reorders axes becomes
``transpose``/``permute`` (the layout follows), any other ``reshape``. A transpose of the
batch axis alone (``x.transpose(0, 1)`` before a sequence-first ``nn.MultiheadAttention``,
``nn.LSTM``) moves no data per sample: the tensor records where its batch axis is (``bdim``).

torch.nn layers the converter maps (:data:`LEAF_MODULES`) are single calls; other torch.nn
modules (``nn.TransformerEncoderLayer``) are traced into like the user's own. A parameter a
forward reads directly (a position embedding, a class token) is a ``parameter`` row; a
weight already counted at an earlier layer (a head tied to the token embedding, through
``nn.Linear`` or ``F.linear``) is ``linear`` with ``tied: true``, so the spec counts it once,
as ``sum(p.numel() for p in model.parameters())`` does. An input of rank 1 into a model with an
``nn.Embedding`` is token ids (``input: {ids: [L]}``); ``nn.Embedding(n, d)(torch.arange(L))``
(GPT-2's positions) is an ``embedding`` row reading the input, as specs/gpt2.yaml writes it.

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
from .ir import Imported, Op, Scope, pad_fields, pair, parameter_fields, reorder, unknown_op

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
                "unsqueeze", "view_as", "reshape_as", "clone", "detach", "expand", "expand_as",
                "swapaxes", "swapdims"}  # fmt: skip
VIEW_FUNCTIONS = {torch.flatten, torch.reshape, torch.transpose, torch.permute, torch.squeeze,
                  torch.unsqueeze, torch.clone, torch.swapaxes, torch.swapdims}  # fmt: skip
MATMUL = {operator.matmul, torch.matmul, torch.bmm}
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
CONV_MODULES = {nn.Conv1d: ("conv1d", 2), nn.Conv2d: ("conv", 3), nn.Conv3d: ("conv3d", 4),
                nn.ConvTranspose1d: ("conv_transpose1d", 2),
                nn.ConvTranspose2d: ("conv_transpose", 3),
                nn.ConvTranspose3d: ("conv_transpose3d", 4)}  # fmt: skip
POOL_MODULES = {nn.MaxPool1d: ("maxpool1d", 2), nn.MaxPool2d: ("maxpool", 3),
                nn.MaxPool3d: ("maxpool3d", 4), nn.AvgPool1d: ("avgpool1d", 2),
                nn.AvgPool2d: ("avgpool", 3), nn.AvgPool3d: ("avgpool3d", 4)}  # fmt: skip
BN_MODULES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# adaptive pooling: (avg or max, spatial rank)
ADAPTIVE_MODULES = {nn.AdaptiveAvgPool1d: ("avg", 1), nn.AdaptiveAvgPool2d: ("avg", 2),
                    nn.AdaptiveAvgPool3d: ("avg", 3), nn.AdaptiveMaxPool1d: ("max", 1),
                    nn.AdaptiveMaxPool2d: ("max", 2), nn.AdaptiveMaxPool3d: ("max", 3)}  # fmt: skip
ADAPTIVE_FUNCTIONS = {F.adaptive_avg_pool1d: ("avg", 1), F.adaptive_avg_pool2d: ("avg", 2),
                      F.adaptive_avg_pool3d: ("avg", 3), F.adaptive_max_pool1d: ("max", 1),
                      F.adaptive_max_pool2d: ("max", 2), F.adaptive_max_pool3d: ("max", 3),
                      torch.adaptive_max_pool1d: ("max", 1)}  # fmt: skip
ADAPTIVE_PRIMITIVES = {("avg", 1): "adaptive_avgpool1d", ("avg", 2): "adaptive_avgpool",
                       ("avg", 3): "adaptive_avgpool3d", ("max", 1): "adaptive_maxpool1d",
                       ("max", 2): "adaptive_maxpool", ("max", 3): "adaptive_maxpool3d"}  # fmt: skip
# arithmetic on numbers computed from sizes (``1.0 / math.sqrt(k.size(-1))``); also math.*
NUMBER_FUNCTIONS = {operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv,
                    operator.pow, operator.neg, float, int}  # fmt: skip
MUL = {operator.mul, operator.imul, torch.mul, torch.multiply}
DIV = {operator.truediv, operator.itruediv, torch.div, torch.true_divide, torch.divide}
# torch.nn modules the converter maps as one call (leaves of the trace); the trace goes into
# any other torch.nn module (nn.TransformerEncoderLayer) as into the user's own
LEAF_MODULES = (*ACTIVATION_MODULES, *CONV_MODULES, *POOL_MODULES, *BN_MODULES, nn.Identity,
                nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.Linear, nn.LayerNorm,
                nn.GELU, nn.Softplus, nn.Mish, nn.MultiheadAttention, nn.LSTM, nn.GRU,
                nn.Embedding, nn.GroupNorm, *ADAPTIVE_MODULES, nn.Flatten, nn.Softmax, nn.LogSoftmax, nn.LocalResponseNorm,
                nn.Upsample, nn.ChannelShuffle, nn.PixelUnshuffle, nn.ZeroPad1d, nn.ZeroPad2d,
                nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d,
                *((nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ()))  # fmt: skip


def is_leaf(module) -> bool:
    """A torch.nn layer the converter maps; containers and other modules are traced into."""
    return isinstance(module, LEAF_MODULES) and not isinstance(module, CONTAINERS)


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m, module_qualified_name) -> bool:
        return is_leaf(m)


# modules that read a sequence-first tensor (L, N, D) as torch does: per token
SEQUENCE_FIRST_OK = (nn.MultiheadAttention, nn.LSTM, nn.GRU, nn.Linear, nn.LayerNorm,
                     nn.Dropout, nn.Identity, nn.GELU, *ACTIVATION_MODULES)  # fmt: skip
TORCH_DIR = os.path.dirname(torch.__file__)
OWN_DIR = os.path.dirname(os.path.abspath(__file__))


class _T:
    """A tensor the graph holds: the op it equals (``src``), its shape per sample, and whether
    its features are on the last axis (tokens (L, D), as nn.Linear and nn.LayerNorm read
    them) rather than first (the (C, H, W) maps of conv, BN and pools)."""

    __slots__ = ("src", "shape", "last", "bdim")

    def __init__(self, src, shape, last=False, bdim=0):
        self.src = src
        self.shape = shape
        self.last = last
        self.bdim = bdim  # where the batch axis is in torch's tensor (1: sequence-first)


class _Attr:
    """A parameter or buffer the forward reads directly (``self.pos``, ``self.cls_token``,
    the weight given to ``F.layer_norm``): a ``parameter`` row once a tensor op reads it."""

    def __init__(self, tensor, path, is_param):
        self.tensor = tensor
        self.path = path
        self.is_param = is_param


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
        self.equal = False  # equal pieces: archcost's chunk
        self.axis = 0  # the axis split, per sample


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
    def __init__(self, gm, model, ids=False):
        self.ids = ids
        self.tokens = False
        self.env_input = None
        self.learned: dict = {}  # id(parameter) -> its parameter row, once read
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

    def shape(self, node, bdim=0):
        """The node's shape per sample: torch's shape without the batch axis ``bdim``."""
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            return None
        full = [int(d) for d in meta.shape]
        if bdim >= len(full):
            return None
        return tuple(full[:bdim] + full[bdim + 1:])

    def tensor(self, arg, node, what) -> _T:
        value = self.env.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _Attr):
            return self.attr_tensor(node, value)
        if isinstance(value, _View):
            return self.materialize(node, value)
        if not isinstance(value, _T):
            self.fail(node, what)
        return value

    def count(self, tensor) -> int:
        """The elements of a parameter the first time it is met (shared tensors count once)."""
        if tensor is None or not isinstance(tensor, nn.Parameter) or id(tensor) in self.param_ids:
            return 0
        self.param_ids.add(id(tensor))
        return tensor.numel()

    def attr_tensor(self, node, attr) -> _T:
        """A learned tensor read by a tensor op: archcost's ``parameter`` row (a leading
        axis of 1 is the batch axis it broadcasts over: (1, 1, D) is a class token (1, D))."""
        row = self.learned.get(id(attr.tensor))  # a tensor read again is the same row
        if row is None:
            if not attr.is_param:
                self.fail(node, f"the buffer {attr.path} used as a tensor")
            shape, fields = parameter_fields(attr.tensor.shape)
            name = attr.path.rsplit(".", 1)[-1]
            row = self.emit(node, "parameter", fields, [], name=name, shape=shape,
                            params=self.count(attr.tensor), last=len(shape) == 2)  # fmt: skip
            self.ops[-1].path = attr.path
            self.learned[id(attr.tensor)] = row
        return row

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
        bdim = inputs[0].bdim if inputs else 0
        shape = shape if shape is not None else self.shape(node, bdim)
        op = Op(op_id, type_, fields, [t.src for t in inputs], shape, short, path, chain,
                _source(node), params)  # fmt: skip
        self.ops.append(op)
        if last is None:  # elementwise ops keep their input's layout
            last = bool(inputs) and inputs[0].last and len(shape or ()) == len(inputs[0].shape)
        return _T(op_id, shape, last, bdim)

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
                self.tokens = len(input_shape) == 2 and not self.ids and \
                    not self.channels_first(node)  # fmt: skip
                self.env[node] = self.env_input = _T("input", tuple(input_shape), self.tokens)
            elif node.op == "get_attr":  # a parameter or buffer used directly
                self.env[node] = self.get_attr(node)
            elif node.op in ("call_module", "call_function", "call_method"):
                call = self.call_module if node.op == "call_module" else self.call
                if not getattr(self, "allow_unknown", False):
                    self.env[node] = call(node)
                    continue
                from .ir import UnknownOp
                from .unknown_ops import torch_before, torch_unknown

                before = torch_before(self, node)
                try:  # --allow-unknown: an op with no primitive becomes a row of type unknown
                    self.env[node] = call(node)
                except UnknownOp as err:
                    self.env[node] = torch_unknown(self, node, err, before)
            elif node.op == "output":
                output = node.args[0]
        return output

    def channels_first(self, node) -> bool:
        """A rank-2 input read by a 1-D conv, pool or BN is a map (C, L), not tokens (L, D)."""
        for user in node.users:
            if user.op == "call_module":
                mod = self.gm.get_submodule(user.target)
                if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d, nn.MaxPool1d, nn.AvgPool1d,
                                    nn.BatchNorm1d, nn.Upsample, nn.AdaptiveAvgPool1d,
                                    nn.AdaptiveMaxPool1d)):  # fmt: skip
                    return True
        return False

    def positions(self, arg) -> bool:
        """An index tensor made from sizes alone (``torch.arange(L)``), of the input ids' shape."""
        if not self.ids or not isinstance(arg, fx.Node) or self.env.get(arg) is not None:
            return False
        meta = arg.meta.get("tensor_meta")
        shape = tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None
        return shape in (self.env_input.shape, (1, *self.env_input.shape))

    def get_attr(self, node):
        try:
            value = self.gm.get_parameter(node.target)
            return _Attr(value, node.target, True)
        except AttributeError:
            pass
        try:
            return _Attr(self.gm.get_buffer(node.target), node.target, False)
        except AttributeError:
            return None

    def call_module(self, node):
        mod = self.gm.get_submodule(node.target)
        if isinstance(mod, nn.Embedding) and node.args and self.positions(node.args[0]):
            x = self.env_input  # positions 0 .. L-1: a lookup shaped like the ids (GPT-2's wpe)
        else:
            x = self.tensor_or_view(node.args[0], node, type(mod).__name__) if node.args \
                else None  # fmt: skip
        if isinstance(x, _View) and not isinstance(mod, (nn.Flatten,)):
            x = self.materialize(node, x)
        cls = type(mod)
        params, repeated = self.module_params(mod, node)
        emit = self.emit
        if x is not None and x.bdim != 0 and not isinstance(mod, SEQUENCE_FIRST_OK):
            self.fail(node, f"module {cls.__name__} on a tensor whose batch axis is not first")

        if cls in ACTIVATION_MODULES and cls is not nn.GELU:
            return emit(node, ACTIVATION_MODULES[cls], {}, [x])
        if isinstance(mod, nn.Identity):
            return x
        if isinstance(mod, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)):
            return emit(node, "dropout", {"p": mod.p}, [x])
        conv = CONV_MODULES.get(cls)
        if conv and mod.padding_mode == "zeros" and len(x.shape) == conv[1] and not x.last:
            fields = _conv_fields(mod)
            if conv[0].startswith("conv_transpose"):
                fields["output_padding"] = pair(mod.output_padding)
            return emit(node, conv[0], fields, [x], params=params, last=False)
        if isinstance(mod, BN_MODULES) and mod.affine and mod.track_running_stats \
                and (len(x.shape) == 1 or (len(x.shape) in (2, 3, 4) and not x.last)):  # fmt: skip
            return emit(node, "bn", _eps(mod.eps), [x], params=params)
        if isinstance(mod, nn.Linear) and (len(x.shape) == 1 or x.last):
            fields = _linear_fields(mod)
            if repeated == ["weight"]:
                fields["tied"] = True  # the weight is an earlier layer's: counted there
            return emit(node, "linear", fields, [x], params=params)
        if isinstance(mod, nn.LayerNorm) and len(mod.normalized_shape) == 1:
            if not (x.last or len(x.shape) == 1):
                self.fail(node, "LayerNorm on the last axis of a channels-first map")
            fields = {"eps": _number(mod.eps), "affine": mod.elementwise_affine,
                      "bias": mod.bias is not None}  # fmt: skip
            return emit(node, "layernorm", fields, [x], params=params)
        if isinstance(mod, getattr(nn, "RMSNorm", ())) and len(mod.normalized_shape) == 1:
            if not (x.last or len(x.shape) == 1):
                self.fail(node, "RMSNorm on the last axis of a channels-first map")
            eps = mod.eps if mod.eps is not None else torch.finfo(torch.float32).eps
            return emit(node, "rmsnorm", {"eps": _number(eps), "affine": mod.elementwise_affine},
                        [x], params=params)  # fmt: skip
        if isinstance(mod, nn.GELU):
            return emit(node, "gelu", {"approximate": mod.approximate}, [x])
        if isinstance(mod, nn.Softplus):
            return emit(node, "softplus", {}, [x])
        if isinstance(mod, nn.Mish):
            return emit(node, "mish", {}, [x])
        if isinstance(mod, nn.MultiheadAttention):
            return self.mha(node, mod, x, params)
        if isinstance(mod, (nn.LSTM, nn.GRU)):
            return self.rnn(node, mod, x, params)
        if isinstance(mod, nn.Embedding):
            if len(x.shape) != 1 or mod.max_norm is not None:
                self.fail(node, "Embedding other than a lookup of token ids (L,)")
            return emit(node, "embedding", {"vocab": mod.num_embeddings,
                                            "dim": mod.embedding_dim}, [x], params=params,
                        shape=(x.shape[0], mod.embedding_dim), last=True)  # fmt: skip
        if isinstance(mod, nn.GroupNorm) and len(x.shape) >= 2 and not x.last:
            return emit(node, "groupnorm", {"groups": mod.num_groups, "eps": _number(mod.eps),
                                            "affine": mod.affine}, [x], params=params)  # fmt: skip
        pool = POOL_MODULES.get(cls)
        if pool and len(x.shape) == pool[1] and not x.last:
            if pool[0].startswith("max"):
                if mod.return_indices:
                    self.fail(node, f"{cls.__name__} with return_indices")
                fields = _pool_fields(mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
                if not _one(mod.dilation):
                    fields["d"] = pair(mod.dilation)
            else:
                if getattr(mod, "divisor_override", None) is not None:
                    self.fail(node, f"{cls.__name__} with a divisor override")
                fields = _pool_fields(mod.kernel_size, mod.stride, mod.padding, mod.ceil_mode)
            return emit(node, pool[0], fields, [x])
        if cls in ADAPTIVE_MODULES:
            if getattr(mod, "return_indices", False):
                self.fail(node, f"{cls.__name__} with return_indices")
            return self.adaptive(node, x, mod.output_size, *ADAPTIVE_MODULES[cls])
        if isinstance(mod, nn.Flatten):
            return self.view(node, x)
        if isinstance(mod, (nn.Softmax, nn.LogSoftmax)):
            return emit(node, "softmax", {}, [x])
        if isinstance(mod, nn.LocalResponseNorm):
            return emit(node, "lrn", {"size": mod.size, "alpha": mod.alpha, "beta": mod.beta,
                                      "k_const": mod.k}, [x])  # fmt: skip
        if isinstance(mod, nn.Upsample):
            return self.upsample(node, x, mod.size, mod.scale_factor, mod.mode)
        if isinstance(mod, nn.ChannelShuffle) and not x.last:
            return emit(node, "channel_shuffle", {"groups": mod.groups}, [x])
        if isinstance(mod, nn.PixelUnshuffle) and len(x.shape) == 3 and not x.last:
            return emit(node, "space_to_depth", {"r": mod.downscale_factor}, [x])
        if isinstance(mod, (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d,
                            nn.ConstantPad2d, nn.ConstantPad3d)):  # fmt: skip
            return self.pad(node, x, mod.padding, getattr(mod, "value", 0))
        return self.unknown_module(node, mod)

    def materialize(self, node, view):
        """A view that a layer reads. Axes only reordered: archcost's ``permute`` (the layout
        follows: (C, H, W) -> (H, W, C) is channels-last); otherwise a ``reshape`` to the
        view's shape (rank 2 is tokens (L, D)). Neither costs anything."""
        if view.real is not None:
            return view.real
        base = view.base
        if view.perm is not None:
            rank = len(view.perm)
            axes = [a for a in range(rank) if a != base.bdim]
            dims = [axes.index(view.perm[i]) for i in range(rank) if i != view.bdim]
            feature = len(base.shape) - 1 if base.last else 0
            last = len(dims) >= 2 and dims.index(feature) == len(dims) - 1
            kind, fields = reorder(dims)
            view.real = self.emit(view.node, kind, fields, [base], name=kind, shape=view.shape,
                                  last=last)  # fmt: skip
            view.real.bdim = view.bdim
            return view.real
        if view.bdim != 0:
            self.fail(node, "a reshape of a tensor whose batch axis is not first")
        fields = {"shape": list(view.shape)}
        if len(view.shape) == 2:
            fields["layout"] = "tokens"
        view.real = self.emit(view.node, "reshape", fields, [base], name="reshape",
                              shape=view.shape, last=len(view.shape) == 2)  # fmt: skip
        return view.real

    def mha(self, node, mod, x, params):
        """nn.MultiheadAttention on tokens: archcost's ``attention`` when query, key and value
        are one tensor, ``cross_attention`` (in: [query, key]) when key and value are another."""
        names = ("query", "key", "value")
        q, k, v = [node.args[i] if len(node.args) > i else node.kwargs.get(n)
                   for i, n in enumerate(names)]  # fmt: skip
        extra = {n: a for n, a in node.kwargs.items()
                 if n not in names and a is not None and a is not False}  # fmt: skip
        extra.pop("need_weights", None)
        if (extra or len(node.args) > 3 or k is not v or mod.bias_k is not None
                or mod.add_zero_attn or not x.last or x.bdim != (0 if mod.batch_first else 1)):
            self.fail(node, "MultiheadAttention with masks, bias_k, zero attention or a "
                            "layout other than its batch_first")  # fmt: skip
        fields = {"heads": mod.num_heads, "qkv_bias": mod.in_proj_bias is not None,
                  "out_bias": mod.out_proj.bias is not None}  # fmt: skip
        if q is k:
            if not mod._qkv_same_embed_dim:
                self.fail(node, "self-attention with kdim or vdim other than embed_dim")
            return _Pair(self.emit(node, "attention", fields, [x], params=params, last=True,
                                   shape=x.shape))  # fmt: skip
        kv = self.tensor(k, node, "MultiheadAttention key")
        if kv.bdim != x.bdim or not kv.last or mod.kdim != mod.vdim:
            self.fail(node, "cross-attention with key and value of other layouts or sizes")
        return _Pair(self.emit(node, "cross_attention", fields, [x, kv], params=params,
                               last=True, shape=x.shape))  # fmt: skip

    def rnn(self, node, mod, x, params):
        """nn.LSTM / nn.GRU over tokens: all hidden states of the last layer, (L, dirs*H)."""
        kind = "lstm" if isinstance(mod, nn.LSTM) else "gru"
        if (len(node.args) > 1 or node.kwargs or getattr(mod, "proj_size", 0) or not x.last
                or len(x.shape) != 2 or x.bdim != (0 if mod.batch_first else 1)):  # fmt: skip
            self.fail(node, f"{type(mod).__name__} with an initial state, proj_size or a layout "
                            "other than its batch_first")  # fmt: skip
        fields = {"hidden": mod.hidden_size, "layers": mod.num_layers,
                  "bidirectional": mod.bidirectional, "bias": mod.bias}  # fmt: skip
        dirs = 2 if mod.bidirectional else 1
        return _Pair(self.emit(node, kind, fields, [x], params=params, last=True,
                               shape=(x.shape[0], dirs * mod.hidden_size)))  # fmt: skip

    def upsample(self, node, x, size, scale, mode):
        """nn.Upsample / F.interpolate: an integer scale factor or an output size."""
        modes = {"nearest": "nearest", "linear": "linear", "bilinear": "bilinear",
                 "trilinear": "trilinear"}  # fmt: skip
        if mode not in modes or x.last or len(x.shape) not in (2, 3, 4):
            self.fail(node, f"interpolate with mode {mode!r} on shape {x.shape}")
        fields = {"mode": mode}
        if size is not None:
            fields["size"] = pair(size)
        else:
            values = scale if isinstance(scale, (tuple, list)) else [scale]
            if len(set(values)) != 1 or float(values[0]) != int(values[0]):
                self.fail(node, f"interpolate by the scale factor {scale} (archcost takes one "
                                "whole number)")  # fmt: skip
            fields["scale"] = int(values[0])
        return self.emit(node, "upsample", fields, [x], name="upsample")

    def pad(self, node, x, padding, value):
        """Constant padding (F.pad's pairs run from the last axis back): archcost's ``pad``
        of the spatial axes, or ``zero_pad`` when channels are appended too."""
        pads = [int(v) for v in ((padding,) * 2 * (len(x.shape) - 1) if isinstance(padding, int)
                                 else padding)]  # fmt: skip
        pairs = [pads[i:i + 2] for i in range(0, len(pads), 2)]  # last axis first
        rank = len(x.shape)
        if x.last or len(pairs) > rank:
            self.fail(node, f"pad {pads} of shape {x.shape}")
        per_axis = [(0, 0)] * (rank - len(pairs)) + [tuple(p) for p in reversed(pairs)]
        row = pad_fields(per_axis, _number(value))
        if row is None:
            self.fail(node, f"pad {pads} of the channels")
        return self.emit(node, *row, [x], name="pad")

    def unknown_module(self, node, mod):
        self.fail(node, f"module {type(mod).__name__}")

    def adaptive(self, node, x, size, kind="avg", rank=2):
        """Adaptive average or max pooling of a channels-first map of ``rank`` spatial axes
        (1-D, 2-D, 3-D) to ``size`` (None keeps an axis): average pooling to size 1 on every
        axis is ``global_avgpool``."""
        if x.last or x.bdim or len(x.shape) != rank + 1:
            self.fail(node, f"adaptive_{kind}_pool{rank}d on shape {x.shape}")
        size = (size,) * rank if not isinstance(size, (tuple, list)) else tuple(size)
        if len(size) == 1 and rank > 1:
            size = size * rank
        size = tuple(x.shape[1 + i] if s is None else int(s) for i, s in enumerate(size))
        name = f"{kind}pool"
        if kind == "avg" and all(s == 1 for s in size):
            return self.emit(node, "global_avgpool", {}, [x], name=name)
        return self.emit(node, ADAPTIVE_PRIMITIVES[kind, rank], {"size": pair(size)}, [x],
                         name=name)  # fmt: skip

    def view(self, node, x):
        """A view: the identity when the shape comes back, flatten when it becomes flat, a
        move of the batch axis alone (a sequence-first layout) when the order per sample
        stays; otherwise a view in flight, placed once a layer reads it."""
        if isinstance(x, _Attr):
            x = self.attr_tensor(node, x)
        base = self.real(x)
        before = x.perm if isinstance(x, _View) else list(range(len(base.shape) + 1))
        bdim = x.bdim
        step = self.permutation(node, len(x.shape) + 1)
        if step is not None:
            perm = None if before is None else [before[a] for a in step]
            bdim = step.index(bdim)
        else:
            perm = None
            if bdim != 0:
                self.fail(node, f"{_name(node)} of a tensor whose batch axis is not first")
        shape = self.shape(node, bdim)
        if shape is None:
            self.fail(node, f"{_name(node)} with an output archcost cannot follow")
        if perm is not None:
            axes = [a for a in range(len(perm)) if a != base.bdim]
            order = [axes.index(perm[i]) for i in range(len(perm)) if i != bdim]
            if order == sorted(order):
                return base if bdim == base.bdim else _T(base.src, shape, base.last, bdim)
            return _View(base, shape, node, perm, bdim)
        if shape == base.shape and base.bdim == 0:
            return base
        if len(shape) == 1 and len(base.shape) >= 1 and base.bdim == 0:
            return self.emit(node, "flatten", {}, [base], name="flatten", shape=shape, last=False)
        return _View(base, shape, node, None, 0)

    def permutation(self, node, rank):
        """The axes (of the whole tensor, batch included) a view takes from its input, or None
        when it reshapes."""
        name = _name(node)
        args = node.args[1:]
        if name in ("contiguous", "clone", "detach", "expand", "expand_as"):
            meta = node.meta.get("tensor_meta")
            src = node.args[0].meta.get("tensor_meta") if isinstance(node.args[0], fx.Node) \
                else None  # fmt: skip
            if meta is not None and src is not None and tuple(meta.shape) == tuple(src.shape):
                return list(range(rank))
            return None if name.startswith("expand") else list(range(rank))
        if name == "permute":
            dims = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            dims = dims or node.kwargs.get("dims")
            return [int(d) % rank for d in dims]
        if name in ("transpose", "swapaxes", "swapdims"):
            a = _arg(args, node.kwargs, 0, "dim0", None)
            b = _arg(args, node.kwargs, 1, "dim1", None)
            out = list(range(rank))
            out[a % rank], out[b % rank] = out[b % rank], out[a % rank]
            return out
        if name in ("t",) and rank == 2:
            return [1, 0]
        return None

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
        if not any(isinstance(self.env.get(a), (_T, _View, _Parts, _Attr))
                   for a in _flat_args(node)):  # fmt: skip
            return None  # arithmetic on sizes (c // 2)
        method = node.op == "call_method"
        if target in ACTIVATION_FUNCTIONS or (method and target in ACTIVATION_METHODS):
            kind = ACTIVATION_FUNCTIONS.get(target) or ACTIVATION_METHODS[target]
            fields = {}
            if target is F.gelu:
                fields["approximate"] = kwargs.get("approximate", "none")
            return self.emit(node, kind, fields, [self.tensor(args[0], node, name)], name=kind)
        if target in MATMUL or (method and target in ("matmul", "bmm")):
            a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("mat2"))
            x, y = self.tensor(a, node, name), self.tensor(b, node, name)
            if x.bdim or y.bdim or len(x.shape) != len(y.shape) or len(x.shape) < 2:
                self.fail(node, f"{name} of shapes {x.shape} and {y.shape}")
            return self.emit(node, "matmul", {}, [x, y], name="matmul", last=True)
        if target is F.layer_norm:
            return self.layer_norm(node)
        if target is F.scaled_dot_product_attention:
            return self.sdpa(node)
        if target is F.linear:
            return self.linear(node)
        if target is F.interpolate:
            b = _bound(F.interpolate, args, kwargs)
            return self.upsample(node, self.tensor(args[0], node, name), b["size"],
                                 b["scale_factor"], b["mode"])  # fmt: skip
        if target is F.pad:
            b = _bound(F.pad, args, kwargs)
            if b["mode"] != "constant":
                self.fail(node, f"pad in mode {b['mode']!r}")
            return self.pad(node, self.tensor(args[0], node, name), b["pad"], b["value"] or 0)
        if target in (F.pixel_unshuffle, torch.pixel_unshuffle):
            x = self.tensor(args[0], node, name)
            r = _arg(args, kwargs, 1, "downscale_factor", None)
            return self.emit(node, "space_to_depth", {"r": r}, [x], name="space_to_depth")
        if target in (F.channel_shuffle, torch.channel_shuffle):
            x = self.tensor(args[0], node, name)
            g = _arg(args, kwargs, 1, "groups", None)
            return self.emit(node, "channel_shuffle", {"groups": g}, [x], name="channel_shuffle")
        if target in (F.softplus, F.mish):
            kind = "softplus" if target is F.softplus else "mish"
            return self.emit(node, kind, {}, [self.tensor(args[0], node, name)], name=kind)
        if target in VIEW_FUNCTIONS or (node.op == "call_method" and target in VIEW_METHODS):
            return self.view(node, self.tensor_or_view(args[0], node, name))
        if target is torch.cat:
            tensors = args[0] if args else kwargs.get("tensors")
            dim = _arg(args, kwargs, 1, "dim", 0)
            xs = [self.tensor(t, node, "cat") for t in tensors]
            rank = len(xs[0].shape) + 1
            axis = dim % rank - 1
            if axis < 0 or any(t.bdim for t in xs) or len({len(t.shape) for t in xs}) != 1:
                self.fail(node, f"cat along dim {dim}")
            return self.emit(node, "concat", {"axis": axis} if axis else {}, xs, name="cat")
        if target in (operator.add, operator.iadd, torch.add) or (node.op == "call_method" and
                                                                target in ("add", "add_")):  # fmt: skip
            return self.add(node)
        if target in MUL or (method and target in ("mul", "mul_", "multiply")):
            return self.mul(node)
        if target in DIV or (method and target in ("div", "div_", "true_divide", "divide")):
            return self.mul(node, divide=True)
        if target is F.dropout or (node.op == "call_method" and target == "dropout"):
            p = _bound(F.dropout, args, kwargs)["p"]
            return self.emit(node, "dropout", {"p": p}, [self.tensor(args[0], node, name)],
                             name="dropout")  # fmt: skip
        if target in ADAPTIVE_FUNCTIONS:
            size = _arg(args, kwargs, 1, "output_size", None)
            if _arg(args, kwargs, 2, "return_indices", False):
                self.fail(node, f"{name} with return_indices")
            return self.adaptive(node, self.tensor(args[0], node, name), size,
                                 *ADAPTIVE_FUNCTIONS[target])  # fmt: skip
        if target in (F.max_pool2d, torch.max_pool2d):
            b = _bound(_max_pool2d, args, kwargs)
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
        if target in (torch.narrow, torch.select) or (method and target in ("narrow", "select")):
            return self.narrow(node, name)
        if target is torch.chunk or (node.op == "call_method" and target in ("chunk", "split")) \
                or target is torch.split:  # fmt: skip
            return self.chunk(node)
        self.fail(node, f"{'method' if node.op == 'call_method' else 'function'} {name}")

    def sdpa(self, node):
        """F.scaled_dot_product_attention(q, k, v) on heads (h, L, d): the scores
        ``matmul`` q k^T (t: true), ``softmax``, and ``matmul`` by v; a causal mask is
        counted dense, as archcost's attention counts it (layers_attention.py) and as
        torch's sdpa FLOP formula does."""
        b = _bound(_sdpa, node.args, node.kwargs)
        q, k, v = (self.tensor(b[n], node, "scaled_dot_product_attention")
                   for n in ("query", "key", "value"))  # fmt: skip
        if b["attn_mask"] is not None or b["enable_gqa"] or any(t.bdim for t in (q, k, v)) \
                or not (len(q.shape) == len(k.shape) == len(v.shape) >= 2):  # fmt: skip
            self.fail(node, "scaled_dot_product_attention with a mask tensor or grouped heads")
        scores = self.emit(node, "matmul", {"t": True}, [q, k], name="scores",
                           shape=(*q.shape[:-1], k.shape[-2]), last=True)  # fmt: skip
        probs = self.emit(node, "softmax", {}, [scores], name="softmax", shape=scores.shape)
        return self.emit(node, "matmul", {}, [probs, v], name="matmul",
                         shape=(*q.shape[:-1], v.shape[-1]), last=True)  # fmt: skip

    def layer_norm(self, node):
        """F.layer_norm(x, (D,), weight, bias, eps) over the last axis: ``layernorm``."""
        b = _bound(F.layer_norm, node.args, node.kwargs)
        x = self.tensor(b["input"], node, "layer_norm")
        weight, bias = (self.env.get(b[k]) if isinstance(b[k], fx.Node) else None
                        for k in ("weight", "bias"))  # fmt: skip
        shape = tuple(b["normalized_shape"]) if isinstance(b["normalized_shape"], (tuple, list)) \
            else (b["normalized_shape"],)  # fmt: skip
        if len(shape) != 1 or not (x.last or len(x.shape) == 1) or \
                any(v is not None and not isinstance(v, _Attr) for v in (weight, bias)):  # fmt: skip
            self.fail(node, "layer_norm other than over the last axis with learned weights")
        params = sum(self.count(v.tensor) for v in (weight, bias) if v is not None)
        fields = {"eps": _number(b["eps"]), "affine": weight is not None,
                  "bias": bias is not None}  # fmt: skip
        return self.emit(node, "layernorm", fields, [x], name="layer_norm", params=params)

    def linear(self, node):
        """F.linear(x, weight, bias): ``linear``; a weight already counted (an embedding's
        table) is ``tied: true``."""
        b = _bound(_linear, node.args, node.kwargs)
        x = self.tensor(b["input"], node, "linear")
        weight = self.env.get(b["weight"]) if isinstance(b["weight"], fx.Node) else None
        bias = self.env.get(b["bias"]) if isinstance(b["bias"], fx.Node) else None
        if not isinstance(weight, _Attr) or (bias is not None and not isinstance(bias, _Attr)) \
                or not (x.last or len(x.shape) == 1) or weight.tensor.dim() != 2:  # fmt: skip
            self.fail(node, "linear with weights that are not the model's parameters")
        fields = {"out": int(weight.tensor.shape[0]), "bias": bias is not None}
        tied = id(weight.tensor) in self.param_ids
        if tied:
            fields["tied"] = True
        params = self.count(weight.tensor) + (self.count(bias.tensor) if bias else 0)
        return self.emit(node, "linear", fields, [x], name="linear", params=params)

    def tensor_or_view(self, arg, node, what):
        value = self.env.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _Attr):
            return value
        if not isinstance(value, (_T, _View)):
            self.fail(node, what)
        return value

    def add(self, node):
        a, b = (node.args + (node.kwargs.get("other"),))[:2]
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            self.fail(node, "add of a tensor and a constant")
        x, y = self.tensor(a, node, "add"), self.tensor(b, node, "add")
        if isinstance(self.env.get(a), _Attr):
            x, y = y, x  # the learned tensor (a position embedding) is added to the input
        if x.shape != y.shape or x.bdim != y.bdim:
            self.fail(node, f"add with broadcasting ({x.shape} + {y.shape})")
        if len(node.args) > 2 or node.kwargs.get("alpha", 1) != 1:
            self.fail(node, "add with alpha")
        return self.emit(node, "add", {}, [x, y], name="add")

    def mul(self, node, divide=False):
        """``x * y``: by a constant (``x * 0.125``, ``x / math.sqrt(d)``: ``mul_const``), or
        by a tensor that broadcasts to the other (an SE gate (C, 1, 1), a layer scale (D,), a
        gated unit's two halves of one shape: ``scale``)."""
        what = "div" if divide else "mul"
        a, b = (node.args + (node.kwargs.get("other"),))[:2]
        if divide and node.kwargs.get("rounding_mode") is not None:
            self.fail(node, f"div with rounding_mode={node.kwargs['rounding_mode']!r}")
        number = (int, float)
        a, b = ((self.number(v) if isinstance(v, fx.Node) and self.env.get(v) is None
                 else None) or v for v in (a, b))  # a number computed from sizes: its value
        if isinstance(b, number) and not isinstance(b, bool) or \
                isinstance(a, number) and not isinstance(a, bool) and not divide:  # fmt: skip
            tensor, c = (a, b) if isinstance(b, number) else (b, a)
            if not isinstance(tensor, fx.Node):
                self.fail(node, f"{what} of two constants")
            if divide:
                if c == 0:
                    self.fail(node, "division by zero")
                c = 1 / c
            x = self.tensor(tensor, node, what)
            return self.emit(node, "mul_const", {"by": _number(c)}, [x], name=what)
        if divide:
            self.fail(node, "division by a tensor (archcost divides by constants only)")
        if not (isinstance(a, fx.Node) and isinstance(b, fx.Node)):
            self.fail(node, "mul by a constant that is not a number")
        for arg in (a, b):
            if self.env.get(arg) is None:
                self.fail(node, "mul by a value computed from sizes (archcost multiplies by "
                                "a number written in the code)")  # fmt: skip
        x, g = self.tensor(a, node, "mul"), self.tensor(b, node, "mul")
        if isinstance(self.env.get(a), _Attr):
            x, g = g, x  # the learned tensor (a layer scale) multiplies the activation
        if x.bdim or g.bdim:
            self.fail(node, "mul of tensors whose batch axis is not first")
        if len(x.shape) == 3 and g.shape == (x.shape[0], 1, 1):
            return self.emit(node, "scale", {}, [x, g], name="scale")
        if len(g.shape) == 3 and x.shape == (g.shape[0], 1, 1):
            return self.emit(node, "scale", {}, [g, x], name="scale")
        if _broadcasts(g.shape, x.shape):
            return self.emit(node, "scale", {}, [x, g], name="scale")
        if _broadcasts(x.shape, g.shape):
            return self.emit(node, "scale", {}, [g, x], name="scale")
        self.fail(node, f"mul of shapes {x.shape} and {g.shape} (archcost scales a tensor by one "
                        "that broadcasts to it)")  # fmt: skip

    def number(self, arg):
        """A number computed in the forward from tensor sizes (``1 / math.sqrt(k.size(-1))``),
        as torch.fx records it: sizes read from the traced shapes, then only the arithmetic
        of :data:`NUMBER_FUNCTIONS` and ``math``; None when it reads the batch axis (the
        number would change with the batch) or anything else."""
        if isinstance(arg, (int, float)) or not isinstance(arg, fx.Node):
            return arg if isinstance(arg, (int, float)) else None
        args = arg.args
        if arg.op == "call_method" and arg.target == "size" and args:
            shape = self.full_shape(args[0])
            dim = _arg(args, arg.kwargs, 1, "dim", None)
            if shape is None or not isinstance(dim, int) or dim % len(shape) == 0:
                return None
            return shape[dim]
        if arg.op != "call_function":
            return None
        if arg.target is getattr and len(args) == 2 and args[1] == "shape":
            return self.full_shape(args[0])
        if arg.target is operator.getitem and len(args) == 2 and isinstance(args[1], int):
            shape = self.number(args[0])
            if not isinstance(shape, tuple) or args[1] % len(shape) == 0:
                return None
            return shape[args[1]]
        fn = arg.target
        if fn not in NUMBER_FUNCTIONS and getattr(fn, "__module__", None) != "math" or \
                arg.kwargs:  # fmt: skip
            return None
        values = [self.number(v) for v in args]
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in values):
            return None
        try:
            out = fn(*values)
        except (ArithmeticError, ValueError):
            return None
        return out if isinstance(out, (int, float)) else None

    def full_shape(self, arg):
        """The traced shape of a tensor node, batch axis included (None for other values)."""
        if not isinstance(arg, fx.Node) or not isinstance(self.env.get(arg), (_T, _View)):
            return None
        meta = arg.meta.get("tensor_meta")
        return tuple(int(d) for d in meta.shape) if meta is not None else None

    def mean(self, node):
        """``x.mean(dim, keepdim)``: over every spatial axis of a channels-first map it is the
        global average pool (``global_avgpool``, then ``flatten`` without keepdim); over any
        other axes, archcost's ``mean``."""
        x = self.tensor(node.args[0], node, "mean")
        dims = _arg(node.args, node.kwargs, 1, "dim", None)
        keep = bool(_arg(node.args, node.kwargs, 2, "keepdim", False))
        if dims is None or x.bdim:
            self.fail(node, "mean over the batch axis")
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        rank = len(x.shape) + 1
        axes = sorted({int(d) % rank for d in dims})
        if 0 in axes or not axes:
            self.fail(node, f"mean over dims {dims}, the batch axis among them")
        axes = [a - 1 for a in axes]  # per sample
        spatial = list(range(1, len(x.shape)))
        if not x.last and len(x.shape) in (2, 3, 4) and axes == spatial:
            pooled = self.emit(node, "global_avgpool", {}, [x], name="mean",
                               shape=(x.shape[0],) + (1,) * len(spatial))  # fmt: skip
            if keep:
                return pooled
            return self.emit(node, "flatten", {}, [pooled], name="flatten", shape=(x.shape[0],))
        feature = len(x.shape) - 1
        kept = len(x.shape) if keep else len(x.shape) - len(axes)
        last = x.last and feature not in axes and kept >= 2
        fields = {"axis": axes[0] if len(axes) == 1 else axes, "keepdim": keep}
        return self.emit(node, "mean", fields, [x], name="mean", last=last)

    def chunk(self, node):
        x = self.tensor(node.args[0], node, str(node.target))
        method = node.target if isinstance(node.target, str) else node.target.__name__
        second = _arg(node.args, node.kwargs, 1, "chunks" if method == "chunk" else
                      "split_size_or_sections", None)  # fmt: skip
        if method == "split" and second is None:
            second = node.kwargs.get("split_size")
        dim = _arg(node.args, node.kwargs, 2, "dim", 0)
        axis = dim % (len(x.shape) + 1) - 1
        if axis < 0 or x.bdim:
            self.fail(node, f"{method} along dim {dim}")
        c = x.shape[axis]
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
        parts = _Parts(x, ranges, x.shape)
        parts.axis = axis
        parts.equal = len(set(sizes)) == 1 and c % len(sizes) == 0 and \
            (method == "chunk" or axis != 0 or len(x.shape) != 3)  # fmt: skip
        return parts

    def getitem(self, node):
        value = self.env.get(node.args[0])
        if isinstance(value, _Pair):
            if node.args[1] != 0:
                if not node.users:  # `y, _ = attn(...)`: the weights unpacked and never read
                    return None
                self.fail(node, "the attention weights of MultiheadAttention")
            return value.first
        if isinstance(value, _Parts):
            start, end = value.ranges[node.args[1]]
            axis = value.axis
            if (start, end) == (0, value.shape[axis]):
                return value.src
            n = len(value.ranges)
            shape = list(value.shape)
            shape[axis] = end - start
            if value.equal:  # equal pieces: archcost's chunk
                fields = {"chunks": n, "index": node.args[1]}
                if axis:
                    fields["axis"] = axis
                return self.emit(node, "chunk", fields, [value.src], name="chunk",
                                 shape=tuple(shape))  # fmt: skip
            fields = {"start": start, "end": end}
            if axis:
                fields["axis"] = axis
            return self.emit(node, "slice", fields, [value.src], name="slice",
                             shape=tuple(shape))  # fmt: skip
        if value is None:
            return None
        index = node.args[1]
        if isinstance(value, _View):
            value = self.materialize(node, value)
        if isinstance(value, _Attr):  # self.pos[:, :L]: a learned (1, T, D) tensor's first L
            tensor = value.tensor
            value = self.attr_tensor(node, value)
            if tensor.dim() != len(value.shape) + 1:
                self.fail(node, "indexing a learned tensor that has no leading axis of 1")
        if isinstance(value, _T) and value.bdim == 0:
            picked = self.index(node, value, index)
            if picked is not None:
                return picked
        self.fail(node, "indexing a tensor")


    def narrow(self, node, name):
        """``x.narrow(dim, start, length)`` and ``x.select(dim, i)``: the index they equal,
        ``x[:, start:start + length]`` and ``x[:, i]`` on that dim."""
        x = self.tensor(node.args[0], node, name)
        dim = _arg(node.args, node.kwargs, 1, "dim", None)
        first = _arg(node.args, node.kwargs, 2, "start" if name == "narrow" else "index", None)
        length = _arg(node.args, node.kwargs, 3, "length", None)
        if not isinstance(dim, int) or not isinstance(first, int) or \
                (name == "narrow" and not isinstance(length, int)) or x.bdim:  # fmt: skip
            self.fail(node, f"{name} with arguments computed in the forward")
        rank = len(x.shape) + 1
        pick = slice(first, first + length) if name == "narrow" else first
        if name == "narrow" and first < 0:
            pick = slice(first % x.shape[dim % rank - 1], first % x.shape[dim % rank - 1] + length)
        out = self.index(node, x, (slice(None),) * (dim % rank) + (pick,))
        if out is None:
            self.fail(node, f"{name} along dim {dim}")
        return out

    def index(self, node, x, index):
        """``x[:, a:b]``, ``x[:, [-1], :]``, ``x[..., :8]``: indices of one per-sample axis,
        archcost's ``slice`` (a view; ``axis`` when it is not the first); an integer index
        (``x[:, 0]``: ViT's class token) is that slice with its axis then dropped (a
        ``reshape``). None for an index of another kind (several axes, steps, tensors)."""
        items = index if isinstance(index, tuple) else (index,)
        rank = len(x.shape) + 1
        ellipses = [i for i, ix in enumerate(items) if ix is Ellipsis]
        if len(ellipses) > 1 or any(ix is None for ix in items):
            return None
        if ellipses:
            k = ellipses[0]
            items = items[:k] + (slice(None),) * (rank - len(items) + 1) + items[k + 1:]
        if len(items) > rank:
            return None
        items = items + (slice(None),) * (rank - len(items))
        picked = [(i, ix) for i, ix in enumerate(items)
                  if not (isinstance(ix, slice) and ix == slice(None))]  # fmt: skip
        if not picked:
            return x
        if len(picked) != 1 or picked[0][0] == 0:
            return None
        pos, ix = picked[0]
        axis = pos - 1
        n = x.shape[axis]
        drop = False
        if isinstance(ix, slice):
            if ix.step not in (None, 1):
                return None
            bounds = (ix.start, ix.stop)
            if all(isinstance(v, (int, type(None))) for v in bounds):
                start, end, _ = ix.indices(n)
            else:  # a bound computed from sizes (self.pos[:, :x.shape[1]]): torch's length
                out = self.shape(node)
                if out is None or len(out) != len(x.shape) or \
                        not isinstance(ix.start if ix.stop is None else ix.stop, fx.Node) or \
                        not isinstance(ix.stop if ix.stop is None else ix.start,
                                       (int, type(None))):  # fmt: skip
                    return None
                if ix.stop is None:  # x[:, -k:] with k from sizes: the last out[axis]
                    start, end = n - out[axis], n
                else:
                    start = slice(ix.start, n).indices(n)[0]
                    end = start + out[axis]
        elif isinstance(ix, int) and not isinstance(ix, bool) and -n <= ix < n:
            start, end, drop = ix % n, ix % n + 1, True
        elif isinstance(ix, list) and ix and all(type(v) is int and -n <= v < n for v in ix):
            values = [v % n for v in ix]
            if values != list(range(values[0], values[0] + len(values))):
                return None  # not one run of consecutive indices
            start, end = values[0], values[0] + len(values)
        else:
            return None
        if end <= start:
            self.fail(node, f"an empty slice [{ix}] of an axis of {n}")
        if (start, end) == (0, n) and not drop:
            return x
        fields = {"start": start, "end": end}
        if axis:
            fields["axis"] = axis
        shape = list(x.shape)
        shape[axis] = end - start
        part = self.emit(node, "slice", fields, [x], name="slice", shape=tuple(shape))
        if not drop:
            return part
        shape.pop(axis)
        fields = {"shape": shape}
        if len(shape) == 2 and x.last:
            fields["layout"] = "tokens"
        return self.emit(node, "reshape", fields, [part], name="reshape", shape=tuple(shape),
                         last=x.last and len(shape) >= 2)  # fmt: skip


class _View:
    """A view in flight (a channel shuffle's 5-d view, a transpose): only more views may read
    it; ``perm`` is the axes it takes from ``base`` (batch included) while it only reorders
    them, None once it reshapes; ``bdim`` is where its batch axis is."""

    __slots__ = ("base", "shape", "real", "node", "perm", "bdim")

    def __init__(self, base, shape, node, perm=None, bdim=0):
        self.base = base
        self.shape = shape
        self.node = node  # the last view: the reshape is placed where it was made
        self.real = None  # the reshape op, once a layer reads this view
        self.perm = perm
        self.bdim = bdim


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


def _sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
          enable_gqa=False):
    """F.scaled_dot_product_attention's signature (a builtin)."""


def _linear(input, weight, bias=None):
    """F.linear's signature (a builtin: inspect cannot read it)."""


def _max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                return_indices=False):
    """F.max_pool2d's signature (the function itself dispatches on return_indices)."""


def _broadcasts(small, big) -> bool:
    """torch's broadcasting of ``small`` to ``big`` per sample: aligned from the last axis,
    each dimension equal or 1, no more axes than ``big``."""
    if small is None or big is None or len(small) > len(big):
        return False
    return all(a in (1, b) for a, b in zip(reversed(small), reversed(big), strict=False))


def _tuple(v) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


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
    p = m.padding if isinstance(m.padding, str) else pair(m.padding)
    return {"out": m.out_channels, "k": pair(m.kernel_size), "s": pair(m.stride), "p": p,
            "d": pair(m.dilation), "g": m.groups, "bias": m.bias is not None}


def _linear_fields(m) -> dict:
    return {"out": m.out_features, "bias": m.bias is not None}


def _pool_fields(k, s, p, ceil) -> dict:
    k = pair(k)
    s = k if s is None or (isinstance(s, (tuple, list)) and not s) else pair(s)
    return {"k": k, "s": s, "p": pair(p), "ceil": bool(ceil)}


def takes_ids(model, input_shape) -> bool:
    """A model with an nn.Embedding and an input of rank 1 reads token ids (L,)."""
    return len(input_shape) == 1 and any(isinstance(m, nn.Embedding) for m in model.modules())


def example_input(model, input_shape):
    """Zeros of batch 1: token ids (int64) for a model that :func:`takes_ids`."""
    dtype = torch.long if takes_ids(model, input_shape) else torch.float32
    return torch.zeros(1, *input_shape, dtype=dtype)


def _cpu_attention() -> dict:
    """FlopCounterMode counts scaled_dot_product_attention's CUDA kernels but not the CPU
    one (``_scaled_dot_product_flash_attention_for_cpu``, what nn.MultiheadAttention calls
    with need_weights=False, as nn.TransformerEncoderLayer does): the same formula as theirs,
    torch's own ``sdpa_flop_count`` (QK^T and AV, 2 x 2*L^2*D FLOPs)."""
    from torch.utils.flop_counter import sdpa_flop_count

    op = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
    if op is None:
        return {}

    def flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs):
        return sdpa_flop_count(query_shape, key_shape, value_shape)

    return {op: flops}


def model_counts(model, input_shape) -> dict:
    """The model's own numbers: unique parameter elements, BN running statistics and
    FlopCounterMode's FLOPs / 2 on one forward pass at batch 1."""
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers()
                  if not name.endswith("num_batches_tracked"))  # fmt: skip
    # with autograd on: nn.MultiheadAttention's inference fast path is invisible to the counter
    counter = FlopCounterMode(display=False, custom_mapping=_cpu_attention())
    with counter:
        model(example_input(model, input_shape))
    flops = counter.get_total_flops()
    return {"params": params, "buffers": buffers, "macs": flops // 2}


def trace(model, input_shape, source="", hooks_only=False, allow_unknown=False) -> Imported:
    """``model`` (an ``nn.Module``) as archcost ops, with its own counts to check against.
    ``hooks_only`` skips torch.fx and runs the hook trace (the fallback) directly;
    ``allow_unknown`` writes an op with no primitive as a row of type unknown."""
    model = model.eval()
    notes = []
    tracer = _Tracer()
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
            gm = hooks.trace(model, input_shape, example_input(model, input_shape))
        except Exception as err2:  # noqa: BLE001
            raise SpecError(f"import: the model does not run on an input of shape "
                            f"{list(input_shape)}: {type(err2).__name__}: {err2}") from None  # fmt: skip
    else:
        gm = fx.GraphModule(model, graph)
        with torch.no_grad():
            try:
                ShapeProp(gm).propagate(example_input(model, input_shape))
            except Exception as err:  # noqa: BLE001
                raise SpecError(f"import: the model does not run on an input of shape "
                                f"{list(input_shape)}: {type(err).__name__}: {err}") from None  # fmt: skip
    ids = takes_ids(model, input_shape)
    conv = _Converter(gm, model, ids)
    conv.allow_unknown = allow_unknown
    conv.run(input_shape)
    counts = model_counts(model, input_shape)
    for path, where in conv.shared:
        notes.append(f"{path} ({where}) reuses parameters counted at their first use; the "
                     "spec counts them again (archcost ties only linear weights)")  # fmt: skip
    tied = [op.path for op in conv.ops if op.fields.get("tied")]
    if tied:
        notes.append(f"tied weights counted once: {', '.join(tied)} (tied: true in the spec)")
    return Imported(conv.ops, tuple(input_shape), source, counts["params"], counts["macs"],
                    counts["buffers"], notes, ids, conv.tokens)  # fmt: skip

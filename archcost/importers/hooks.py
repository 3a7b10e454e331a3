"""The fallback when torch.fx cannot trace a module (control flow on tensor values, ...): run
the model once on a zero input and record what it does into an fx graph of the same form, so
that :mod:`.torch_fx`'s converter maps it unchanged.

Forward hooks record the calls of torch's own layer modules (``nn.Conv2d``, ``nn.ReLU``, ...)
as ``call_module`` nodes with their module path; a ``TorchFunctionMode`` records the functions
and tensor methods called outside them (``torch.cat``, ``F.relu``, ``x + y``, ``x.view``).
Each node carries the module stack at the call and the source line, as fx gives them. What is
recorded is the one path the input took through the model's control flow.
"""

from __future__ import annotations

import operator
import traceback
from collections import OrderedDict

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
METHOD_NAMES = {"__add__": "add", "__radd__": "add", "__iadd__": "add_", "__mul__": "mul",
                "__rmul__": "mul", "__imul__": "mul_", "__getitem__": "getitem",
                "__truediv__": "div", "__itruediv__": "div_"}  # fmt: skip
IGNORED = {"size", "dim", "numel", "__get__", "__len__", "__format__", "__repr__", "__bool__",
           "__index__", "__int__", "__float__", "item", "tolist", "is_contiguous"}  # fmt: skip


class _Meta:
    def __init__(self, shape):
        self.shape = tuple(shape)


def _is_leaf(module) -> bool:
    from .torch_fx import is_leaf

    return is_leaf(module)


class _Recorder(TorchFunctionMode):
    def __init__(self, model):
        super().__init__()
        self.graph = fx.Graph()
        self.env: dict = {}  # id(tensor) -> Node
        self.keep: list = []  # the tensors recorded, so that their ids are not reused
        self.stack: list = []  # (path, class) of the modules running now
        self.leaf = 0  # > 0 while inside a leaf module: its insides are not recorded
        self.names = {m: n for n, m in model.named_modules()}
        self.params = {id(p): n for n, p in model.named_parameters()}
        self.count = 0

    # ------------------------------------------------------------ graph building
    def _arg(self, a):
        if isinstance(a, torch.Tensor):
            if id(a) not in self.env and id(a) in self.params:  # a parameter read directly
                node = self.graph.get_attr(self.params[id(a)])
                node.meta["tensor_meta"] = _Meta(a.shape)
                self.env[id(a)] = node
            return self.env.get(id(a), a)
        if isinstance(a, (list, tuple)):
            return type(a)(self._arg(x) for x in a)
        return a

    def _bind(self, out, node):
        if isinstance(out, torch.Tensor):
            node.meta["tensor_meta"] = _Meta(out.shape)
            self.env[id(out)] = node
            self.keep.append(out)
        elif isinstance(out, (tuple, list)):
            for i, t in enumerate(out):
                if isinstance(t, torch.Tensor):
                    item = self.graph.call_function(operator.getitem, (node, i))
                    item.meta.update(node.meta)
                    self._bind(t, item)

    def _node(self, op, target, args, kwargs, extra=None):
        self.count += 1
        # a value that is not a tensor the trace made (a parameter, a constant) stays itself:
        # the converter refuses it, naming the op
        args = tuple(a if isinstance(a, (fx.Node, list, tuple)) or not isinstance(a, torch.Tensor)
                     else _Const(a) for a in (self._arg(x) for x in args))  # fmt: skip
        kwargs = {k: self._arg(v) for k, v in kwargs.items()}
        node = self.graph.create_node(op, target, args, kwargs)
        stack = OrderedDict((f"{p}@{i}", (p, c)) for i, (p, c) in enumerate(self.stack))
        if extra is not None:
            stack[f"{extra[0]}@leaf"] = extra
        node.meta["nn_module_stack"] = stack
        node.stack_trace = "".join(traceback.format_stack())
        return node

    # ------------------------------------------------------------ hooks
    def pre(self, module, args):
        if self.names.get(module) == "":
            return  # the model itself: fx's module stacks start below it
        if self.leaf:
            if _is_leaf(module):
                self.leaf += 1
            return
        if _is_leaf(module):
            self.leaf = 1
            return
        self.stack.append((self.names.get(module, "?"), type(module)))

    def post(self, module, args, output):
        if self.names.get(module) == "":
            return
        if self.leaf:
            self.leaf -= 1
            if self.leaf == 0 and _is_leaf(module):
                path = self.names.get(module, "?")
                node = self._node("call_module", path, args, {}, (path, type(module)))
                self._bind(output, node)
            return
        if self.stack:
            self.stack.pop()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.leaf:
            return out
        name = getattr(func, "__name__", "")
        if name in IGNORED or not _has_tensor(out):
            return out
        qual = getattr(func, "__qualname__", "")
        if qual.startswith(("Tensor.", "TensorBase.", "_TensorBase.")):
            method = METHOD_NAMES.get(name, name)
            if method == "getitem":
                node = self._node("call_function", operator.getitem, args, kwargs)
            else:
                node = self._node("call_method", method, args, kwargs)
        else:
            node = self._node("call_function", func, args, kwargs)
        self._bind(out, node)
        return out


class _Const:
    """A tensor the trace did not make (a parameter used directly, a constant)."""

    def __init__(self, value):
        self.shape = tuple(value.shape)

    def __repr__(self):
        return f"<tensor {list(self.shape)}>"


def _has_tensor(out) -> bool:
    if isinstance(out, torch.Tensor):
        return True
    return isinstance(out, (tuple, list)) and any(isinstance(t, torch.Tensor) for t in out)


def _drop_dead(graph):
    for node in reversed(list(graph.nodes)):
        if node.op not in ("placeholder", "output") and not node.users:
            graph.erase_node(node)


class Traced:
    """What the converter needs of a GraphModule: the graph and the submodules."""

    def __init__(self, model, graph):
        self.graph = graph
        self.get_submodule = model.get_submodule
        self.get_parameter = model.get_parameter
        self.get_buffer = model.get_buffer


def trace(model, input_shape, x=None) -> Traced:
    rec = _Recorder(model)
    x = torch.zeros(1, *input_shape) if x is None else x
    placeholder = rec.graph.placeholder("x")
    placeholder.meta["tensor_meta"] = _Meta(x.shape)
    rec.env[id(x)] = placeholder
    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(rec.pre))
        handles.append(m.register_forward_hook(rec.post))
    try:
        # autograd on, as FlopCounterMode's count: torch's inference fast paths
        # (nn.TransformerEncoderLayer, nn.MultiheadAttention) would hide their insides
        with torch.enable_grad(), rec:
            out = model(x)
    finally:
        for h in handles:
            h.remove()
    rec.graph.output(rec._arg(out) if isinstance(out, torch.Tensor) else None)
    _drop_dead(rec.graph)  # values read only by Python control flow (if x.sum() > 0)
    return Traced(model, rec.graph)

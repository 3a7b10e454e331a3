"""An ONNX graph as archcost primitives: static, with the ``onnx`` package only (no runtime).

``onnx.shape_inference`` gives every tensor's shape; initializers are the weights. Nodes
that depend only on initializers and constants (shape arithmetic, a zero bias built with
``Expand``) are folded away; every other node maps to one archcost primitive from its
attributes and its weights' dimensions (``Conv`` -> ``conv`` with ``out`` = W's first dim,
``k`` = ``kernel_shape``, ``s``, ``p``, ``d``, ``g`` = ``group``, ``bias`` when B is an
initializer). Labels and the module hierarchy come from torch's exporter metadata
(``namespace``: ``layer1.0: BasicBlock/layer1.0.conv1: Conv2d/...``) where present, else
from the weight's name (``layer1.0.conv1.weight``) or the node's name.

The model's own numbers, for the round-trip check, are computed here from the file and not by
archcost's formulas: params = elements of the initializers (BN mean and variance are
buffers), MACs = Conv: prod(W.shape) x H_out x W_out, Gemm/MatMul: M x K x N.
"""

from __future__ import annotations

import os

import onnx
from onnx import shape_inference

from ..errors import SpecError
from .ir import Imported, Op, Scope, unknown_op

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "HardSwish": "hardswish", "HardSigmoid": "hardsigmoid", "Elu": "elu",
               "Gelu": "gelu"}  # fmt: skip
CONTAINER = "torch.nn.modules.container."
LEAF = "torch.nn.modules."


def _attrs(node) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pair(v):
    v = [int(x) for x in v]
    return v[0] if len(v) == 2 and v[0] == v[1] else v


def _pads(pads):
    """ONNX pads [top, left, bottom, right] as archcost's p (symmetric only)."""
    if not pads:
        return 0
    top, left, bottom, right = (int(p) for p in pads)
    if top != bottom or left != right:
        return None
    return _pair([top, left])


class _Reader:
    def __init__(self, path):
        if not os.path.isfile(path):
            raise SpecError(f"{path}: no such file")
        try:
            model = onnx.load_model(path)  # a model file, not YAML: no spec reaches it
            model = shape_inference.infer_shapes(model)
        except Exception as err:  # noqa: BLE001 - a broken file is the user's to fix
            raise SpecError(f"{path}: not a readable ONNX model ({type(err).__name__}: {err})") from None
        self.path = path
        self.graph = model.graph
        self.inits = {i.name: tuple(int(d) for d in i.dims) for i in self.graph.initializer}
        self.const = set(self.inits)
        self.shapes = {}
        for vi in (*self.graph.value_info, *self.graph.input, *self.graph.output):
            dims = vi.type.tensor_type.shape.dim
            self.shapes[vi.name] = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in dims)
        self.alias = {}
        self.canon = {}  # a transposed initializer -> the initializer
        self.ops: list[Op] = []
        self.scopes: dict = {}
        self.params_used: set = set()
        self.buffers_used: set = set()
        self.macs = 0

    # ------------------------------------------------------------ helpers
    def src(self, name):
        return self.alias.get(name, name)

    def shape(self, name):
        return self.shapes.get(name)

    def where(self, node):
        md = {p.key: p.value for p in node.metadata_props}
        chain, leaf = [], None
        parts = [p for p in md.get("namespace", "").split("/") if p]
        comps = []
        for part in parts:
            path, _, cls = part.partition(": ")
            comps.append((path.strip(), cls.strip()))
        comps = comps[1:-1]  # the root module, and the aten op itself
        if comps and comps[-1][1].startswith(LEAF) and not comps[-1][1].startswith(CONTAINER):
            leaf = comps[-1][0]
            comps = comps[:-1]
        for path, cls in comps:
            scope = self.scopes.get(path)
            if scope is None:
                scope = Scope(path, cls.rsplit(".", 1)[-1], cls.startswith(CONTAINER))
                self.scopes[path] = scope
            chain.append(scope)
        return chain, leaf, md.get("pkg.torch.onnx.stack_trace", "")

    def emit(self, node, type_, fields, inputs, weights=(), short=None):
        chain, leaf, _ = self.where(node)
        weight = next((w for w in weights if w in self.inits), None)
        if leaf:
            path = leaf
        elif not chain and node.name.startswith("/"):
            path = _name_path(node.name) or type_
        elif weight and weight.rsplit(".", 1)[-1] in ("weight", "bias") and "." in weight:
            path = weight.rsplit(".", 1)[0]
        else:
            name = short or type_
            path = f"{chain[-1].path}.{name}" if chain else name
        out = node.output[0]
        full = self.shape(out)
        op = Op(out, type_, fields, [self.src(i) for i in inputs], full[1:] if full else None,
                path.rsplit(".", 1)[-1], path, chain, node.name)  # fmt: skip
        self.ops.append(op)
        return op

    def fail(self, node, what=None):
        chain, leaf, trace = self.where(node)
        path = leaf or (chain[-1].path if chain else "")
        source = node.name or ""
        raise unknown_op(what or f"ONNX op {node.op_type}", path, source)

    def tensor_inputs(self, node):
        return [i for i in node.input if i and i not in self.const]

    # ------------------------------------------------------------ walk
    def run(self):
        graph_inputs = [i for i in self.graph.input if i.name not in self.inits]
        if len(graph_inputs) != 1:
            raise SpecError(f"{self.path}: the graph has {len(graph_inputs)} inputs; archcost "
                            "specs have one")  # fmt: skip
        first = graph_inputs[0].name
        self.alias[first] = "input"
        self.shapes["input"] = self.shapes[first]
        input_shape = tuple(self.shapes[first][1:])
        for node in self.graph.node:
            if node.op_type == "Identity" and node.input[0] in self.inits:
                # torch's exporter shares *equal* initializers through Identity copies: each
                # copy is a weight of its own
                self.inits[node.output[0]] = self.inits[node.input[0]]
            if node.op_type == "Transpose" and node.input[0] in self.inits:
                dims = self.inits[node.input[0]]
                perm = _attrs(node).get("perm", list(range(len(dims)))[::-1])
                self.inits[node.output[0]] = tuple(dims[i] for i in perm)
                self.canon[node.output[0]] = self.canon.get(node.input[0], node.input[0])
            shape_only = node.op_type in ("Shape", "Size", "ConstantOfShape") or (
                node.op_type == "CastLike" and node.input[0] in self.const)  # a type, not data
            if node.op_type == "Constant" or shape_only or all(i in self.const for i in node.input if i):
                self.const.update(node.output)  # shape arithmetic, constant folding
                continue
            self.convert(node)
        # a weight used by two ops under one name is tied (counted once); torch's exporter
        # also shares *equal* tensors through Identity copies: those are separate weights
        params = sum(_size(self.inits[n]) for n in {self.canon.get(n, n) for n in self.params_used})
        buffers = sum(_size(self.inits[n]) for n in {self.canon.get(n, n) for n in self.buffers_used})
        used = {self.canon.get(n, n) for n in self.params_used | self.buffers_used}
        unused = [n for n in self.inits if n not in used and n not in self.canon
                  and len(self.inits[n]) > 0 and _size(self.inits[n]) > 1]  # fmt: skip
        notes = []
        if unused:
            notes.append(f"{len(unused)} initializer(s) are not weights of a mapped op and are "
                         f"not counted: {', '.join(unused[:3])}")  # fmt: skip
        return Imported(self.ops, input_shape, os.path.basename(self.path), params, self.macs,
                        buffers, notes)  # fmt: skip

    def convert(self, node):
        t = node.op_type
        a = _attrs(node)
        ins = self.tensor_inputs(node)
        out_shape = self.shape(node.output[0])
        if t == "Conv":
            w = node.input[1]
            if w not in self.inits or len(self.inits[w]) != 4:
                self.fail(node, "Conv without a 2-d weight initializer")
            wd = self.inits[w]
            b = node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else None
            auto = a.get("auto_pad", b"NOTSET")
            auto = auto.decode() if isinstance(auto, bytes) else auto
            # SAME_UPPER is TensorFlow's rule (odd padding at the end): archcost's 'same'
            p = {"NOTSET": _pads(a.get("pads")), "SAME_UPPER": "same", "VALID": "valid"}.get(auto)
            if p is None:
                self.fail(node, "Conv with asymmetric or automatic padding")
            self.params_used.update([w] + ([b] if b else []))
            self.macs += _size(wd) * out_shape[2] * out_shape[3]
            fields = {"out": wd[0], "k": _pair(wd[2:]), "s": _pair(a.get("strides", [1, 1])),
                      "p": p, "d": _pair(a.get("dilations", [1, 1])), "g": int(a.get("group", 1)),
                      "bias": b is not None}  # fmt: skip
            return self.emit(node, "conv", fields, ins[:1], (w,))
        if t == "BatchNormalization":
            scale, bias, mean, var = node.input[1:5]
            self.params_used.update([scale, bias])
            self.buffers_used.update([mean, var])
            eps = float(a.get("epsilon", 1e-5))
            fields = {} if abs(eps - 1e-5) < 1e-12 else {"eps": float(f"{eps:.6g}")}
            return self.emit(node, "bn", fields, ins[:1], (scale,), "bn")
        if t in ("Gemm", "MatMul"):
            return self.linear(node, a, ins)
        if t in ACTIVATIONS:
            return self.emit(node, ACTIVATIONS[t], {}, ins[:1], short=ACTIVATIONS[t])
        if t == "Clip":
            return self.emit(node, "relu6", {}, ins[:1], short="relu6")
        if t in ("MaxPool", "AveragePool"):
            k = a["kernel_shape"]
            p = _pads(a.get("pads"))
            if p is None or any(d != 1 for d in a.get("dilations", [1, 1])):
                self.fail(node, f"{t} with asymmetric padding or dilation")
            kind = "maxpool" if t == "MaxPool" else "avgpool"
            fields = {"k": _pair(k), "s": _pair(a.get("strides", [1, 1])), "p": p,
                      "ceil": bool(a.get("ceil_mode", 0))}  # fmt: skip
            return self.emit(node, kind, fields, ins[:1], short=kind)
        if t == "GlobalAveragePool":
            return self.emit(node, "global_avgpool", {}, ins[:1], short="avgpool")
        if t == "ReduceMean":
            x = self.shape(ins[0])
            if len(x) == 4 and out_shape in ((x[0], x[1], 1, 1), (x[0], x[1])):
                op = self.emit(node, "global_avgpool", {}, ins[:1], short="mean")
                if len(out_shape) == 2:
                    op.shape = (x[1], 1, 1)
                    op.id = node.output[0] + "/pool"
                    self.ops.append(Op(node.output[0], "flatten", {}, [op.id], (x[1],),
                                       "flatten", op.path + ".flatten", op.scopes, node.name))  # fmt: skip
                return op
            self.fail(node, "ReduceMean other than over H and W")
        if t in ("Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Identity"):
            return self.view(node, ins)
        if t == "Concat":
            if a.get("axis") not in (1, -3):
                self.fail(node, f"Concat along axis {a.get('axis')}")
            return self.emit(node, "concat", {}, ins, short="cat")
        if t == "Add" and len(ins) == 2 and self.shape(ins[0]) == self.shape(ins[1]):
            return self.emit(node, "add", {}, ins, short="add")
        if t == "Mul" and len(ins) == 2:
            silu = self.silu(node, ins)
            if silu:
                return silu
            x, g = (self.shape(i) for i in ins)
            if len(x) == 4 and g == (x[0], x[1], 1, 1):
                return self.emit(node, "scale", {}, ins, short="scale")
            if len(g) == 4 and x == (g[0], g[1], 1, 1):
                return self.emit(node, "scale", {}, ins[::-1], short="scale")
        if t in ("Softmax", "LogSoftmax"):
            return self.emit(node, "softmax", {}, ins[:1], short="softmax")
        if t == "Dropout":
            self.alias[node.output[0]] = self.src(ins[0])
            return None
        if t == "LRN":
            return self.emit(node, "lrn", {"size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
                                           "beta": float(a.get("beta", 0.75)),
                                           "k_const": float(a.get("bias", 1.0))}, ins[:1],
                             short="lrn")  # fmt: skip
        self.fail(node)

    def silu(self, node, ins):
        """x * sigmoid(x), torch's export of SiLU: the sigmoid op becomes the silu."""
        for a, b in (ins, ins[::-1]):
            op = self.ops[-1] if self.ops else None
            if op is not None and op.id == b and op.type == "sigmoid" and op.inputs == [self.src(a)]:
                op.type, op.name = "silu", "silu"
                self.alias[node.output[0]] = op.id
                return op
        return None

    def linear(self, node, a, ins):
        w = node.input[1]
        if w not in self.inits or len(self.inits[w]) != 2 or len(ins) != 1:
            self.fail(node, f"{node.op_type} that is not a layer with a weight initializer")
        x = self.shape(ins[0])
        if x is None or len(x) != 2:
            self.fail(node, f"{node.op_type} on a {len(x or ())}-d tensor")
        wd = self.inits[w]
        trans = node.op_type == "Gemm" and a.get("transB", 0)
        k, n = (wd[1], wd[0]) if trans else (wd[0], wd[1])
        if node.op_type == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("transA", 0)):
            self.fail(node, "Gemm with alpha or transA")
        b = node.input[2] if len(node.input) > 2 and node.input[2] in self.inits else None
        self.params_used.update([w] + ([b] if b else []))
        self.macs += k * n
        return self.emit(node, "linear", {"out": n, "bias": b is not None}, ins, (w,), "linear")

    def view(self, node, ins):
        x = self.shape(ins[0])
        y = self.shape(node.output[0])
        if y == x:
            self.alias[node.output[0]] = self.src(ins[0])
            return None
        if y is not None and len(y) == 2:
            return self.emit(node, "flatten", {}, ins[:1], short="flatten")
        self.fail(node, f"{node.op_type} to shape {y}")


def _name_path(name: str) -> str:
    """torch's older exporter names nodes by scope: '/layer1/layer1.0/conv1/Conv' is the
    module layer1.0.conv1."""
    full: list = []
    for part in name.strip("/").split("/")[:-1]:
        if full and part.startswith(full[-1] + "."):
            full[-1] = part
        else:
            full.append(part)
    return ".".join(full)


def _size(dims) -> int:
    n = 1
    for d in dims:
        n *= d
    return n


def read(path: str) -> Imported:
    """The ONNX file at ``path`` as archcost ops, with the file's own counts."""
    return _Reader(path).run()

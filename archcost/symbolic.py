"""Formulas behind the numbers, as sympy expressions (imported only when asked for).

Each primitive's formula is written once, in :mod:`archcost.layers`, as plain arithmetic.
Here the same function is called with sympy symbols for the layer's own dimensions
(C_in, H_in, W_in, C_out, k_h, k_w, s_h, ...) instead of integers, which yields the
expression; substituting the layer's values gives back exactly the integer the numeric path
computed (a test checks this for every layer of every built-in spec).
"""

from __future__ import annotations

import sympy

from . import layers as L
from .errors import SpecError
from .graph import Network, Node
from .limits import MAX_SYMBOLIC_NODES
from .report import Column, render, to_json
from .shapes import layout_of, shaped

_PAIR_NAMES = {"k": ("k_h", "k_w"), "s": ("s_h", "s_w"), "d": ("d_h", "d_w"),
               "p": ("p_h", "p_w"), "size": ("h_out", "w_out")}  # fmt: skip
_TRIPLE_NAMES = {"k": ("k_d", "k_h", "k_w"), "s": ("s_d", "s_h", "s_w"), "d": ("d_d", "d_h", "d_w"),
                 "p": ("p_d", "p_h", "p_w")}  # fmt: skip
_SCALAR_NAMES = {"out": "C_out", "g": "g"}


_AXIS_NAMES = {"C": "C_in", "H": "H_in", "W": "W_in", "D": "D_in", "L": "L_in", "N": "N_in"}


def _input_symbols(shapes):
    """Symbols for the input shapes, one per axis named by its layout: (C_in, H_in, W_in),
    tokens (L_in, D_in), (C_in, L_in), ...; several inputs get an index."""
    out, subs = [], {}
    for i, shape in enumerate(shapes):
        suffix = "" if len(shapes) == 1 else str(i + 1)
        lay = layout_of(shape)
        if lay == "LC":
            names = ("L_in", "D_in")  # tokens: L tokens of D features, as the papers write
        else:
            names = tuple(_AXIS_NAMES.get(a, f"X{k}_in") for k, a in enumerate(lay))
        syms = shaped([sympy.Symbol(n + suffix, positive=True, integer=True) for n in names], lay)
        out.append(syms)
        subs.update(dict(zip(syms, shape, strict=True)))
    return out, subs


def node_formula(node: Node):
    """(params, macs, ops, substitutions) for one node, as sympy expressions."""
    prim = L.PRIMITIVES[node.op]
    shapes = [i.shape for i in node.inputs]
    if node.op == "unknown":  # no formula: None for what is unknown (archcost.unknown)
        known = (None if v is None else sympy.Integer(v) for v in (node.params, node.macs,
                                                                    node.ops))  # fmt: skip
        return (*known, {})
    if prim.arity is None or prim.arity == 2:  # concat/add/scale: shapes stay numeric
        cost = prim.fn(*shapes, **node.fields)
        return sympy.Integer(cost.params), sympy.Integer(cost.macs), sympy.Integer(cost.ops), {}
    sym_shapes, subs = _input_symbols(shapes)
    fields = {}
    for name, value in node.fields.items():
        names = {2: _PAIR_NAMES, 3: _TRIPLE_NAMES}.get(len(value), {}) \
            if isinstance(value, tuple) else {}  # fmt: skip
        if name in names and all(type(v) is int for v in value):
            if len(set(value)) == 1 and name != "size":
                sym = sympy.Symbol(name, positive=True, integer=True)
                fields[name] = (sym,) * len(value)
                subs[sym] = value[0]
            else:
                syms = tuple(sympy.Symbol(n, integer=True, nonnegative=True)
                             for n in names[name])  # fmt: skip
                fields[name] = syms
                subs.update(dict(zip(syms, value, strict=True)))
        elif name in _SCALAR_NAMES and type(value) is int:
            sym = sympy.Symbol(_SCALAR_NAMES[name], positive=True, integer=True)
            fields[name] = sym
            subs[sym] = value
        else:
            fields[name] = value
    if "p" in fields and fields["p"] in ("same", "valid"):
        fields["p"] = node.fields["p"]
    cost = prim.fn(*sym_shapes, **fields)
    return _expr(cost.params), _expr(cost.macs), _expr(cost.ops), subs


def _expr(value):
    """An int or a sympy expression as sympy, without sympify (which parses strings)."""
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, sympy.Basic):
        return value
    raise TypeError(f"a cost is {type(value).__name__}, not a number or a formula")


def evaluate_formula(expr, subs) -> int:
    if expr is None:  # an unknown op's cost
        return None
    value = expr.subs(subs)
    return int(value)


def render_formulas(net: Network, fmt: str) -> str:
    """One line per primitive with its params and MACs formulas and their values."""
    if len(net.nodes) > MAX_SYMBOLIC_NODES:  # sympy takes a few ms a layer
        raise SpecError(f"--symbolic handles at most {MAX_SYMBOLIC_NODES:,} layers; "
                        f"{net.name} has {len(net.nodes):,}")  # fmt: skip
    records = []
    for node in net.nodes:
        params, macs, _ops, subs = node_formula(node)
        if params == 0 and macs == 0:
            continue
        records.append({
            "name": node.id,
            "row": node.row.id if node.row else "",
            "type": node.op,
            "params_formula": _shown(params, node),
            "params": evaluate_formula(params, subs),
            "macs_formula": _shown(macs, node),
            "macs": evaluate_formula(macs, subs),
            "values": {str(k): v for k, v in subs.items()},
            "latex": {"params": _shown(params, node, sympy.latex),
                      "macs": _shown(macs, node, sympy.latex)},
        })  # fmt: skip
    if fmt == "json":
        return to_json({"network": net.name, "layers": records})
    columns = [Column("name", "layer", numeric=False),
               Column("params_formula", "params formula", numeric=False), Column("params", "params"),
               Column("macs_formula", "MACs formula", numeric=False), Column("macs", "MACs"),
               Column("where", "where", numeric=False)]  # fmt: skip
    for rec in records:
        rec["where"] = ", ".join(f"{k}={v}" for k, v in rec["values"].items())
        if fmt == "latex":
            rec["params_formula"] = rec["latex"]["params"]
            rec["macs_formula"] = rec["latex"]["macs"]
    if fmt != "csv":
        from .unknown import mark

        mark(records, ("params", "macs"))
    return render(columns, records, fmt, title=f"{net.title}: formulas per layer")


def _shown(expr, node, show=str) -> str:
    """A formula as text, or what stands for an unknown one (archcost.unknown)."""
    if expr is None:
        return unknown_formula(node)
    return show(expr)


def unknown_formula(node) -> str:
    """The statement shown where an unknown op's formula would be."""
    return f"unknown: no formula for {node.fields.get('op', node.op)}"

"""Whole-network costs as exact sympy expressions of the spec's parameters (``--in alpha``).

The spec is expanded again with sympy symbols as the chosen parameters' values: the same
expander, the same layer functions, with an expression evaluator whose functions are sympy's
(floor, ceiling, Min, Max, exact Rational division, a symbolic ``make_divisible`` and
``round``). The result is exact: substituting any value gives the engine's integer, as long as
the network's *structure* is the same there.

Structure is decided from values in a few places (a ``when:`` condition, a comparison, a
``repeat`` count). Symbols cannot decide these, so each such decision is taken at the
*decision point* (the parameters' defaults, or their ``--set`` values) and recorded; the
output says which decisions were taken, and the formula holds wherever they come out the
same. ``continuous`` takes each min/max at the decision point and replaces each rounding by a
polynomial, which leaves a polynomial: how cost grows with each parameter (MobileNet: alpha^2,
resolution^2). Two ways:

* ``piecewise`` (the default): R(x) -> x + (R(x0) - x0), the rounding's offset at the decision
  point x0 kept as a constant (floor((r-1)/2) -> r/2 - 1 at r = 224). Exact at the decision
  point, and wherever every rounded quantity has the same fractional part as there (MobileNet:
  every resolution that is a multiple of 32, every alpha that is a multiple of 1/32).
* ``relaxed``: R(x) -> x, the rounding dropped. Each nested ``floor((r-1)/2)+1`` becomes
  ``r/2 + 1/2``, so it is off everywhere (MobileNet: +12.4% MACs at the defaults).

sympy is imported here only; nothing from a spec reaches sympify or a parser: expressions are
evaluated by :class:`archcost.expr.Evaluator` from the checked tree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import sympy

from . import expr as E
from .errors import SpecError
from .limits import MAX_FORMULA_TERMS, MAX_SYMBOLIC_NODES
from .spec import build_doc, param_values

# ---------------------------------------------------------------- numbers and symbols


def plain(value):
    """A Python int/Fraction for a number (sympy or not); None for anything symbolic."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Fraction)):
        return value
    if isinstance(value, sympy.Basic) and value.is_Rational:
        return int(value) if value.is_Integer else Fraction(int(value.p), int(value.q))
    return None


def to_sympy(value):
    """A number or a sympy expression as sympy, without sympify (which parses strings)."""
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    return sympy.Integer(value) if isinstance(value, int) else value


def _back(value):
    """A sympy result that is just a number goes back to a Python number."""
    number = plain(value)
    return number if number is not None else value


class make_divisible(sympy.Function):  # noqa: N801 - printed as the spec's function name
    """make_divisible(v, divisor, min_value), exact: evaluates once its arguments are numbers."""

    nargs = 3

    @classmethod
    def eval(cls, v, divisor, min_value):
        args = [plain(a) for a in (v, divisor, min_value)]
        if all(a is not None for a in args):
            return sympy.Integer(E.make_divisible(*args))
        return None

    def _eval_is_integer(self):
        return True  # a multiple of the divisor (whole divisors in every spec)

    def _eval_is_positive(self):
        return self.args[2].is_positive


class round_half_even(sympy.Function):  # noqa: N801
    """Python's round(x): to the nearest integer, ties to even; evaluates on numbers."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        number = plain(x)
        if number is not None:
            return sympy.Integer(round(Fraction(number)))
        if x.is_integer:
            return x
        return None

    def _eval_is_integer(self):
        return True

    def _sympystr(self, printer):
        return f"round({printer._print(self.args[0])})"

    def _latex(self, printer, exp=None):
        text = rf"\operatorname{{round}}\left({printer._print(self.args[0])}\right)"
        return text if exp is None else rf"{text}^{{{exp}}}"


def _md_str(self, printer):
    return "make_divisible(" + ", ".join(printer._print(a) for a in self.args) + ")"


def _md_latex(self, printer, exp=None):
    text = r"\operatorname{make\_divisible}\left(" + ", ".join(
        printer._print(a) for a in self.args) + r"\right)"
    return text if exp is None else rf"{text}^{{{exp}}}"


make_divisible._sympystr = _md_str
make_divisible._latex = _md_latex


# ---------------------------------------------------------------- decisions


@dataclass
class Decision:
    """A structural choice taken at the decision point because symbols could not take it."""

    source: str  # the spec text it came from (an expression, a when:, a repeat:)
    what: str  # e.g. "floor(32*alpha) >= 8" or "repeat = ceil(2*depth)"
    outcome: str  # "true", "false", "3", "the first argument", ...
    count: int = 1

    def describe(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        return f"{self.what} -> {self.outcome}  [from {self.source!r}]{times}"


@dataclass
class DecisionLog:
    point: dict  # Symbol -> sympy number: where decisions are taken
    items: dict = field(default_factory=dict)

    def at_point(self, value) -> Fraction | int:
        """The exact number an expression takes at the decision point."""
        number = plain(value)
        if number is not None:
            return number
        number = plain(to_sympy(value).xreplace(self.point))
        if number is None:
            raise SpecError(f"cannot evaluate {value} at the decision point "
                            f"({_point_text(self.point)})")  # fmt: skip
        return number

    def record(self, source, what, outcome, count: bool = True) -> None:
        key = (source, what, outcome)
        if key in self.items:
            self.items[key].count += 1 if count else 0
        else:
            self.items[key] = Decision(source, what, outcome)

    def decisions(self) -> list[Decision]:
        return list(self.items.values())


def _point_text(point) -> str:
    return ", ".join(f"{k}={_num_text(plain(v))}" for k, v in point.items())


def _num_text(value) -> str:
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"
    return str(value)


# ---------------------------------------------------------------- the sympy evaluator


class SympyEvaluator(E.Evaluator):
    """Expression evaluator over sympy values; numbers stay exact Python numbers.

    Functions of plain numbers are computed numerically (exactly as the engine does);
    functions of symbols give sympy expressions: int -> floor (for a positive argument,
    the parameters' case; ceiling when the argument is negative at the decision point),
    floor, ceiling, Min, Max, Abs, round (ties to even), make_divisible. Comparisons and
    structural values (when, repeat) involving symbols are decided at the decision point
    and logged.
    """

    memoize = False  # every evaluation may log a decision

    def __init__(self, log: DecisionLog):
        self.log = log
        self.current = ""
        functions = {
            "min": self._minmax(min, sympy.Min),
            "max": self._minmax(max, sympy.Max),
            "abs": self._unary(abs, sympy.Abs),
            "round": self._round,
            "int": self._int,
            "floor": self._unary(math.floor, sympy.floor),
            "ceil": self._unary(math.ceil, sympy.ceiling),
            "make_divisible": self._make_divisible,
        }
        super().__init__(functions=functions, divide=self._divide, power=self._power,
                         compare=self._compare)  # fmt: skip

    def __call__(self, text, env):
        outer, self.current = self.current, text
        try:
            return super().__call__(text, env)
        finally:
            self.current = outer

    @staticmethod
    def _unary(numeric, symbolic):
        def fn(x):
            number = plain(x)
            return numeric(number) if number is not None else _back(symbolic(x))

        return fn

    @staticmethod
    def _minmax(numeric, symbolic):
        def fn(*args):
            numbers = [plain(a) for a in args]
            if all(n is not None for n in numbers):
                return numeric(*numbers)
            return _back(symbolic(*(to_sympy(a) for a in args)))

        return fn

    def _int(self, x):
        number = plain(x)
        if number is not None:
            return math.trunc(number)
        if self.log.at_point(x) < 0:
            self.log.record(self.current, f"int({x}) of a negative value", "ceiling")
            return _back(sympy.ceiling(x))
        return _back(sympy.floor(x))

    def _round(self, x, ndigits=None):
        number = plain(x)
        if number is not None and ndigits is None:
            return round(number)
        if number is not None:
            return round(number, ndigits)
        if ndigits is not None:
            scale = sympy.Integer(10) ** ndigits
            return _back(round_half_even(x * scale) / scale)
        return _back(round_half_even(x))

    def _make_divisible(self, value, divisor=8, min_value=None):
        numbers = [plain(a) for a in (value, divisor)]
        if all(n is not None for n in numbers) and (min_value is None or plain(min_value) is not None):
            return E.make_divisible(numbers[0], numbers[1],
                                    None if min_value is None else plain(min_value))  # fmt: skip
        if min_value is None:
            min_value = divisor
        return _back(make_divisible(to_sympy(value), to_sympy(divisor), to_sympy(min_value)))

    @staticmethod
    def _divide(a, b):
        if plain(a) is not None and plain(b) is not None:
            return E._exact_divide(plain(a), plain(b))
        if plain(b) == 0:
            raise ZeroDivisionError
        return _back(to_sympy(a) / to_sympy(b))

    @staticmethod
    def _power(a, b):
        if plain(a) is not None and plain(b) is not None:
            return E._bounded_power(plain(a), plain(b))
        exponent = plain(b)
        if exponent is None or (isinstance(exponent, Fraction) and exponent.denominator != 1):
            raise E.ExprError("exponents must be whole numbers")
        if abs(exponent) > E.MAX_EXPONENT:
            raise E.ExprError(f"exponent {exponent} is larger than {E.MAX_EXPONENT}")
        return _back(to_sympy(a) ** int(exponent))

    def _compare(self, symbol, a, b):
        pa, pb = plain(a), plain(b)
        if pa is not None and pb is not None:
            return E.compare(symbol, pa, pb)
        if isinstance(a, (str, bool)) or isinstance(b, (str, bool)):
            return E.compare(symbol, a, b)
        if a == b:  # the same expression: true or false for every value, no decision
            return symbol in ("==", "<=", ">=")
        result = E.compare(symbol, self.log.at_point(a), self.log.at_point(b))
        self.log.record(self.current, f"{a} {symbol} {b}", str(result).lower())
        return result

    def structural(self, value, source):
        """A when/repeat value that involves symbols: taken at the decision point."""
        if isinstance(value, bool) or plain(value) is not None:
            return value
        if not isinstance(value, sympy.Basic):
            return value
        truth = value.xreplace(self.log.point)
        if truth is sympy.true or truth is sympy.false:  # a true/false spec parameter
            self.log.record(str(source), f"{value}", "true" if truth is sympy.true else "false")
            return truth is sympy.true
        number = self.log.at_point(value)
        self.log.record(str(source), f"{value}", _num_text(number))
        return number


# ---------------------------------------------------------------- whole-network formulas


@dataclass
class NetworkFormula:
    network: str
    symbols: list  # the sympy symbols, in the order asked for
    point: dict  # Symbol -> value (the decision point)
    fixed: dict  # other parameters: name -> value
    params: object  # sympy expression
    macs: object
    activations: object
    decisions: list
    continuous: bool | str = False  # False, "piecewise" or "relaxed"
    numeric: dict = field(default_factory=dict)  # engine's totals at the decision point
    unknowns: list = field(default_factory=list)  # (symbol, row id, op) of unknown quantities


def network_formula(doc, name: str, names: list[str], sets: dict | None = None,
                    train: bool = False, continuous: bool = False) -> NetworkFormula:  # fmt: skip
    """Params, MACs and activations of a spec as expressions of the parameters ``names``."""
    values = param_values(doc, sets)  # numbers: defaults, then --set (checks the names)
    declared = list(values)
    if not names:
        raise SpecError("--in needs at least one parameter" + (
            f"; this network has: {', '.join(declared)}" if declared else
            "; this network declares no parameters"))  # fmt: skip
    for n in names:
        if n not in values:
            raise SpecError(f"--in {n}: this network has no such parameter; "
                            f"parameters: {', '.join(declared) or 'none'}", doc["_file"])  # fmt: skip
    symbols = [sympy.Symbol(n, positive=True) for n in names]
    point = {s: to_sympy(values[n]) for s, n in zip(symbols, names, strict=True)}
    env = dict(values)
    env.update({n: s for n, s in zip(names, symbols, strict=True)})
    log = DecisionLog(point)
    numeric_net = build_doc(doc, name, params=values, train=train)
    if len(numeric_net.nodes) > MAX_SYMBOLIC_NODES:  # sympy takes a few ms a layer
        raise SpecError(f"--in handles at most {MAX_SYMBOLIC_NODES:,} layers "
                        f"(MAX_SYMBOLIC_NODES); {name} has {len(numeric_net.nodes):,}")  # fmt: skip
    net = build_doc(doc, name, params=env, train=train, evaluator=SympyEvaluator(log),
                    symbolic=True)  # fmt: skip
    unknowns = _unknown_symbols(net)
    params = sympy.Add(*[to_sympy(n.params) if n.params is not None else unknowns[n.id, "params"]
                         for n in net.nodes])  # fmt: skip
    macs = sympy.Add(*[to_sympy(n.macs) if n.macs is not None else unknowns[n.id, "macs"]
                       for n in net.nodes])  # fmt: skip
    acts = sympy.Add(*[to_sympy(n.activations) for n in net.nodes])
    numeric = {"params": numeric_net.total("params"), "macs": numeric_net.total("macs"),
               "activations": numeric_net.total("activations")}  # fmt: skip
    if continuous is True:
        continuous = "relaxed"
    if continuous:
        if continuous not in CONTINUOUS:
            raise SpecError(f"continuous form {continuous!r}: expected one of "
                            f"{', '.join(CONTINUOUS)}")  # fmt: skip
        params, macs, acts = (drop_rounding(e, log, continuous) for e in (params, macs, acts))
    fixed = {n: v for n, v in values.items() if n not in names}
    return NetworkFormula(name, symbols, point, fixed, params, macs, acts, log.decisions(),
                          continuous, numeric,
                          [(str(sym), row, op) for (_id, _q), (sym, row, op) in
                           _unknown_symbols.described(net, unknowns).items()])  # fmt: skip


def _unknown_symbols(net) -> dict:
    """{(node id, quantity): Symbol} for the unknown quantities of the network's ``unknown``
    rows: ``macs_u1``, ``params_u1`` for the first, and so on. An unknown stays a symbol in
    the whole-network formula, so the formula says exactly what it lacks (archcost.unknown);
    its value at a point is unknown. The names are numbered, never built from spec text."""
    out = {}
    k = 0
    for n in net.nodes:
        if n.op != "unknown":
            continue
        k += 1
        for q in ("params", "macs"):
            if getattr(n, q) is None:
                out[n.id, q] = sympy.Symbol(f"{q}_u{k}", nonnegative=True, integer=True)
    return out


def _described(net, unknowns) -> dict:
    by_id = {n.id: n for n in net.nodes}
    return {key: (sym, by_id[key[0]].id, str(by_id[key[0]].fields.get("op", "")))
            for key, sym in unknowns.items()}  # fmt: skip


_unknown_symbols.described = _described


def has_unknown(expr, f) -> bool:
    """True when ``expr`` holds one of the formula's unknown symbols."""
    names = {name for name, _row, _op in f.unknowns}
    return any(str(s) in names for s in getattr(expr, "free_symbols", ()))


def value_at(expr, point) -> Fraction | int:
    """An expression's exact value at a point (Symbol -> number)."""
    number = plain(to_sympy(expr).xreplace(point))
    if number is None:
        raise SpecError(f"{expr} does not evaluate to a number at {_point_text(point)}")
    return number


CONTINUOUS = ("piecewise", "relaxed")


def drop_rounding(expr, log: DecisionLog, mode: str = "relaxed"):
    """The continuous form: each min/max taken at the decision point (and logged), then each
    rounding R (floor, ceiling, round, make_divisible) replaced by a polynomial, expanded.

    relaxed:   R(x) -> x.
    piecewise: R(x) -> x + (R(x0) - x0), with x0 the value at the decision point (logged):
               exact there and wherever x has the same offset to its rounding.
    """

    def choose(kind):
        def pick(*args):
            values = [log.at_point(a) for a in args]
            best = (max if kind == "max" else min)(values)
            chosen = args[values.index(best)]
            log.record("continuous", f"{kind}({', '.join(str(a) for a in args)})",
                       f"{chosen} (at the decision point)", count=False)  # fmt: skip
            return chosen

        return pick

    def keep(rounding):
        def replace(*args):
            x = args[0]
            if mode == "relaxed":
                return x
            offset = to_sympy(log.at_point(rounding(*args)) - log.at_point(x))
            out = x + offset
            if offset != 0:
                log.record("piecewise", f"{rounding(*args)}", f"{out} (offset at the point)",
                           count=False)  # fmt: skip
            return out

        return replace

    out = expr.replace(sympy.Max, choose("max")).replace(sympy.Min, choose("min"))
    for fn in (sympy.floor, sympy.ceiling, round_half_even, make_divisible):
        out = out.replace(fn, keep(fn))
    bound = term_bound(out, MAX_FORMULA_TERMS)
    if bound > MAX_FORMULA_TERMS:
        raise SpecError(f"--continuous: the expanded formula would have up to {bound:,} terms "
                        f"(limit MAX_FORMULA_TERMS = {MAX_FORMULA_TERMS:,}); take fewer --in "
                        "parameters")  # fmt: skip
    return sympy.expand(out)


def term_bound(expr, cap: int) -> int:
    """An upper bound on the terms of ``sympy.expand(expr)``, saturating just above ``cap``.

    A sum has at most the sum of its parts' terms, a product the product, a power ``t**n`` of a
    t-term base at most C(t + |n| - 1, |n|) (the monomials of degree n in t variables). Each
    distinct subexpression is bounded once, so the walk is linear in the expression's size.
    """
    from math import comb

    memo: dict = {}

    def walk(e) -> int:
        known = memo.get(e)
        if known is not None:
            return known
        if e.is_Atom:
            n = 1
        elif e.is_Add:
            n = min(cap + 1, sum(walk(a) for a in e.args))
        elif e.is_Mul:
            n = 1
            for a in e.args:
                n = min(cap + 1, n * walk(a))
        elif e.is_Pow and e.exp.is_Integer:
            t, k = walk(e.base), abs(int(e.exp))
            n = 1 if t == 1 else cap + 1 if k > cap else min(cap + 1, comb(t + k - 1, k))
        else:
            n = min(cap + 1, sum(walk(a) for a in e.args) or 1)
        memo[e] = n
        return n

    try:
        return walk(expr)
    except RecursionError:
        return cap + 1


def growth(expr, symbols) -> dict:
    """Degree of a polynomial in each symbol (how cost grows), None when not polynomial.

    One pass over the terms (``sympy.degree`` per symbol rebuilt a polynomial each time:
    40 parameters took minutes).
    """
    degrees = {s: 0 for s in symbols}
    wanted = set(symbols)
    odd: set = set()
    for term in sympy.Add.make_args(expr):
        for base, exp in term.as_powers_dict().items():
            hits = base.free_symbols & wanted
            if not hits:
                continue
            if base in degrees and exp.is_Integer and exp >= 0:
                degrees[base] = max(degrees[base], int(exp))
            else:
                odd |= hits
    return {str(s): None if s in odd else degrees[s] for s in symbols}

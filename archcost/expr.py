"""Safe arithmetic for spec fields such as ``out: int(64 * alpha)``.

A field's text is parsed once with :func:`ast.parse` and checked against a whitelist:
numbers, names (spec parameters, block arguments, ``in_c``/``in_h``/``in_w``), ``+ - * / // % **``,
comparisons, ``and``/``or``/``not``, ``x if c else y``, parentheses and the functions in
:data:`NUMERIC_FUNCTIONS`. Attribute access, subscripts, lambdas, comprehensions, keywords,
strings and dunder names are rejected before anything is evaluated. Nothing from a spec ever
reaches ``eval``, ``exec``, ``sympy.sympify`` or ``parse_expr``.

Numbers stay exact: ``/`` gives a :class:`fractions.Fraction`, floats from YAML are read as the
decimal they print as (``0.75`` is 3/4). The same checked tree is evaluated with sympy
functions by :mod:`archcost.symbolic` to show formulas; numbers never go through sympy.
"""

from __future__ import annotations

import ast
import math
from fractions import Fraction
from functools import lru_cache

from .errors import SpecError
from .limits import MAX_EXPONENT, MAX_EXPR_CHARS, MAX_NUMBER_BITS


def make_divisible(value, divisor=8, min_value=None):
    """Round a channel count to a multiple of ``divisor`` the way MobileNet v2/v3 do.

    ``max(min_value, int(value + divisor/2) // divisor * divisor)``, plus one more ``divisor``
    when that rounds down by more than 10% (torchvision ``_make_divisible``, from the TF code).
    """
    if min_value is None:
        min_value = divisor
    value = Fraction(value)
    new = max(min_value, math.floor(value + Fraction(divisor, 2)) // divisor * divisor)
    if new < Fraction(9, 10) * value:
        new += divisor
    return new


def _round(x, ndigits=None):
    return round(x) if ndigits is None else round(x, ndigits)


NUMERIC_FUNCTIONS = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": _round,  # Python's round: half to even
    "int": math.trunc,
    "floor": math.floor,
    "ceil": math.ceil,
    "make_divisible": make_divisible,
}

_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
    ast.Mod: lambda a, b: a % b,
}
_CMPOPS = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call,
    ast.Name, ast.Constant, ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)  # fmt: skip


class ExprError(SpecError):
    """A field's expression is not allowed or cannot be evaluated."""


@lru_cache(maxsize=8192)
def compile_expr(text: str) -> ast.Expression:
    """Parse and check an expression once; later evaluations reuse the tree."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPR_CHARS} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"cannot parse expression {text!r}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError(f"expression {text[:40]!r} is not valid") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            what = type(node).__name__
            raise ExprError(f"{what} is not allowed in expression {text!r} (only arithmetic)")
        if isinstance(node, ast.Name) and (node.id.startswith("_") or "__" in node.id):
            raise ExprError(f"name {node.id!r} is not allowed in expression {text!r}")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, (str, bytes, complex)) or node.value is None
        ):
            raise ExprError(f"only numbers are allowed in expression {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in NUMERIC_FUNCTIONS:
                name = getattr(node.func, "id", None) or type(node.func).__name__
                raise ExprError(
                    f"function {name!r} is not allowed in expression {text!r}; "
                    f"allowed: {', '.join(sorted(NUMERIC_FUNCTIONS))}"
                )
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExprError(f"keyword or starred arguments are not allowed in {text!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.MatMult, ast.BitAnd, ast.BitOr,
                                                                 ast.BitXor, ast.LShift, ast.RShift)):
            raise ExprError(f"operator {type(node.op).__name__} is not allowed in {text!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            raise ExprError(f"operator ~ is not allowed in {text!r}")
    return tree


def _check_size(value):
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise ExprError(f"a value in the expression exceeds {MAX_NUMBER_BITS} bits")
    if isinstance(value, Fraction) and (
        value.numerator.bit_length() > MAX_NUMBER_BITS
        or value.denominator.bit_length() > MAX_NUMBER_BITS
    ):
        raise ExprError(f"a value in the expression exceeds {MAX_NUMBER_BITS} bits")
    return value


class Evaluator:
    """Evaluates a checked tree with one set of functions (numbers here, sympy in symbolic.py)."""

    def __init__(self, functions=NUMERIC_FUNCTIONS, divide=None, power=None):
        self.functions = functions
        self.divide = divide or _exact_divide
        self.power = power or _bounded_power

    def __call__(self, text: str, env: dict):
        tree = compile_expr(text)
        try:
            return self._eval(tree.body, env, text)
        except ExprError:
            raise
        except ZeroDivisionError:
            raise ExprError(f"division by zero in {text!r}") from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"cannot evaluate {text!r}: {exc}") from None

    def _eval(self, node, env, text):
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return value
            if isinstance(value, float):
                return Fraction(repr(value))
            return _check_size(value)
        if isinstance(node, ast.Name):
            if node.id in env:
                return env[node.id]
            if node.id in ("True", "False"):
                return node.id == "True"
            known = ", ".join(sorted(k for k in env if not k.startswith("_"))) or "none"
            raise ExprError(f"unknown name {node.id!r} in {text!r} (known: {known})")
        if isinstance(node, ast.BinOp):
            a = self._eval(node.left, env, text)
            b = self._eval(node.right, env, text)
            if isinstance(node.op, ast.Div):
                return self.divide(a, b)
            if isinstance(node.op, ast.Pow):
                return self.power(a, b)
            return _check_size(_BINOPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp):
            v = self._eval(node.operand, env, text)
            if isinstance(node.op, ast.USub):
                return -v
            if isinstance(node.op, ast.UAdd):
                return +v
            return not v
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env, text)
            for op, comp in zip(node.ops, node.comparators, strict=False):
                right = self._eval(comp, env, text)
                if type(op) not in _CMPOPS:
                    raise ExprError(f"comparison {type(op).__name__} is not allowed in {text!r}")
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.BoolOp):
            if isinstance(node.op, ast.And):
                value = True
                for v in node.values:
                    value = self._eval(v, env, text)
                    if not value:
                        return value
                return value
            value = False
            for v in node.values:
                value = self._eval(v, env, text)
                if value:
                    return value
            return value
        if isinstance(node, ast.IfExp):
            test = self._eval(node.test, env, text)
            return self._eval(node.body if test else node.orelse, env, text)
        if isinstance(node, ast.Call):
            args = [self._eval(a, env, text) for a in node.args]
            return _check_size(self.functions[node.func.id](*args))
        raise ExprError(f"{type(node).__name__} is not allowed in {text!r}")  # pragma: no cover


def _exact_divide(a, b):
    if b == 0:
        raise ZeroDivisionError
    return _check_size(Fraction(a) / Fraction(b))


def _bounded_power(a, b):
    if isinstance(b, Fraction) and b.denominator == 1:
        b = int(b)
    if not isinstance(b, int) or isinstance(b, bool):
        raise ExprError("exponents must be whole numbers")
    if abs(b) > MAX_EXPONENT:
        raise ExprError(f"exponent {b} is larger than {MAX_EXPONENT}")
    if b < 0:
        return _exact_divide(1, _bounded_power(a, -b))
    if abs(a) > 1 and abs(b) * math.log2(abs(a)) > MAX_NUMBER_BITS:
        raise ExprError(f"a value in the expression exceeds {MAX_NUMBER_BITS} bits")
    return a**b


evaluate = Evaluator()


def is_expression(text: str) -> bool:
    """True when a YAML string is meant as arithmetic rather than a quoted number or a word."""
    return any(ch in text for ch in "+-*/%()<>=!") or any(
        ch.isalpha() or ch == "_" for ch in text
    )

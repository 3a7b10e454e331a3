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
import warnings
from fractions import Fraction

from .errors import SpecError, brief
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
    if ndigits is None:
        return round(x)
    if isinstance(ndigits, Fraction) and ndigits.denominator == 1:
        ndigits = int(ndigits)
    # round(x, 10**60) would compute 10**(10**60): keep ndigits small
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_EXPONENT:
        raise ExprError(f"round(): the number of digits must be a whole number within "
                        f"+-{MAX_EXPONENT}")  # fmt: skip
    return round(x, ndigits)


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


def compile_expr(text: str) -> tuple[ast.expr, tuple, int]:
    """Parse and check an expression: (its checked tree, the names it reads in a fixed order,
    its operators and calls, at least 1). :class:`Evaluator` keeps what it compiles from it."""
    if len(text) > MAX_EXPR_CHARS:
        raise ExprError(f"expression longer than {MAX_EXPR_CHARS} characters")
    try:
        with warnings.catch_warnings():  # '1 is 1', '"\\d"': no SyntaxWarning on stderr
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ExprError(f"cannot parse expression {text!r}") from None
    except (ValueError, RecursionError, MemoryError):
        raise ExprError(f"expression {text[:40]!r} is not valid") from None
    nodes = _all_nodes(tree)
    for node in nodes:  # first the kinds of node, so `__import__('os').system` names Attribute
        if not isinstance(node, _ALLOWED):
            what = type(node).__name__
            raise ExprError(f"{what} is not allowed in expression {text!r} (only arithmetic)")
    for node in nodes:
        if isinstance(node, ast.Name) and (node.id.startswith("_") or "__" in node.id):
            raise ExprError(f"name {node.id!r} is not allowed in expression {text!r}")
        if isinstance(node, ast.Constant) and (
            isinstance(node.value, (str, bytes, complex)) or node.value is None
        ):
            raise ExprError(f"only numbers are allowed in expression {text!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in NUMERIC_FUNCTIONS:
                what = (f"function {node.func.id!r}" if isinstance(node.func, ast.Name)
                        else f"calling a {type(node.func).__name__}")  # fmt: skip
                raise ExprError(
                    f"{what} is not allowed in expression {text!r}; "
                    f"allowed: {', '.join(sorted(NUMERIC_FUNCTIONS))}"
                )
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise ExprError(f"keyword or starred arguments are not allowed in {text!r}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.MatMult, ast.BitAnd, ast.BitOr,
                                                                 ast.BitXor, ast.LShift, ast.RShift)):
            raise ExprError(f"operator {type(node.op).__name__} is not allowed in {text!r}")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            raise ExprError(f"operator ~ is not allowed in {text!r}")
    names = tuple(sorted({n.id for n in nodes if isinstance(n, ast.Name)}))
    operators = max(1, sum(isinstance(n, _OPERATORS) for n in nodes))
    return tree.body, names, operators


def _all_nodes(tree) -> list:
    """Every node of the tree, breadth first (what ``list(ast.walk(tree))`` gives, faster)."""
    out = [tree]
    for node in out:  # the list grows while it is read
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                out.append(value)
            elif isinstance(value, list):
                out.extend(v for v in value if isinstance(v, ast.AST))
    return out


_MISSING = object()  # a name not in scope, in a memo key
_OPERATORS = (ast.BinOp, ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Call)


def _symbolic(value) -> bool:
    """A sympy expression, including sympy functions defined elsewhere (archcost.formula)."""
    return any(cls.__module__.startswith("sympy") for cls in type(value).__mro__)


def _operand(value, text):
    """Arithmetic takes numbers only: a block argument may hold a word or a list, and
    ``'relu' * 10**9`` or ``[1] * 10**9`` would fill the memory."""
    if isinstance(value, (bool, int, float, Fraction)) or _symbolic(value):
        return value
    raise ExprError(f"{brief(value)} is not a number, in {text!r}")


def _check_size(value):
    if isinstance(value, int) and value.bit_length() > MAX_NUMBER_BITS:
        raise ExprError(f"a value in the expression exceeds {MAX_NUMBER_BITS} bits")
    if isinstance(value, Fraction) and (
        value.numerator.bit_length() > MAX_NUMBER_BITS
        or value.denominator.bit_length() > MAX_NUMBER_BITS
    ):
        raise ExprError(f"a value in the expression exceeds {MAX_NUMBER_BITS} bits")
    return value


_CMP_SYMBOLS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">",
                ast.GtE: ">="}  # fmt: skip
COMPARISONS = {sym: _CMPOPS[op] for op, sym in _CMP_SYMBOLS.items()}


def compare(symbol: str, a, b) -> bool:
    """The default comparison: ``a SYMBOL b`` on exact numbers."""
    return COMPARISONS[symbol](a, b)


class Evaluator:
    """Evaluates a checked tree with one set of functions (numbers here, sympy in symbolic.py).

    ``compare(symbol, a, b)`` decides each comparison (``"<"``, ``"=="``, ...); a symbolic
    evaluator uses it to take a decision that symbols alone cannot. Each expression's checked
    tree is turned once into nested closures (cached per evaluator), so a sweep that evaluates
    the same fields thousands of times does not walk the tree every time.
    """

    #: results kept per (text, values and types of the names it reads); an evaluator with
    #: side effects (the symbolic one logs its decisions) turns this off
    memoize = True
    _MEMO_ENTRIES = 65_536
    _COMPILED_CHARS = 50_000

    def __init__(self, functions=NUMERIC_FUNCTIONS, divide=None, power=None, compare=None):
        self.functions = functions
        self.divide = divide or _exact_divide
        self.power = power or _bounded_power
        self.compare = compare or globals()["compare"]
        self._compiled: dict = {}
        self._compiled_chars = 0
        self._memo: dict = {}
        #: work so far: the characters of each expression compiled, plus the operators of
        #: each evaluation (a remembered result costs nothing); a build compares it before
        #: and after to bound its own work (limits.MAX_EXPR_WORK)
        self.spent = 0

    def __call__(self, text: str, env: dict):
        entry = self._compiled.get(text)
        if entry is None:
            body, names, operators = compile_expr(text)
            entry = (self._compile(body, text), names, operators)
            self.spent += len(text)
            # kept for the next evaluation, within a bound on the characters kept: each
            # character is a few closures, and millions of live closures make every later
            # garbage collection of the process slow
            self._compiled_chars += len(text)
            if self._compiled_chars > self._COMPILED_CHARS:
                self._compiled.clear()
                self._compiled_chars = len(text)
            self._compiled[text] = entry
        fn, names, cost = entry
        key = None
        if self.memoize:
            values = tuple(env.get(n, _MISSING) for n in names)
            key = (text, values, tuple(map(type, values)))
            try:
                if key in self._memo:
                    return self._memo[key]
            except TypeError:  # a list among the values: not remembered
                key = None
        self.spent += cost
        try:
            result = fn(env)
        except ExprError:
            raise
        except ZeroDivisionError:
            raise ExprError(f"division by zero in {text!r}") from None
        except (TypeError, ValueError, OverflowError, ArithmeticError) as exc:
            raise ExprError(f"cannot evaluate {text!r}: {exc}") from None
        except (RecursionError, MemoryError):
            raise ExprError(f"expression {text[:40]!r} is too complex") from None
        if key is not None:
            if len(self._memo) >= self._MEMO_ENTRIES:
                self._memo.clear()
            self._memo[key] = result
        return result

    @staticmethod
    def _numeric(part, text):
        """Wrap a compiled operand so arithmetic and comparisons get numbers only."""
        return lambda env: _operand(part(env), text)

    def _compile(self, node, text):
        """A function of the scope computing ``node`` exactly as a tree walk would, in the same
        order, with the same errors (anything that can fail is left to run time)."""
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool):
                return lambda env: value
            if isinstance(value, float):
                if not math.isfinite(value):

                    def too_large(env):
                        raise ExprError(f"a number in {text!r} is too large")

                    return too_large
                exact = Fraction(repr(value))
                return lambda env: _check_size(exact)
            try:
                _check_size(value)
            except ExprError:
                return lambda env: _check_size(value)
            return lambda env: value
        if isinstance(node, ast.Name):
            name = node.id

            def name_value(env):
                if name in env:
                    return env[name]
                if name in ("True", "False"):
                    return name == "True"
                known = ", ".join(sorted(k for k in env if not k.startswith("_"))) or "none"
                raise ExprError(f"unknown name {name!r} in {text!r} (known: {known})")

            return name_value
        if isinstance(node, ast.BinOp):
            left, right = self._compile(node.left, text), self._compile(node.right, text)
            left = self._numeric(left, text)
            right = self._numeric(right, text)
            if isinstance(node.op, ast.Div):
                return lambda env: self.divide(left(env), right(env))
            if isinstance(node.op, ast.Pow):
                return lambda env: self.power(left(env), right(env))
            op = _BINOPS[type(node.op)]
            return lambda env: _check_size(op(left(env), right(env)))
        if isinstance(node, ast.UnaryOp):
            operand = self._compile(node.operand, text)
            if not isinstance(node.op, ast.Not):
                operand = self._numeric(operand, text)
            if isinstance(node.op, ast.USub):
                return lambda env: -operand(env)
            if isinstance(node.op, ast.UAdd):
                return lambda env: +operand(env)
            return lambda env: not operand(env)
        if isinstance(node, ast.Compare):
            first = self._numeric(self._compile(node.left, text), text)
            chain = [(_CMP_SYMBOLS.get(type(op)), type(op).__name__,
                      self._numeric(self._compile(comp, text), text))
                     for op, comp in zip(node.ops, node.comparators, strict=True)]  # fmt: skip

            def comparison(env):
                left = first(env)
                for symbol, op_name, comp in chain:
                    right = comp(env)
                    if symbol is None:
                        raise ExprError(f"comparison {op_name} is not allowed in {text!r}")
                    if not self.compare(symbol, left, right):
                        return False
                    left = right
                return True

            return comparison
        if isinstance(node, ast.BoolOp):
            parts = [self._compile(v, text) for v in node.values]
            if isinstance(node.op, ast.And):

                def conjunction(env):
                    value = True
                    for part in parts:
                        value = part(env)
                        if not value:
                            return value
                    return value

                return conjunction

            def disjunction(env):
                value = False
                for part in parts:
                    value = part(env)
                    if value:
                        return value
                return value

            return disjunction
        if isinstance(node, ast.IfExp):
            test = self._compile(node.test, text)
            body, orelse = self._compile(node.body, text), self._compile(node.orelse, text)
            return lambda env: body(env) if test(env) else orelse(env)
        if isinstance(node, ast.Call):
            name = node.func.id
            args = [self._numeric(self._compile(a, text), text) for a in node.args]
            functions = self.functions

            def call(env):
                values = [a(env) for a in args]
                return _check_size(functions[name](*values))

            return call
        what = type(node).__name__  # pragma: no cover - compile_expr admits nothing else

        def refuse(env):  # pragma: no cover
            raise ExprError(f"{what} is not allowed in {text!r}")

        return refuse  # pragma: no cover


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
    return _check_size(a**b)  # (1/2**200)**64 passes the test above but has a 12,800-bit denominator


evaluate = Evaluator()


def is_expression(text: str) -> bool:
    """True when a YAML string is meant as arithmetic rather than a quoted number or a word."""
    return any(ch in text for ch in "+-*/%()<>=!") or any(
        ch.isalpha() or ch == "_" for ch in text
    )

"""The safe arithmetic evaluator for spec fields."""

from fractions import Fraction

import pytest

from archcost.expr import ExprError, evaluate, is_expression, make_divisible


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("64 * alpha", {"alpha": Fraction(1, 2)}, 32),
        ("int(32 * alpha)", {"alpha": Fraction(3, 4)}, 24),
        ("resolution // 32", {"resolution": 224}, 7),
        ("2 ** 5 + 1", {}, 33),
        ("max(8, min(16, 12))", {}, 12),
        ("round(2.5)", {}, 2),  # Python's round: half to even
        ("floor(7 / 2) + ceil(7 / 2)", {}, 7),
        ("x if s == 1 else 0", {"x": 5, "s": 1}, 5),
        ("s != 1 or c != 64", {"s": 1, "c": 64}, False),
        ("-(-7 // 2)", {}, 4),
        ("0.75 * 32", {}, 24),
        ("7 / 2", {}, Fraction(7, 2)),
        ("make_divisible(32 * 0.35)", {}, 16),
    ],
)
def test_evaluates_exactly(text, env, expected):
    value = evaluate(text, env)
    assert value == expected


def test_make_divisible_matches_torchvision_rule():
    # torchvision _make_divisible: max(8, int(v + 4) // 8 * 8), + 8 if below 90% of v
    assert make_divisible(16 * 0.25 * 4) == 16
    assert make_divisible(24) == 24
    assert make_divisible(int(960 * 0.25) // 4) == 64  # 240//4 = 60 -> 64
    assert make_divisible(10) == 16  # int(14)//8*8 = 8 < 9 -> 16


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("__import__('os').system('true')", "not allowed"),
        ("().__class__", "not allowed"),
        ("alpha.real", "not allowed"),
        ("(lambda: 1)()", "not allowed"),
        ("[x for x in (1, 2)]", "not allowed"),
        ("__builtins__", "not allowed"),
        ("open('x')", "not allowed"),
        ("eval('1')", "not allowed"),
        ("'a' * 3", "only numbers"),
        ("2 ** 10 ** 9", "exponent"),
        ("10 ** 60 * 10 ** 60 * 10 ** 60", "bits"),
        ("1 / 0", "division by zero"),
        ("1 +", "cannot parse"),
        ("x[0]", "not allowed"),
        ("1 << 4000", "not allowed"),
        ("min(*[1])", "not allowed"),
        ("undefined_name + 1", "unknown name"),
        ("1" + "+1" * 300, "longer than"),
    ],
)
def test_rejects(text, fragment):
    with pytest.raises(ExprError, match=fragment):
        evaluate(text, {"alpha": 1, "x": 1})


def test_is_expression():
    assert is_expression("64 * alpha") and is_expression("alpha")
    assert not is_expression("64") and not is_expression("1.5")

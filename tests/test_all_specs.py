"""Registry-driven: every built-in spec and variant loads, adds up, and its totals equal
torch's at full size.

tests/golden/torch_totals.json holds torch's params, buffers, MACs and output activations of
every network at its default size, measured by ``python benchmarks/verify_full.py`` (a module
built from the spec's fields; torch computes the shapes). Whole-network other ops have no
independent oracle: they are checked per primitive by the hand oracles of test_layers.py.
"""


import pytest

from archcost.spec import build, builtin_variants

from .conftest import static_totals, torch_totals


def all_networks():
    return builtin_variants()


NETWORKS = all_networks()


@pytest.mark.parametrize("name", NETWORKS)
@pytest.mark.parametrize("train", [False, True], ids=["inference", "train"])
def test_loads_and_totals_equal_sum_of_rows(name, train):
    net = build(name, train=train)
    assert net.rows and net.nodes
    totals = net.totals()
    for q in ("params", "bias", "buffers", "macs", "ops", "activations"):
        assert totals[q] == sum(getattr(r, q) for r in net.rows), q
        assert totals[q] >= 0
    assert totals["params"] > 0 and totals["macs"] > 0
    assert all(n.row is not None for n in net.nodes)
    if not train:
        assert not any(r.train_only for r in net.rows)


@pytest.mark.parametrize("name", NETWORKS)
def test_symbolic_formula_of_every_node_gives_the_number(name):
    from archcost.symbolic import evaluate_formula, node_formula

    net = build(name)
    for node in net.nodes:
        params, macs, ops, subs = node_formula(node)
        assert evaluate_formula(params, subs) == node.params, node.id
        assert evaluate_formula(macs, subs) == node.macs, node.id
        assert evaluate_formula(ops, subs) == node.ops, node.id


RECORDED = sorted(torch_totals())


@pytest.mark.parametrize("key", RECORDED)
def test_totals_equal_torch_at_full_size(key):
    name, train = key.removesuffix(" --train"), key.endswith(" --train")
    static = static_totals(build(name, train=train))
    assert static == torch_totals(key), (
        f"{key}: archcost's totals differ from torch's at full size (benchmarks/verify_full.py). "
        f"Run `archcost verify {name}{' --train' if train else ''}` to see the node that "
        "differs; re-measure (python benchmarks/verify_full.py NAME) only when the spec itself "
        "changed")


def test_every_network_has_a_torch_measurement():
    keys = set(RECORDED)
    missing = [n for n in NETWORKS if n not in keys]
    assert not missing, ("no torch measurement at full size for: " + ", ".join(missing)
                         + "; run python benchmarks/verify_full.py " + " ".join(missing))

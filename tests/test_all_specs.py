"""Registry-driven: every built-in spec and variant loads, adds up, and keeps its golden totals.

tests/golden/totals.json holds every network's totals; a change shows up here, and is
accepted with ARCHCOST_UPDATE_GOLDEN=1 once it is understood.
"""

import json

import pytest

from archcost.spec import build, builtin_names, effective, resolve

from .conftest import golden


def all_networks():
    names = []
    for name in builtin_names():
        names.append(name)
        path, _ = resolve(name)
        names += [f"{name}:{v}" for v in sorted(effective(path, None).get("variants") or {})]
    return names


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


def test_golden_totals():
    totals = {}
    for name in NETWORKS:
        for train in (False, True):
            net = build(name, train=train)
            t = net.totals()
            key = name + (" --train" if train else "")
            totals[key] = {q: t[q] for q in ("params", "buffers", "macs", "ops", "activations")}
    golden("totals.json", json.dumps(totals, indent=1, sort_keys=True) + "\n")

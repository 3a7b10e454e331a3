"""Hypothesis drives the mutation fuzzer of scripts/fuzz.py over every valid spec and table.

Each example mutates one seed (a leaf replaced by another type or an extreme value, keys and
rows deleted, duplicated, renamed or swapped, a line of the text broken), writes it to a
temporary folder and runs the CLI in-process: exit 0 or 2 (1 too for `check`), never a
traceback nor 'internal error', one `error:` line and no stdout when 2, no raw control
character in any output, no NaN/Infinity in JSON, within 10 s of CPU (a timer, not a timing
assertion: a hang fails the example). A few run as subprocesses. The hostile scenarios of
issue 14 (numbers on the command line, profiles, table files, ids, labels with control and
markup characters, long chains) are drawn the same way.
Bounded and derandomized for CI; `PYTHONPATH=. python3 scripts/fuzz.py -n 5000` runs longer.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ROOT

_spec = importlib.util.spec_from_file_location("archcost_fuzz", os.path.join(ROOT, "scripts", "fuzz.py"))
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["archcost_fuzz"] = fuzz  # dataclasses look their module up there
_spec.loader.exec_module(fuzz)

SEEDS = fuzz.seeds()


class DrawChooser(fuzz.Chooser):
    """Decisions drawn from hypothesis, so a failing example shrinks to a small mutation."""

    def __init__(self, data):
        self.data = data

    def integer(self, lo, hi):
        return self.data.draw(st.integers(lo, hi))


def test_seeds_cover_specs_blocks_and_tables():
    names = {s.name for s in SEEDS}
    assert "googlenet.yaml" in names and "googlenet_inlined_blocks.yaml" in names
    assert any(s.command == "check" for s in SEEDS)
    assert {"residual.yaml", "extends_residual.yaml"} <= names  # tests/specs, with variants


@pytest.mark.parametrize("seed", SEEDS, ids=lambda s: s.name)
def test_every_seed_is_valid_unmutated(seed, tmp_path):
    # the fuzzer starts from valid files: unmutated, each one must succeed
    path = fuzz.write_case(str(tmp_path), seed, seed.text.encode("utf-8"))
    outcome = fuzz.run_in_process([seed.command, path])
    assert outcome.code == 0 and outcome.stderr == "", outcome.stderr


@settings(max_examples=150, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(data=st.data())
def test_mutated_specs_give_a_clean_answer(data, tmp_path_factory):
    choose = DrawChooser(data)
    seed = choose.choice(SEEDS)
    folder = str(tmp_path_factory.mktemp("case"))
    args, payload, outcome, problems = fuzz.one_case(choose, seed, folder)
    assert problems == [], (args, problems, payload[:2000], outcome.stderr[:2000])


@pytest.mark.parametrize("n", range(6))
def test_mutated_specs_as_subprocesses(n, tmp_path):
    choose = fuzz.Chooser(fuzz.random.Random(1000 + n))  # noqa: S311
    seed = SEEDS[n % len(SEEDS)]
    args, payload, outcome, problems = fuzz.one_case(choose, seed, str(tmp_path), True)
    assert problems == [], (args, problems, payload[:2000], outcome.stderr[:2000])


def test_scenarios_cover_the_classes_of_issue_14():
    assert set(fuzz.SCENARIOS) == {"cli numbers", "profiles", "table files", "ids", "labels",
                                   "long chains"}  # fmt: skip


@pytest.mark.parametrize("name", sorted(fuzz.SCENARIOS))
@settings(max_examples=12, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(data=st.data())
def test_hostile_scenarios_give_a_clean_answer(name, data, tmp_path_factory):
    choose = DrawChooser(data)
    folder = str(tmp_path_factory.mktemp("scenario"))
    args, payload, outcome, problems = fuzz.scenario_case(choose, name, folder)
    assert problems == [], (args, problems, payload[:2000], outcome.stderr[:2000])


@pytest.mark.parametrize("name", sorted(fuzz.SCENARIOS))
def test_hostile_scenarios_as_subprocesses(name, tmp_path):
    choose = fuzz.Chooser(fuzz.random.Random(14))  # noqa: S311
    args, payload, outcome, problems = fuzz.scenario_case(choose, name, str(tmp_path), True)
    assert problems == [], (args, problems, payload[:2000], outcome.stderr[:2000])

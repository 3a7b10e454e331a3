"""Every published table in specs/tables/ reproduces: each cell matches or is a documented erratum.

This is the test that fails (and so CI fails) the moment a printed cell stops reproducing.
"""

import pytest

from archcost.tables import check_table, table_files


@pytest.mark.parametrize("path", table_files(), ids=lambda p: p.rsplit("/", 1)[-1][:-5])
def test_published_table_reproduces(path):
    result = check_table(path)
    bad = [(c.row, c.column, c.published, c.computed, c.note) for c in result.cells
           if c.status == "mismatch"]
    assert not bad, f"{result.id}: cells that no longer reproduce: {bad}"
    assert result.cells, "a table with no printed cell"
    for cell in result.cells:
        if cell.status == "erratum":
            assert len(cell.reason) > 40, f"{result.id} {cell.row}/{cell.column}: explain the erratum"


def test_every_table_states_its_conventions_and_source():
    from archcost.yamlio import load_file

    for path in table_files():
        doc = load_file(path)
        assert str(doc.get("conventions", "")).strip(), path
        assert str(doc.get("source", "")).strip(), path

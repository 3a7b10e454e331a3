"""human_bytes: binary units up to PiB, exact for any size (hand-written expectations)."""

from __future__ import annotations

import pytest

from archcost.report import human_bytes


@pytest.mark.parametrize(("n", "text"), [
    (None, "?"),
    (0, "0 B"),
    (1023, "1023 B"),
    (1024, "1.00 KiB"),
    (1152, "1.12 KiB"),  # 1.125: half to even, as f"{1.125:.2f}"
    (1176, "1.15 KiB"),  # 1.1484375
    (1536 << 20, "1.50 GiB"),
    (1023 << 30, "1023.00 GiB"),
    (1 << 40, "1.00 TiB"),
    (3 << 40, "3.00 TiB"),
    (5 << 50, "5.00 PiB"),
    (1 << 60, "1024.00 PiB"),
])  # fmt: skip
def test_human_bytes_by_hand(n, text):
    assert human_bytes(n) == text


def test_human_bytes_of_a_number_no_float_holds():
    # 10**400 bytes overflows a float; the text is still exact: 10**400 / 2**50 PiB
    text = human_bytes(10**400)
    whole = text.split(".")[0]
    assert text.endswith(" PiB") and int(whole) == 10**400 // (1 << 50)

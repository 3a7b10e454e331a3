"""Plots: compare/sweep/table --plot write valid PNG/SVG files; table --bars; no matplotlib."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from archcost.cli import main

from .conftest import ROOT
from .conftest import invoke_ok as invoke

MOBILE = os.path.join("tests", "specs", "tiny_mobilenet.yaml")
PLAIN = os.path.join("tests", "specs", "tiny_plain.yaml")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytest.importorskip("matplotlib")


pytestmark = pytest.mark.usefixtures("in_root")


def assert_png(path):
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_MAGIC


def assert_svg(path):
    root = ET.parse(path).getroot()  # noqa: S314 - our own file, just written
    assert root.tag.endswith("svg")


def no_temp_files(folder):
    return not [f for f in os.listdir(folder) if f.startswith(".archcost-")]


def test_compare_plot_png_and_svg(tmp_path):
    png, svg = tmp_path / "c.png", tmp_path / "c.svg"
    invoke("compare", "googlenet", PLAIN, MOBILE, "--set", "alpha=0.5", "--plot", str(png))
    assert_png(png)
    invoke("compare", "googlenet", PLAIN, "--plot", str(svg), "--format", "json")
    assert_svg(svg)
    # the labels are in the drawing
    assert "googlenet" in svg.read_text()
    assert no_temp_files(tmp_path)


def test_sweep_plot(tmp_path):
    out = tmp_path / "s.svg"
    invoke("sweep", MOBILE, "--set", "alpha=0.25:1:0.25", "--set", "resolution=32,64",
           "--plot", str(out))  # fmt: skip
    assert_svg(out)
    png = tmp_path / "s.png"
    invoke("sweep", MOBILE, "--set", "resolution=16:64:16", "--plot", str(png))
    assert_png(png)


def test_table_plot_and_bars(tmp_path):
    out = tmp_path / "t.png"
    text = invoke("table", "googlenet", "--plot", str(out))
    assert_png(out)
    assert "inception (3a)" in text  # the table is still printed
    bars = invoke("table", "googlenet", "--bars")
    # 'convolution 3x3/1' has the most MACs (359,661,568 of 1,582,671,872 = 22.7%): full bar
    assert "22.7%" in bars and "█" in bars and "100.0%" in bars
    lines = {line.split("  ")[1].strip(): line for line in bars.splitlines()
             if line.startswith("  ") and "%" in line}  # fmt: skip
    assert lines["convolution 3x3/1"].count("█") > lines["inception (3a)"].count("█") > 0
    assert "█" not in lines["max pool 3x3/2"]


def test_bad_plot_name(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["compare", "googlenet", "--plot", str(tmp_path / "c.gif")])
    assert exc.value.code == 2
    assert "must end in .png, .svg, .pdf" in capsys.readouterr().err


def test_without_matplotlib(capsys, monkeypatch, tmp_path):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    for args in (["compare", "googlenet", "--plot", str(tmp_path / "c.png")],
                 ["table", "googlenet", "--plot", str(tmp_path / "t.png")],
                 ["sweep", MOBILE, "--set", "alpha=0.5,1", "--plot", str(tmp_path / "s.png")]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.strip() == "error: matplotlib is not installed; pip install 'archcost[plot]'"
    assert os.listdir(tmp_path) == []


def test_without_matplotlib_subprocess(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from archcost.cli import main\n"
            f"main(['compare', 'googlenet', '--plot', {str(tmp_path / 'x.png')!r}])\n")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert "matplotlib is not installed; pip install 'archcost[plot]'" in proc.stderr


def test_plot_subprocess(tmp_path):
    out = tmp_path / "p.png"
    proc = subprocess.run([sys.executable, "-m", "archcost", "table", PLAIN, "--plot", str(out),
                           "--format", "csv"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT}, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_png(out)

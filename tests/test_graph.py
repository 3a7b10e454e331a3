"""`archcost graph`: boxes, clusters, edges and their labels; layout by Graphviz's `dot`.

Oracles: the spec files read with yaml.safe_load here (row counts), the papers' structure
(GoogLeNet's inception module: four branches from one input into one concat, Szegedy et al.
2014 Fig. 2b; ResNet's identity shortcut, He et al. 2015 Fig. 5), hand arithmetic of shapes,
and the WCAG 2 contrast formula written out here.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from archcost import graphview
from archcost.spec import build

from .conftest import ROOT, run_cli

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' is not installed (apt-get install graphviz)")

HOSTILE = textwrap.dedent("""\
    name: hostile
    input: [3, 8, 8]
    layers:
      - '<script>alert("x")</script>': {type: conv, out: 4, k: 3, p: 1}
      - 'a"b\\\\c|d]e[f': {type: relu}
      - "it's }{ ->": {type: global_avgpool}
      - "\\u202e\\\\n end": {type: linear, out: 2}
""")


def spec_rows(name):
    with open(os.path.join(ROOT, "specs", f"{name}.yaml"), encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    rows = []
    for row in doc["layers"]:
        label, value = next(iter(row.items())) if isinstance(row, dict) else (row, None)
        if isinstance(value, dict) and value.get("train"):
            continue
        rows.append(label)
    return rows


def edges_of(dot):
    """{(src box, dst box): label} from the DOT text; box names b0, b1, ..."""
    return {(a, b): lab for a, b, lab in re.findall(r'^\s*(b\d+) -> (b\d+) \[label="([^"]*)"\]',
                                                    dot, re.M)}


def box_names(dot):
    """{box name: first label line}."""
    return {name: label.split("\\n")[0]
            for name, label in re.findall(r'^\s*(b\d+) \[label="((?:[^"\\]|\\.)*)"', dot, re.M)}


def test_depth_zero_draws_one_box_per_spec_row():
    model = graphview.build_model(build("googlenet"), depth=0)
    # a repeated label gets ' #2', ' #3' to stay unique
    assert [re.sub(r" #\d+$", "", b.label) for b in model.boxes[1:]] == spec_rows("googlenet")
    assert model.boxes[0].kind == "input" and model.clusters == []
    # a chain: each row feeds the next, the edge labelled with the tensor's shape
    dot = graphview.to_dot(model)
    edges = edges_of(dot)
    assert edges[("b0", "b1")] == "224x224x3"
    assert edges[("b1", "b2")] == "112x112x64"  # (224 + 2*3 - 7) // 2 + 1 = 112


def test_googlenet_inception_modules_are_clusters_of_four_branches():
    model = graphview.build_model(build("googlenet"))
    inception = [c for c in model.clusters if c.type == "inception"]
    assert len(inception) == 9  # 3a, 3b, 4a-4e, 5a, 5b (Table 1)
    dot = graphview.to_dot(model)
    names = box_names(dot)
    edges = edges_of(dot)
    concat_3a = [n for n, label in names.items() if label == "concat"][0]
    into = sorted(names[a] for (a, b) in edges if b == concat_3a)
    assert into == ["1x1", "3x3", "5x5", "pool proj"]
    # the channels concatenated: 64 + 128 + 32 + 32 = 256 (Table 1, inception (3a))
    assert "28x28x256" in dot


@needs_dot
def test_inception_branches_are_laid_out_side_by_side():
    model = graphview.build_model(build("googlenet"))
    plain = subprocess.run(["dot", "-Tplain"], input=graphview.to_dot(model), text=True,
                           capture_output=True, check=True).stdout
    pos = {}
    for line in plain.splitlines():
        parts = line.split()
        if parts and parts[0] == "node" and parts[1].startswith("b"):
            pos[parts[1]] = (float(parts[2]), float(parts[3]))
    dot = graphview.to_dot(model)
    start = dot.index('label="inception (3a)  (inception)"')
    cluster = dot[start : dot.index("}", start)]  # the cluster's own lines
    first = {label: pos[name] for name, label in box_names(cluster).items()
             if label in ("1x1", "3x3 reduce", "5x5 reduce", "pool")}  # fmt: skip
    ys = [y for _, y in first.values()]
    xs = {round(x, 2) for x, _ in first.values()}
    # four columns, their heads within one box height (inches) of each other
    assert len(first) == 4 and len(xs) == 4 and max(ys) - min(ys) < 1.0, first


def test_resnet_identity_shortcut_is_an_edge_around_the_unit():
    model = graphview.build_model(build("resnet50"))
    dot = graphview.to_dot(model)
    names = box_names(dot)
    edges = edges_of(dot)
    ids = {b.index: f"b{i}" for i, b in enumerate(model.boxes)}
    by_record = {model.records[b.index]["name"]: ids[b.index] for b in model.boxes
                 if b.kind != "input"}  # fmt: skip
    add2 = by_record["conv2_x.2/add"]
    into = {by_name for (a, b) in edges if b == add2 for by_name in [names[a]]}
    assert into == {"1x1 expand", "relu"}
    skip = by_record["conv2_x.1/relu"]
    assert edges[(skip, add2)] == "56x56x256"  # identity: 64 * 4 channels at 56x56


def test_resnet_depth_one_collapses_units():
    model = graphview.build_model(build("resnet50"), depth=1)
    units = [b.label for b in model.boxes if b.type == "resnet_bottleneck"]
    assert units == [f"conv{s}_x.{i}" for s, n in ((2, 3), (3, 4), (4, 6), (5, 3))
                     for i in range(1, n + 1)]  # 3, 4, 6, 3 units (Table 1, 50-layer)
    assert [c.label for c in model.clusters] == ["conv1", "conv2_x", "conv3_x", "conv4_x",
                                                 "conv5_x"][1:]


def wcag_contrast(a, b):
    def lum(hexcolor):
        vals = [int(hexcolor[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in vals]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_box_text_contrasts_with_every_fill():
    for fill in (*graphview.PALETTE, graphview.ZERO_FILL, "#ffffff", "#dddddd"):
        assert wcag_contrast(fill, graphview.text_color(fill)) >= 4.5, fill


def test_colour_scale_is_monotone_with_a_legend():
    model = graphview.build_model(build("vgg16"), color="params")
    bins = model.bins()
    assert len(bins) == len(graphview.PALETTE)
    assert all(lo <= hi for lo, hi in bins) and all(a[1] == b[0] for a, b in zip(bins, bins[1:]))
    weights = sorted((b.costs["params"], graphview.PALETTE.index(model.fill(b.costs["params"])))
                     for b in model.boxes if b.costs["params"] > 0)  # fmt: skip
    classes = [c for _, c in weights]
    assert classes == sorted(classes) and classes[0] == 0 and classes[-1] == 8
    dot = graphview.to_dot(model)
    assert "colour: params per box (log scale)" in dot
    none = graphview.to_dot(graphview.build_model(build("vgg16"), color="none"))
    assert not any(c in none for c in graphview.PALETTE) and "legend" not in none


@pytest.fixture
def hostile(tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    return str(path)


def test_mermaid_labels_are_entity_coded(hostile):
    text = graphview.to_mermaid(graphview.build_model(build(hostile)))
    for line in text.splitlines()[1:]:
        m = re.match(r'\s*b\d+\["(.*)"\]$', line)
        if m:
            text_only = m.group(1).replace("<br/>", "")  # the line separator
            assert not set(text_only) & set('"[]|<>{}\\'), line
    assert "<script" not in text and "#60;script#62;" in text


@needs_dot
def test_hostile_labels_survive_dot_as_text(hostile, tmp_path):
    out = tmp_path / "h.svg"
    result = run_cli("graph", hostile, "-o", str(out))
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    assert "<script" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert "a&quot;b\\\\c|d]e[f" in svg or 'a&quot;b\\c|d]e[f' in svg


@needs_dot
def test_picture_formats(tmp_path):
    png = tmp_path / "g.png"
    assert run_cli("graph", "resnet50", "--depth", "1", "-o", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = run_cli("graph", "googlenet", "--format", "svg")
    assert svg.returncode == 0 and "<svg" in svg.stdout and "inception (3a)" in svg.stdout
    page = tmp_path / "g.html"
    assert run_cli("graph", "mobilenet", "-o", str(page)).returncode == 0
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_without_dot_text_formats_work_and_pictures_say_how_to_install(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, PATH=str(tmp_path))  # no `dot` on the PATH
    def run(*args):
        return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    for fmt in ("svg", "png", "html"):
        result = run("graph", "googlenet", "--format", fmt, "-o", str(tmp_path / f"x.{fmt}"))
        assert result.returncode == 2, (fmt, result.stderr)
        assert result.stderr.startswith("error: the 'dot' program of Graphviz is needed")
        assert "apt-get install graphviz" in result.stderr and "\n" == result.stderr[-1]
        assert not (tmp_path / f"x.{fmt}").exists()
    dot = run("graph", "googlenet", "--format", "dot")
    assert dot.returncode == 0 and dot.stdout.startswith("digraph archcost {")
    mermaid = run("graph", "googlenet", "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout.startswith("flowchart TB")


def test_graph_text_formats_import_neither_torch_nor_sympy():
    from .test_static_path import heavy_modules

    assert heavy_modules("graph", "googlenet", "--format", "dot") == []
    assert heavy_modules("graph", "resnet50", "--depth", "1", "--format", "mermaid") == []

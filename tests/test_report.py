"""`archcost report`: one self-contained HTML file, every spec text escaped.

The page is parsed here with the standard library's html.parser (an independent reader):
no resource is fetched from anywhere (no src/href to another file or host, no CSS url(),
no @import), the table has one row per row of the nesting, and a spec whose labels hold
markup comes out as text.
"""

import json
import re
import shutil
import textwrap
from html.parser import HTMLParser

import pytest

from .conftest import run_cli

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' is not installed (apt-get install graphviz)")


class Page(HTMLParser):
    """Tags, attributes and the text of scripts, collected."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self._script = [], [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script = []

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def report(tmp_path, *args):
    out = tmp_path / "report.html"
    result = run_cli("report", *args, "-o", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def assert_self_contained(text):
    page = Page(text)
    for tag, attrs in page.tags:
        for key in ("src", "href", "data", "action", "poster", "srcset"):
            value = attrs.get(key)
            if value is None:
                continue
            # links inside the page only (#id); xlink:href of SVG likewise
            assert value.startswith("#"), (tag, key, value)
        assert tag not in ("link", "iframe", "object", "embed", "img", "base"), tag
    assert "url(" not in text and "@import" not in text
    return page


@needs_dot
def test_googlenet_report_is_one_self_contained_page(tmp_path):
    text = report(tmp_path, "googlenet")
    page = assert_self_contained(text)
    assert text.startswith("<!DOCTYPE html>")
    assert len(page.find("svg")) >= 3  # the graph and the plots
    rows = [a for t, a in page.tags if t == "tr" and "data-index" in a]
    top = [r for r in rows if r["data-level"] == "0"]
    # GoogLeNet's Table 1 has 19 rows at inference (the spec's rows; auxiliary heads are
    # training-only): conv, pool, conv (3x3 reduce + 3x3), pool, 3a, 3b, pool, 4a-4e, pool,
    # 5a, 5b, avg pool, dropout, linear, softmax
    assert len(top) == 19
    assert len(page.find("h1")) == 1 and len(page.find("h2")) == 1 and page.find("h3")
    assert page.find("html", lang="en") and page.find("caption") is not None
    # every graph box links to a row: its id names the row's index
    boxes = {a["id"] for t, a in page.tags if t == "g" and a.get("class") == "node"}
    indices = {r["data-index"] for r in rows}
    linked = {b.split("-b", 1)[1] for b in boxes if b.startswith("n0-b") and b != "n0-b-1"}
    assert linked and linked <= indices
    # the published table's check results are on the page
    assert "googlenet-table1" in text and "erratum" in text


@needs_dot
def test_several_networks_on_one_page(tmp_path):
    text = report(tmp_path, "vgg16", "googlenet", "mobilenet", "--no-formulas")
    page = assert_self_contained(text)
    sections = page.find("section", **{"class": "network"})
    assert [s["id"] for s in sections] == ["n0", "n1", "n2"]
    assert page.find("table", id="compare")
    data = json.loads(page.scripts[0])
    # VGG-16, configuration D (Simonyan and Zisserman 2014, Table 2): 138M parameters
    assert round(data["n0"]["totals"]["params"] / 1e6) == 138


HOSTILE = textwrap.dedent("""\
    name: hostile
    title: '</title><script>alert(1)</script>'
    input: [3, 8, 8]
    layers:
      - '<script>alert("x")</script>': {type: conv, out: 4, k: 3, p: 1}
      - "</script><img src=x onerror=alert(2)>": {type: relu}
      - "it's \\"quoted\\" & <b>bold</b>": {type: global_avgpool}
      - "<!-- x": {type: linear, out: 2}
""")


def test_spec_text_is_escaped_everywhere(tmp_path):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(HOSTILE, encoding="utf-8")
    text = report(tmp_path, str(spec))
    page = assert_self_contained(text)
    # only the report's own two scripts (its data and its code), no other element
    assert [t for t, _ in page.tags if t == "script"] == ["script", "script"]
    assert not [t for t, _ in page.tags if t in ("img", "b")]
    assert "<title>archcost report: &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert not [k for _, a in page.tags for k in a if k.startswith("on")]  # no handlers
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;' in text
    assert "it&#x27;s &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;" in text
    for script in page.scripts:
        assert "</script" not in script.lower() and "<!--" not in script
    rows = [a for t, a in page.tags if t == "tr" and "data-index" in a]
    assert rows[0]["data-name"] == '<script>alert("x")</script>'  # an attribute, as text


def test_report_without_dot_still_writes_the_page(tmp_path):
    import os
    import subprocess
    import sys

    from .conftest import ROOT

    env = dict(os.environ, PYTHONPATH=ROOT, PATH=str(tmp_path))
    out = tmp_path / "r.html"
    result = subprocess.run([sys.executable, "-m", "archcost", "report", "lenet5", "-o",
                             str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "Graph omitted" in text and "apt-get install graphviz" in text
    assert len(re.findall(r'<tr id="n0-r\d+"', text)) > 0


def test_report_imports_no_torch():
    from .test_static_path import heavy_modules

    mods = heavy_modules("report", "lenet5", "-o", "/dev/null")
    assert not any(m.startswith("torch") for m in mods)


BIG = textwrap.dedent("""\
    name: long_mlp
    input: [8]
    layers:
      - hidden: {type: linear, out: 8, repeat: 3100}
      - head: {type: linear, out: 2}
""")


def test_a_graph_too_big_to_draw(tmp_path):
    spec = tmp_path / "long.yaml"
    spec.write_text(BIG)
    graph = run_cli("graph", str(spec), "--format", "dot")
    assert graph.returncode == 2
    assert "3,102 boxes" in graph.stderr and "--depth N" in graph.stderr  # input + 3100 + 1
    assert run_cli("graph", str(spec), "--depth", "0", "--format", "dot").returncode == 0
    text = report(tmp_path, str(spec), "--no-formulas")
    assert "Graph omitted: the graph would have 3,102 boxes" in text
    # the table still lists every row: 2 spec rows + 3100 repetitions
    assert len(re.findall(r'<tr id="n0-r\d+"', text)) == 2 + 3100

"""The HTML report in a real browser: headless Chromium driven by Playwright.

Checks that the page loads from file:// with no console error and no failed request, that the
layer table has the spec's row count and the published total, that the rows shown at every
depth add up to that total in the browser's own arithmetic, that clicking a graph box selects
its row and clicking a row marks its box, that sorting and the type filter work, that formulas
open on demand, and that printing hides the controls. Screenshots go to the test's folder and,
with ARCHCOST_SCREENSHOTS=DIR, to DIR too (look at them).

Needs Debian's `chromium` and `graphviz` (.ci/run installs them); skips only when missing.
"""

import os
import shutil

import pytest
import yaml

from .conftest import ROOT, run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                                                "chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed"),
    pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz is not installed"),
]

# torchvision's published parameter count of ResNet-50 (ResNet50_Weights.IMAGENET1K_V1,
# meta["num_params"]); the stride's place in the unit does not change it
RESNET50_PARAMS = 25_557_032


def spec_rows(name):
    with open(os.path.join(ROOT, "specs", f"{name}.yaml"), encoding="utf-8") as f:
        return [r for r in yaml.safe_load(f)["layers"]
                if not (isinstance(r, dict) and isinstance(next(iter(r.values())), dict)
                        and next(iter(r.values())).get("train"))]  # fmt: skip


def shots(tmp_path, name):
    paths = [tmp_path / name]
    extra = os.environ.get("ARCHCOST_SCREENSHOTS")
    if extra:
        os.makedirs(extra, exist_ok=True)
        paths.append(os.path.join(extra, name))
    return paths


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def resnet_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "resnet50.html"
    result = run_cli("report", "resnet50", "-o", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def open_page(browser, path, width=1400, height=1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    problems = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems, requests


VISIBLE_SUM = """(col) => {
  let s = 0;
  document.querySelectorAll('#n0-layers tbody tr').forEach(r => {
    if (r.classList.contains('hidden') || r.classList.contains('opened')) return;
    s += Number(r.cells[col].getAttribute('data-v'));
  });
  return s;
}"""


def test_loads_cleanly_with_the_right_rows_and_totals(browser, resnet_report, tmp_path):
    page, problems, requests = open_page(browser, resnet_report)
    assert problems == []
    assert requests == [resnet_report.as_uri()]  # nothing fetched but the file itself
    rows = page.locator("#n0-layers tbody tr:not(.hidden)")
    assert rows.count() == len(spec_rows("resnet50")) == 9
    total = page.locator('#n0-layers tfoot td[data-total="params"]').text_content()
    assert total == f"{RESNET50_PARAMS:,}"
    levels = int(page.locator("#n0-depth option").last.get_attribute("value"))
    for depth in range(levels + 1):
        page.select_option("#n0-depth", str(depth))
        assert page.evaluate(VISIBLE_SUM, 4) == RESNET50_PARAMS, depth  # params column
    for path in shots(tmp_path, "report-resnet50-top.png"):
        page.screenshot(path=str(path))
    page.close()


def test_clicking_a_box_selects_its_row_and_back(browser, resnet_report, tmp_path):
    page, problems, _ = open_page(browser, resnet_report)
    box = page.locator("g.node[id='n0-b-1'] ~ g.node").nth(20)  # some box down the graph
    box_id = box.get_attribute("id")
    index = box_id.split("-b", 1)[1]
    box.click()
    selected = page.locator("#n0-layers tr.selected")
    assert selected.count() == 1
    assert selected.get_attribute("data-index") == index
    assert selected.get_attribute("aria-selected") == "true"
    assert selected.is_visible()  # the depth was opened to show it
    assert page.locator(f"g.node#{box_id}.selected").count() == 1
    for path in shots(tmp_path, "report-resnet50-selected.png"):
        page.screenshot(path=str(path))
    # and back: a top-level row marks its box or its block's cluster
    page.select_option("#n0-depth", "0")
    page.locator("#n0-layers tbody tr[data-level='0']").nth(2).click()  # conv2_x
    marked = page.locator(".svgwrap g.selected")
    assert marked.count() == 1
    assert marked.get_attribute("class") == "cluster selected"
    assert problems == []
    page.close()


def test_sort_filter_and_formula(browser, resnet_report):
    page, problems, _ = open_page(browser, resnet_report)
    last = page.locator("#n0-depth option").last.get_attribute("value")
    page.select_option("#n0-depth", last)
    page.select_option("#n0-type", "conv")
    convs = page.locator("#n0-layers tbody tr:not(.hidden)")
    # ResNet-50: conv1, 16 bottleneck units of 3 convs, 4 projection shortcuts
    assert convs.count() == 1 + 16 * 3 + 4
    page.select_option("#n0-type", "")
    page.select_option("#n0-depth", "1")
    page.click("#n0-layers th[data-sort='macs'] button")  # first click: largest first
    shown = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#n0-layers tbody tr:not(.hidden)')).map(r => [r.classList.contains('opened'),
                                                     Number(r.cells[5].getAttribute('data-v'))])""")
    macs = [m for opened, m in shown if not opened]
    assert macs == sorted(macs, reverse=True) and macs[0] > 0
    # the opened groups (no numbers shown) come last
    assert [opened for opened, _ in shown] == sorted(opened for opened, _ in shown)
    page.select_option("#n0-depth", "0")
    page.click("#n0-layers th[data-sort='index'] button")
    first = page.locator("#n0-layers tbody tr:not(.hidden)").first
    assert first.locator("td.name").text_content() == "conv1"
    first.locator("details summary").click()
    formula = first.locator("details li").first.text_content()
    # conv1: 7x7 kernel, 3 -> 64 channels, no bias: params C_in*C_out*k**2 = 9,408
    assert "k**2" in formula and "C_in" in formula and "C_out" in formula
    assert problems == []
    page.close()


def test_print_hides_the_controls(browser, resnet_report, tmp_path):
    page, problems, _ = open_page(browser, resnet_report)
    page.emulate_media(media="print")
    assert page.locator("#n0-depth").is_hidden()
    assert page.locator("#n0-layers tbody tr").nth(5).is_visible()  # every row prints
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert problems == []
    page.close()


def test_googlenet_report_and_graph_screenshots(browser, tmp_path):
    out = tmp_path / "googlenet.html"
    assert run_cli("report", "googlenet", "-o", str(out), timeout=300).returncode == 0
    page, problems, _ = open_page(browser, out, width=1400, height=1100)
    assert problems == []
    # inception (3a)'s four branches: the boxes of its cluster
    cluster = page.locator(".svgwrap g.cluster", has_text="inception (3a)").first
    assert cluster.count() == 1
    for path in shots(tmp_path, "report-googlenet.png"):
        page.screenshot(path=str(path))
    page.locator("#n0-graph").scroll_into_view_if_needed()
    for path in shots(tmp_path, "report-googlenet-graph.png"):
        page.locator("#n0-graph").screenshot(path=str(path))
    page.close()


def test_several_networks_keep_their_own_selection(browser, tmp_path):
    out = tmp_path / "zoo.html"
    result = run_cli("report", "vgg16", "googlenet", "resnet50", "mobilenet", "--no-formulas",
                     "-o", str(out), timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    page, problems, _ = open_page(browser, out)
    assert problems == []
    # one table per network, each starting with the spec's rows
    for key, name in (("n0", "vgg16"), ("n1", "googlenet"), ("n2", "resnet50"),
                      ("n3", "mobilenet")):  # fmt: skip
        assert page.locator(f"#{key}-layers tbody tr:not(.hidden)").count() == len(
            spec_rows(name))
    # a block's cluster selects its row; a box in another network leaves it alone
    page.locator("#n2 g.cluster[id='n2-c5'] > text").first.click()  # its title
    assert page.locator("#n2 tr.selected").get_attribute("data-name") == "conv2_x"
    page.locator("#n1 g.node").nth(3).click()
    assert page.locator("#n2 tr.selected").count() == 1
    assert page.locator("#n1 tr.selected").count() == 1
    for path in shots(tmp_path, "report-zoo.png"):
        page.screenshot(path=str(path))
    page.close()


def test_the_memory_peak_is_found_in_table_and_graph(browser, tmp_path):
    from archcost.memory import inference
    from archcost.spec import build

    out = tmp_path / "vgg16.html"
    assert run_cli("report", "vgg16", "--no-formulas", "-o", str(out), timeout=300).returncode == 0
    page, problems, _ = open_page(browser, out)
    page.click("#n0 button.findrow")
    row = page.locator("#n0-layers tr.selected")
    peak = inference(build("vgg16")).peak_node.id
    assert row.count() == 1 and row.is_visible()
    assert row.get_attribute("data-name") in (peak, peak.rsplit("/", 1)[0])
    assert page.locator("#n0 .svgwrap g.selected").count() == 1
    assert problems == []
    page.close()


def test_training_only_rows_are_marked(browser, tmp_path):
    out = tmp_path / "train.html"
    result = run_cli("report", "googlenet", "--train", "--no-formulas", "-o", str(out),
                     timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    page, problems, _ = open_page(browser, out)
    # GoogLeNet's two auxiliary classifiers (Szegedy et al. 2014, Sec. 5) are training-only
    train = page.locator("#n0-layers tbody tr.train[data-level='0']")
    assert train.count() == 2
    assert train.first.locator("td.name").text_content().endswith(" (train)")
    assert problems == []
    page.close()

"""The HTML reports in a real browser: headless Chromium, offline, no console errors, every chart drawn,
at a laptop's and a phone's width, nothing overflowing its card, the navigation in page order; the
tables' search, filters and sorting, the treemap's link to the layer table; results' notebook HTML.

Screenshots go to test-artifacts/ (kept by CI, ignored by git); test-artifacts/report-comparison.png is
the README's screenshot (docs/report-comparison.png).
"""

from pathlib import Path

import pytest

from archlens.cli import main
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = pytest.mark.slow  # a browser starts: seconds a test

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000}, offline=True,
        )
        yield context
        context.close()


def load(context, page_file: Path, viewport: tuple[int, int] = (1400, 1000)):
    """Open ``page_file`` at ``viewport`` (width, height); return the page and every console error, page
    error and network request."""
    problems, requests = [], []
    page = context.new_page()
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri(), wait_until="load")
    try:  # plotly draws while the page loads; give a slow machine a moment
        page.wait_for_function("Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                               ".every((div) => div.querySelector('svg.main-svg'))", timeout=20_000)
        # charts drawn before their grid had its final columns are fitted once the page has loaded
        page.wait_for_function("Array.from(document.querySelectorAll('div.plotly-graph-div')).every((div) => "
                               "div.querySelector('svg.main-svg').getBoundingClientRect().width "
                               "<= div.getBoundingClientRect().width + 1)", timeout=10_000)
    except Exception:  # noqa: BLE001 - the tests name the chart that did not draw or does not fit
        pass
    return page, problems, requests


WIDTHS = {"laptop": (1366, 768), "phone": (390, 844)}

CHARTS_DRAWN = """() => Array.from(document.querySelectorAll('div.plotly-graph-div')).map((div) => {
  const box = div.getBoundingClientRect();
  return {id: div.id, svg: div.querySelectorAll('svg.main-svg').length, marks: div.querySelectorAll('.point, .slice').length,
          width: Math.round(box.width), height: Math.round(box.height)};
})"""

OVERFLOWING = """() => {
  // A card (summary card, chart, table frame, graph frame, the header and the navigation) must stay on the
  // page, and what it holds must stay inside it unless it is a scroll frame (overflow: auto clips).
  const width = document.documentElement.clientWidth;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.getAttribute('class') ? '.' + el.getAttribute('class').trim().split(/\\s+/).join('.') : '');
  const bad = [];
  if (document.documentElement.scrollWidth > width + 1) bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide');
  for (const card of document.querySelectorAll('div.card, div.chart, div.frame, div.scroll, div.graph, div.tools, header.top, nav.toc')) {
    const box = card.getBoundingClientRect();
    if (box.width === 0) continue;  // inside a closed <details>
    if (box.left < -1 || box.right > width + 1) { bad.push(name(card) + ' leaves the page'); continue; }
    if (getComputedStyle(card).overflowX !== 'visible') continue;
    for (const child of card.querySelectorAll('*')) {
      const b = child.getBoundingClientRect();
      if (b.width === 0 || b.height === 0) continue;
      if (b.left < box.left - 1 || b.right > box.right + 1) {
        bad.push(name(child) + ' overflows ' + name(card));
        break;
      }
    }
  }
  return bad;
}"""

SECTIONS = """() => {
  const listed = Array.from(document.querySelectorAll('nav.toc a')).map((a) => a.getAttribute('href').slice(1));
  const present = listed.filter((id) => document.getElementById(id));
  present.sort((a, b) => document.getElementById(a).compareDocumentPosition(document.getElementById(b))
                         & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1);
  return {listed: listed, present: present,
          visible: present.filter((id) => document.getElementById(id).getBoundingClientRect().height > 0)};
}"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """A comparison (a diff section, both studies, a network unrelated to the first) and one network with a budget."""
    require_tool("dot")
    folder = tmp_path_factory.mktemp("reports")
    pages = {"comparison": folder / "comparison.html", "googlenet": folder / "googlenet.html"}
    assert main(["report", "googlenet", "googlenet-naive", "vgg16", "-o", str(pages["comparison"])]) == 0
    assert main(["report", "googlenet", "--max-macs", "1.6G", "-o", str(pages["googlenet"])]) == 0
    return pages


# MACs, params and treemap a network; comparison bars and scatter, the diff, the Inception study's two
CHARTS = {"comparison": 3 * 3 + 2 + 1 + 2, "googlenet": 3 + 2}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("report", CHARTS)
def test_report_at_laptop_and_phone_width(browser, reports, report, width):
    """Screenshot test: offline, no errors, every chart drawn, nothing overflows its card, the navigation's
    sections exist in its order; the screenshot goes to test-artifacts/."""
    page_file = reports[report]
    page, problems, requests = load(browser, page_file, WIDTHS[width])
    assert problems == []
    assert requests == [page_file.as_uri()]  # offline: the page itself and nothing else
    charts = page.evaluate(CHARTS_DRAWN)
    assert len(charts) == CHARTS[report]
    for chart in charts:
        assert chart["svg"] >= 1 and chart["marks"] > 0, f"{chart['id']} drew nothing"
        assert chart["width"] > min(300, WIDTHS[width][0] - 60) and chart["height"] > 200, chart
    assert page.evaluate(OVERFLOWING) == []
    sections = page.evaluate(SECTIONS)
    assert sections["listed"] == sections["present"] == sections["visible"]  # every one exists, in order
    graph = page.locator('div.graph[data-graph="top"] svg').first
    graph.scroll_into_view_if_needed()
    assert graph.is_visible() and graph.locator("g.node").count() > 10  # boxes drawn, not an empty frame
    if report == "googlenet":
        assert sections["listed"] == ["net-googlenet", "budgets", "claims", "inception"]
        full = page.locator('div.graph[data-graph="full"] svg').first
        assert full.is_visible() and full.locator("g.cluster").count() >= 9 * 5  # 9 modules, 4 branches each
        assert page.locator("text=GoogLeNet paper, Table 1").count() == 1
    else:
        assert sections["listed"][:2] == ["comparison", "diff-googlenet-naive"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"report-{report}-{width}.png"))
    if report == "comparison" and width == "laptop":  # the README's screenshot (docs/report-comparison.png)
        page.screenshot(path=str(ARTIFACTS / "report-comparison.png"), full_page=True,
                        clip={"x": 0, "y": 0, "width": 1366, "height": 1100})
    page.close()


def test_sorting_search_filters_and_the_treemap_link(browser, reports):
    import archlens

    page, problems, _ = load(browser, reports["googlenet"], WIDTHS["laptop"])
    section = page.locator("#net-googlenet")
    layers = section.locator("details.layers")
    assert layers.get_attribute("open") is not None  # open in a one-network report
    # Sorting: click the MACs heading twice (descending): conv2's 3x3 convolution, 346,816,512 MACs
    heading = layers.locator("th", has_text="MACs").first
    heading.click()
    heading.click()
    assert layers.locator("tbody tr").first.locator("td").nth(1).inner_text() == "conv2.conv"
    layers.locator("th").first.click()  # back to network order
    shown = layers.locator(".shown")
    total = len(archlens.profile("googlenet").layers)
    assert shown.inner_text() == f"{total} of {total} rows"
    layers.locator("input.search").fill("inception_4e.branch_3x3")  # reduce conv + relu, conv + relu
    assert shown.inner_text() == f"4 of {total} rows"
    layers.locator("input.search").fill("")
    # a bound on the MACs column: the layers of GoogLeNet over 100 M MACs are conv1, conv2, 3b's 3x3 and 4e's 3x3
    big = [layer.name for layer in archlens.profile("googlenet").layers if layer.macs > 100_000_000]
    layers.locator('tr.filters input[data-column="5"]').fill(">100M")
    assert shown.inner_text() == f"{len(big)} of {total} rows"
    visible = layers.locator("tbody tr:not([hidden]) td:nth-child(2)").all_inner_texts()
    assert visible == big
    layers.locator('tr.filters input[data-column="5"]').fill("")
    layers.locator('tr.filters select[data-column="2"]').select_option("lrn")
    assert shown.inner_text() == f"2 of {total} rows"
    layers.locator('tr.filters select[data-column="2"]').select_option("")
    # a click on the treemap's biggest rectangle (conv2, 21.9 %) shows conv2's rows in the layer table
    treemap = section.locator("div.plotly-graph-div").nth(2)
    treemap.scroll_into_view_if_needed()
    box = treemap.bounding_box()
    page.mouse.click(box["x"] + 60, box["y"] + box["height"] / 2)
    chip = layers.locator(".chip")
    chip.wait_for(state="visible", timeout=5_000)
    assert chip.locator(".block").inner_text() == "conv2"
    assert layers.locator("tbody tr:not([hidden]) td:nth-child(2)").all_inner_texts() == ["conv2.conv", "conv2.relu"]
    chip.locator("button").click()
    assert shown.inner_text() == f"{total} of {total} rows"
    # the switch above a bar chart of layers hides the layer names
    switch = section.locator("input[data-names]").first
    ticks = section.locator("div.plotly-graph-div").first.locator(".xtick")
    assert ticks.count() > 10
    switch.uncheck()
    page.wait_for_function(f"document.getElementById('{switch.get_attribute('data-names')}')"
                           ".querySelectorAll('.xtick text').length === 0 || "
                           f"document.getElementById('{switch.get_attribute('data-names')}')"
                           ".layout.xaxis.showticklabels === false")
    assert problems == []
    page.close()


def test_notebook_html_of_every_result_draws_in_chromium(browser, tmp_path):
    """What a notebook shows for each result type, drawn by a browser: the cells as the terminal has them,
    numbers right-aligned, nothing fetched."""
    from archlens.render.formats import _cells
    from tests.render.results import EXAMPLES, example

    results = {label: example(label) for label in EXAMPLES}
    page_file = tmp_path / "notebook.html"
    page_file.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'><title>results</title></head><body>"
                         + "".join(f'<section id="{label}">{result._repr_html_()}</section>'
                                   for label, result in results.items()) + "</body></html>", encoding="utf-8")
    page, problems, requests = load(browser, page_file)
    assert problems == [] and requests == [page_file.as_uri()]
    for label, result in results.items():
        view = result.view()
        tables = page.locator(f"#{label} table")
        assert tables.count() == len(view.tables)
        for index, table in enumerate(view.tables):
            drawn = tables.nth(index).evaluate(
                "t => Array.from(t.rows).map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
            expected = [[column.title for column in table.columns], *(_cells(table, row) for row in table.rows)]
            if table.total is not None:
                expected.append(_cells(table, table.total))
            assert drawn == expected, label
            assert tables.nth(index).bounding_box()["height"] > 20 * len(expected)
        aligns = page.locator(f"#{label} td.num").evaluate_all("cells => cells.map(c => getComputedStyle(c).textAlign)")
        assert set(aligns) == {"right"}, label
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook-results.png"), full_page=True)
    page.close()

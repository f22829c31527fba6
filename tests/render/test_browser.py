"""The HTML reports in a real browser: headless Chromium, offline, no console errors, every chart drawn.

Screenshots go to test-artifacts/ (kept by CI, ignored by git).
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


def load(context, page_file: Path):
    """Open ``page_file``; return the page and every console error, page error and network request."""
    problems, requests = [], []
    page = context.new_page()
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
            if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri(), wait_until="load")
    try:  # plotly draws while the page loads; give a slow machine a moment
        page.wait_for_function("Array.from(document.querySelectorAll('div.plotly-graph-div'))"
                               ".every((div) => div.querySelector('svg.main-svg'))", timeout=20_000)
    except Exception:  # noqa: BLE001 - check_page names the chart that did not draw
        pass
    return page, problems, requests


def check_page(page, problems, requests, page_file: Path, charts: int):
    assert problems == []
    assert requests == [page_file.as_uri()]  # offline: the page itself and nothing else
    plots = page.locator("div.plotly-graph-div")
    assert plots.count() == charts
    for index in range(charts):
        plot = plots.nth(index)
        assert plot.locator("svg.main-svg").count() >= 1, f"chart {index + 1} drew no SVG"
        box = plot.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 200
    graph = page.locator('div.graph[data-graph="top"] svg').first
    graph.scroll_into_view_if_needed()
    assert graph.is_visible()
    assert graph.locator("g.node").count() > 10  # boxes drawn, not an empty frame
    assert graph.bounding_box()["height"] > 300


def test_comparison_report_in_chromium(browser, tmp_path):
    require_tool("dot")
    page_file = tmp_path / "cmp.html"
    assert main(["report", "googlenet", "alexnet", "vgg16", "-o", str(page_file)]) == 0
    page, problems, requests = load(browser, page_file)
    # 3 per network (MACs, params, treemap) + 2 comparison + 2 Inception study
    check_page(page, problems, requests, page_file, charts=3 * 3 + 2 + 2)
    # Sorting works: click the MACs heading of the comparison table twice (descending).
    heading = page.locator("#comparison ~ div table.sortable th", has_text="MACs").first
    heading.click()
    heading.click()
    first = page.locator("#comparison ~ div table.sortable tbody tr").first.locator("td").first.inner_text()
    assert first == "vgg16"
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report-comparison.png"))
    page.close()


def test_single_network_report_in_chromium(browser, tmp_path):
    require_tool("dot")
    page_file = tmp_path / "googlenet.html"
    assert main(["report", "googlenet", "-o", str(page_file)]) == 0
    page, problems, requests = load(browser, page_file)
    # MACs, params, treemap, and the Inception study's two charts (GoogLeNet has Inception modules)
    check_page(page, problems, requests, page_file, charts=3 + 2)
    full = page.locator('div.graph[data-graph="full"] svg').first
    assert full.is_visible() and full.locator("g.cluster").count() >= 9 * 5  # 9 modules, 4 branches each
    assert page.locator("text=GoogLeNet paper, Table 1").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "report-googlenet.png"))
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

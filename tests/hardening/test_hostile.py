"""Hostile names are inert: a spec whose free text holds <script>, quotes, braces, pipes and DOT syntax
(tests/hardening/hostile.yaml) renders as text in every output, and a real browser runs none of it.

Layer and branch names are identifiers (the schema refuses anything else: tests/corpus); the
network's name, description, metadata and block labels are free text and reach every output.
Each injected script would set ``window.__pwned``.
"""

import csv
import io
import json
import subprocess
import xml.etree.ElementTree as ElementTree
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

import archlens
from archlens.cli import main
from tests.conftest import require_tool

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile.yaml"
NAME = yaml.safe_load(HOSTILE.read_text())["name"]
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def benign_copy(folder: Path) -> Path:
    """The same network with plain free text: its outputs have the structure the hostile ones must keep."""
    data = yaml.safe_load(HOSTILE.read_text())
    data["name"], data["description"] = "plain", "plain"
    data["metadata"] = {"paper": "plain", "url": "https://example.com/", "notes": "plain",
                        "accuracy": {**data["metadata"]["accuracy"], "dataset": "plain", "source": "plain"}}
    data["layers"][1]["parallel"]["block"] = "plain"
    path = folder / "plain.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_the_hostile_spec_is_valid():
    spec = archlens.load_spec(HOSTILE)
    assert spec.name == NAME and "<script>" in spec.name and "digraph" in spec.name


def test_csv_and_json_keep_their_structure():
    profile = archlens.profile(HOSTILE, train=True)
    rows = list(csv.reader(io.StringIO(profile.render("csv"))))
    assert len({len(row) for row in rows}) == 1 and len(rows) == len(profile.layers) + 1
    assert json.loads(profile.to_json())["name"] == NAME


def test_markdown_tables_keep_their_columns_and_show_html_as_text():
    for depth in (1, None):
        rendered = archlens.profile(HOSTILE).render("markdown", depth=depth)
        rows = [line for line in rendered.splitlines() if line.startswith("|")]
        columns = {line.replace("\\|", "").count("|") for line in rows}
        assert len(rows) > 3 and len(columns) == 1
        assert "<" not in rendered and "&lt;script&gt;window.\\_\\_pwned = 1&lt;/script&gt;" in rendered


def graph_structure(dot_file: Path) -> list[str]:
    """The nodes and edges graphviz reads from a DOT file (names and ranks, not labels)."""
    plain = subprocess.run([require_tool("dot"), "-Tplain", str(dot_file)], capture_output=True, text=True,
                           check=True, timeout=60).stdout
    return sorted(line.split()[0] + " " + (line.split()[1] if line.startswith("node") else " ".join(line.split()[1:3]))
                  for line in plain.splitlines() if line.startswith(("node", "edge")))


@pytest.mark.parametrize("depth", [[], ["--depth", "1"]], ids=["every-layer", "blocks"])
def test_dot_syntax_in_names_adds_no_nodes_or_edges(tmp_path, capsys, depth):
    hostile, plain = tmp_path / "hostile.dot", tmp_path / "plain.dot"
    assert main(["graph", str(HOSTILE), "-o", str(hostile), *depth]) == 0
    assert main(["graph", str(benign_copy(tmp_path)), "-o", str(plain), *depth]) == 0
    assert graph_structure(hostile) == graph_structure(plain)


def assert_svg_inert(svg: str):
    root = ElementTree.fromstring(svg)  # well-formed: nothing broke out of a text node or attribute
    for element in root.iter():
        assert not element.tag.lower().endswith(("script", "foreignobject")), element.tag
        for attribute, value in element.attrib.items():
            assert not attribute.lower().rsplit("}", 1)[-1].startswith("on"), attribute
            assert not value.strip().lower().startswith("javascript:"), value


def test_svg_graph_and_report_images_are_inert(tmp_path, capsys):
    require_tool("dot")
    assert main(["graph", str(HOSTILE), "-o", str(tmp_path / "g.svg")]) == 0
    assert_svg_inert((tmp_path / "g.svg").read_text())
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in (tmp_path / "g.svg").read_text()
    assert main(["report", str(HOSTILE), "googlenet", "-o", str(tmp_path / "md" / "r.md")]) == 0
    images = sorted((tmp_path / "md").rglob("*.svg"))
    assert len(images) >= 5
    for image in images:
        assert_svg_inert(image.read_text())
    assert sum("__pwned" in image.read_text() for image in images) >= 3  # the names are there, as text


@pytest.mark.parametrize("targets", [[str(HOSTILE)], [str(HOSTILE), "googlenet"]], ids=["single", "comparison"])
def test_markdown_report_shows_html_as_text(tmp_path, capsys, targets):
    """The .md report's headings, description and image alt texts hold no raw HTML from the spec."""
    require_tool("dot")
    page = tmp_path / "r.md"
    assert main(["report", *targets, "-o", str(page)]) == 0
    markdown = page.read_text()
    assert "<script" not in markdown and "<img" not in markdown
    assert "&lt;script&gt;window.\\_\\_pwned = 1&lt;/script&gt;" in markdown


class Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.scripts, self.handlers, self.links, self.in_script = [], [], [], False

    def handle_starttag(self, tag, attrs):
        self.in_script = tag == "script"
        if tag == "script":
            self.scripts.append("")
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}={value}")
            if name in ("href", "src") and value and value.strip().lower().startswith("javascript:"):
                self.links.append(value)

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script:
            self.scripts[-1] += data


def html_report(folder: Path, *targets: str) -> Path:
    page = folder / "report.html"
    assert main(["report", *targets, "-o", str(page)]) == 0
    return page


@pytest.mark.parametrize("targets", [[str(HOSTILE)], [str(HOSTILE), "googlenet"]], ids=["single", "comparison"])
def test_html_report_holds_the_names_as_text_only(tmp_path, capsys, targets):
    html = html_report(tmp_path, *targets).read_text()
    parsed = Collector()
    parsed.feed(html)
    plain = Collector()
    plain.feed(html_report(tmp_path, str(benign_copy(tmp_path)), *targets[1:]).read_text())
    assert len(parsed.scripts) == len(plain.scripts)  # no script element added
    assert parsed.handlers == plain.handlers == []
    assert parsed.links == []
    for script in parsed.scripts:  # chart data carries the names JSON-escaped, never a closing tag
        assert "<script>window.__pwned" not in script and "</script" not in script.lower()
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=executable, headless=True,
            args=CHROMIUM_FLAGS, offline=True, viewport={"width": 1400, "height": 1000},
        )
        yield context
        context.close()


@pytest.mark.slow
@pytest.mark.parametrize("targets", [[str(HOSTILE)], [str(HOSTILE), "googlenet"]], ids=["single", "comparison"])
def test_no_script_runs_in_chromium(browser, tmp_path, capsys, targets):
    require_tool("dot")
    page_file = html_report(tmp_path, *targets)
    dialogs = []
    page = browser.new_page()
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(page_file.as_uri(), wait_until="load")
    page.wait_for_timeout(500)
    # Fire every mouse event handler an attribute could have smuggled in, then look again.
    page.evaluate("""() => document.querySelectorAll('*').forEach((element) => {
        for (const type of ['mouseover', 'mouseenter', 'click', 'focus']) {
            element.dispatchEvent(new MouseEvent(type, {bubbles: true}));
        }
    })""")
    page.wait_for_timeout(200)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    # The hostile name is on the page as text, exactly as written.
    assert NAME in page.evaluate("document.body.innerText")
    page.close()

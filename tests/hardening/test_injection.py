"""User text is inert in the outputs other programs open: spreadsheets read CSV, Markdown viewers
(GitHub, an editor's preview) turn Markdown into HTML.

* CSV: a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
  to a spreadsheet; it gets a leading ``'`` and quotes (OWASP's advice). Numbers stay numbers.
* Markdown: every user string is escaped as CommonMark defines it, so a real renderer (markdown-it-py,
  CommonMark with GitHub's tables and strikethrough) draws it as the characters written: no image,
  link, heading, emphasis, code, quote, list or table comes from it.

The hostile spec (tests/hardening/hostile.yaml) carries all of that in its name, description,
metadata and block label; each output is compared with the same network's with plain text.
"""

import csv
import io
import string
from html.parser import HTMLParser

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from archlens.cli import main
from archlens.render.formats import markdown_inline, markdown_table, markdown_text
from archlens.tables import Column, Result, Table, View
from tests.conftest import require_tool
from tests.hardening.test_hostile import HOSTILE, NAME, benign_copy

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def commonmark() -> MarkdownIt:
    """CommonMark with GitHub's tables and strikethrough: what a pull request or an editor shows."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


class Parsed(HTMLParser):
    """The start tags (with their attributes) and the text of an HTML fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data

    def structure(self) -> list[str]:
        """The element names, paragraphs and line breaks aside (a description's lines may differ)."""
        return [tag for tag, _ in self.tags if tag not in ("p", "br")]


def rendered(markdown: str) -> Parsed:
    return Parsed(commonmark().render(markdown))


def spaced(text: str) -> str:
    return " ".join(text.split())


# --- the escaping functions, against the renderer ---

PIECES = ["![i](http://e/x.png)", "[a](http://e)", "[r]: http://e", "<b>", "</p>", "<http://e>", "&amp;", "&#42;",
          "`", "``", "*", "**", "_", "__", "~", "~~", "$", "#", "# ", "> ", "- ", "+ ", "* ", "1. ", "2) ", "---",
          "===", "***", "___", "|", "|---|", ":---:", "\\", "\\*", "[", "]", "(", ")", "!", "www.e.com", "a@e.com",
          "http://e", ":", "a", "b_c", "x", "9", "é", " ", "  ", "\t", "    "]
text_pieces = st.lists(st.sampled_from(PIECES) | st.text(string.punctuation + "ab1 ", max_size=4), max_size=12)
one_line = text_pieces.map("".join)
lines = st.lists(one_line, min_size=1, max_size=5).map("\n".join)


@given(one_line)
def test_inline_text_is_literal_in_a_table_cell_a_heading_bold_italics_and_alt_text(text):
    escaped = markdown_inline(text)
    cell = rendered(markdown_table(["h"], [[text]]))
    assert [tag for tag, _ in cell.tags] == ["table", "thead", "tr", "th", "tbody", "tr", "td"]
    assert spaced(cell.text) == spaced("h " + text)
    heading = rendered(f"### {escaped}\n")
    assert [tag for tag, _ in heading.tags] == ["h3"] and spaced(heading.text) == spaced(text)
    image = rendered(f"![{escaped}](x.svg)\n")
    assert [tag for tag, _ in image.tags] == ["p", "img"] and image.tags[1][1]["src"] == "x.svg"
    assert spaced(image.tags[-1][1]["alt"]) == spaced(text)
    if text.strip():
        total = rendered(markdown_table(["h"], [], total=[text]))
        assert [tag for tag, _ in total.tags][-2:] == ["td", "strong"] and spaced(total.text) == spaced("h " + text)
        italics = rendered(f"_{markdown_inline(text.strip())}_\n")
        assert [tag for tag, _ in italics.tags] == ["p", "em"] and spaced(italics.text) == spaced(text)


@given(lines)
def test_text_is_literal_as_a_paragraph_and_a_list_item(text):
    paragraph = rendered(markdown_text(text) + "\n")
    assert set(tag for tag, _ in paragraph.tags) <= {"p", "br"} and spaced(paragraph.text) == spaced(text)
    item = rendered(f"- {markdown_text(text)}\n")
    assert set(tag for tag, _ in item.tags) <= {"ul", "li", "p", "br"} and spaced(item.text) == spaced(text)


def test_the_usual_names_stay_readable():
    assert markdown_inline("inception_3a.branch2 1x3x224x224 -82,671,872 (1.58 G) +5.5 %") == \
        "inception_3a.branch2 1x3x224x224 -82,671,872 (1.58 G) +5.5 %"
    assert markdown_text("googlenet: over budget (2 of 10 limits exceeded)") == \
        "googlenet: over budget (2 of 10 limits exceeded)"


# --- every Markdown output with the hostile spec ---

def cli_markdown(capsys, *args: str) -> str:
    assert main([*args, "-f", "markdown"]) in (0, 1)
    return capsys.readouterr().out


MARKDOWN_COMMANDS = {
    "profile": lambda spec: ["profile", spec],
    "profile-every-layer": lambda spec: ["profile", spec, "--depth", "0"],
    "compare": lambda spec: ["compare", spec, "googlenet"],
    "check": lambda spec: ["check", spec, "--max-macs", "1K"],
    "inception": lambda spec: ["inception", spec],
    "diff": lambda spec: ["diff", spec, "googlenet"],
    "claims": lambda spec: ["claims"],
}


@pytest.mark.parametrize("command", list(MARKDOWN_COMMANDS))
def test_every_markdown_output_draws_user_text_as_text(tmp_path, capsys, command):
    hostile = cli_markdown(capsys, *MARKDOWN_COMMANDS[command](str(HOSTILE)))
    plain = cli_markdown(capsys, *MARKDOWN_COMMANDS[command](str(benign_copy(tmp_path))))
    html, plain_html = rendered(hostile), rendered(plain)
    assert html.structure() == plain_html.structure()  # no element added by the names
    assert not {tag for tag, _ in html.tags} & {"img", "a", "h1", "h2", "code", "blockquote", "pre"}
    if command != "claims":
        assert NAME in html.text
    assert_no_autolink(hostile)


def assert_no_autolink(markdown: str):
    """GitHub links bare addresses (http://..., www...., a@b.c) too: none of the spec's is left whole."""
    for address in ("http://evil", "www.evil", "x@evil"):
        assert address not in markdown


@pytest.mark.parametrize("targets", [[str(HOSTILE)], [str(HOSTILE), "googlenet"]], ids=["single", "comparison"])
def test_the_markdown_report_draws_user_text_as_text(tmp_path, capsys, targets):
    require_tool("dot")
    hostile_page, plain_page = tmp_path / "hostile" / "r.md", tmp_path / "plain" / "r.md"
    assert main(["report", *targets, "-o", str(hostile_page)]) == 0
    assert main(["report", str(benign_copy(tmp_path)), *targets[1:], "-o", str(plain_page)]) == 0
    markdown = hostile_page.read_text()
    html, plain_html = rendered(markdown), rendered(plain_page.read_text())
    assert html.structure() == plain_html.structure()
    for tag, attrs in html.tags:  # the report's own images and links, in its folder
        if tag == "img":
            assert attrs["src"].startswith("r/") and (hostile_page.parent / attrs["src"]).is_file()
        if tag == "a":
            assert attrs["href"].startswith("r/") and (hostile_page.parent / attrs["href"]).is_file()
    headings = [tag for tag, _ in html.tags if tag in ("h1", "h2", "h3", "h4", "h5", "h6")]
    assert headings == [tag for tag, _ in plain_html.tags if tag in ("h1", "h2", "h3", "h4", "h5", "h6")]
    assert NAME in html.text
    description = yaml.safe_load(HOSTILE.read_text())["description"]
    for line in description.splitlines():
        assert line.strip() in html.text  # each line of the description, as written
    alts = [attrs["alt"] for tag, attrs in html.tags if tag == "img"]
    assert any(NAME in alt for alt in alts)
    assert_no_autolink(markdown)


# --- CSV ---

class Records(Result):
    def __init__(self, records):
        self._records = records

    def view(self):
        return View((Table("t", (Column("a"),), ()),))

    def records(self):
        return self._records

    def to_dict(self):
        return {}


def test_csv_text_cells_that_start_a_formula_are_neutralised_numbers_are_not():
    text = ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil";"googlenet")', "a;=1+2", "plain"]
    numbers = [-82671872, -0.055115, 0, 1.5]
    output = Records([{f"t{i}": value for i, value in enumerate(text + numbers)}]).render("csv")
    header, row = list(csv.reader(io.StringIO(output)))
    assert row == ["'=1+2", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", '\'=HYPERLINK("http://evil";"googlenet")',
                   "a;=1+2", "plain", "-82671872", "-0.055115", "0", "1.5"]
    line = output.split("\n")[1]
    # quoted as OWASP advises (and a cell holding ';' too: a spreadsheet splitting at ';' keeps it one cell)
    assert line.startswith('"\'=1+2","\'+1","\'-1","\'@SUM(A1)","\'\tx",')
    assert line.endswith(',"a;=1+2",plain,-82671872,-0.055115,0,1.5')


CSV_COMMANDS = {
    "profile": ["profile", str(HOSTILE), "--depth", "0"],
    "compare": ["compare", str(HOSTILE), "googlenet"],
    "check": ["check", str(HOSTILE), "--max-macs", "1K"],
    "inception": ["inception", str(HOSTILE)],
    "diff": ["diff", str(HOSTILE), "googlenet"],
}


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("command", list(CSV_COMMANDS))
def test_no_csv_output_holds_a_formula(capsys, command):
    assert main([*CSV_COMMANDS[command], "-f", "csv"]) in (0, 1)
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) > 1 and len({len(row) for row in rows}) == 1
    cells = [cell for row in rows for cell in row]
    assert all(is_number(cell) for cell in cells if cell.startswith(FORMULA_STARTS))
    if command == "compare":
        assert f"'{NAME}" in cells

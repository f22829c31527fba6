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
import json
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


# --- the terminal ---

MARKUP = "[/bold] [link=http://evil]googlenet[/link] [red]x[/red] :smile: \\[y]"


def markup_spec(folder) -> str:
    path = folder / "markup.yaml"
    path.write_text(yaml.safe_dump({"name": MARKUP, "description": "[bold]d[/bold]",
                                    "input": {"channels": 3, "height": 8, "width": 8},
                                    "layers": [{"conv": {"name": "c1", "out": 4, "kernel": 3}}]}))
    return str(path)


@pytest.mark.parametrize("command", [["profile"], ["show"], ["validate"], ["check", "--max-macs", "1"],
                                     ["compare", "alexnet"]])
def test_rich_markup_in_a_name_prints_as_written(tmp_path, capsys, command):
    """`[/bold]` in a name was a MarkupError (exit 3), `[link=...]googlenet[/link]` a plain "googlenet"."""
    spec = markup_spec(tmp_path)
    assert main([command[0], spec, *command[1:]]) in (0, 1)
    out, err = capsys.readouterr()
    assert MARKUP in out + err


def test_the_report_progress_bar_shows_names_as_written(monkeypatch):
    from archlens.cli.drawings import report_progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    with report_progress(2) as step:
        step(f"draw {MARKUP}")
    assert MARKUP[:28 - len("draw ")] in terminal.getvalue()


# --- fit's YAML: the comment header and the spec ---

def worst_name() -> str:
    """The worst one-line name validate accepts: YAML's indicators, a byte-order mark, noncharacters a
    YAML reader refuses (U+FFFE, U+FFFF), a right-to-left override, zero-width and wide spaces, an
    emoji, rich markup, and 200 characters in all."""
    name = ("n: 'x' \"y\" # z {a} [b] &c *d !e |f >g %h @i `j ~ - ? , \ufeff\ufffe\uffff\u202e\u200b\xa0\u3000"
            "\U0010ffff\U0001f600\ufdd0 [/bold] \\")
    return (name + "_" * 200)[:200]


@pytest.mark.parametrize("name", [worst_name(), "x" * 200, "# not: a key"], ids=["worst", "longest", "hash"])
def test_fit_writes_yaml_that_reads_back_as_its_spec(tmp_path, capsys, name):
    """The fitted file's comment header could not be read (U+FFFF: "unacceptable character"), and a
    200-character name became a 207-character one that validate refuses."""
    import archlens
    from archlens.spec import to_file_data

    spec = {"name": name, "description": "d: #\n- x\n'", "input": {"channels": 3, "height": 16, "width": 16},
            "layers": [{"conv": {"name": "c1", "out": 8, "kernel": 3}}, {"flatten": {}}, {"linear": {"name": "fc", "out": 2}}]}
    archlens.load_spec(spec)  # validate accepts it
    source, fitted = tmp_path / "net.json", tmp_path / "fitted.yaml"
    source.write_text(json.dumps(spec))
    assert main(["fit", str(source), "--max-macs", "100K", "-o", str(fitted)]) == 0
    text = fitted.read_text(encoding="utf-8")
    header = text[:text.index("\nname: ") + 1].splitlines()
    assert header and all(line.startswith("# ") for line in header)  # one comment a summary line
    assert len(header) == len(archlens.fit(spec, max_macs="100K").summary())
    data = yaml.safe_load(text)
    assert set(data) == {"name", "description", "input", "budget", "layers"}  # no key from the header
    loaded = archlens.load_spec(fitted)
    assert to_file_data(loaded) == to_file_data(archlens.fit(spec, max_macs="100K").spec)
    assert loaded.name.endswith("-w2.499") and len(loaded.name) <= 200
    capsys.readouterr()
    assert main(["check", str(fitted)]) == 0


@pytest.mark.parametrize("separator", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029", "\x0b", "\x0c"])
def test_a_comment_line_cannot_end_early(separator):
    """Validation refuses line breaks in names; the header is safe without that too."""
    from archlens.analysis.fit import yaml_comment

    comment = yaml_comment(f"googlenet{separator}name: evil{separator}\ufffe")
    assert comment.count("\n") == 1 and comment.startswith("# googlenet\\")
    assert yaml.safe_load(comment + "name: fitted\n") == {"name": "fitted"}


class Named(Result):
    """A result naming a layer as a module's nn.ModuleDict key can: with a lone surrogate."""

    name = "a\ud800b"

    def view(self):
        return View((Table(self.name, (Column("Layer"),), ((self.name,),)),), summary=(self.name,))

    def records(self):
        return [{"name": self.name}]

    def to_dict(self):
        return {"name": self.name}


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "html", "notebook"])
def test_a_lone_surrogate_from_a_module_still_writes(fmt):
    """A spec cannot hold one (validation refuses it); a module's layer names can, and every format
    ended in UnicodeEncodeError (exit 3) when written."""
    text = Named().render(fmt)
    text.encode("utf-8")
    if fmt == "json":
        assert json.loads(text)["name"] == Named.name  # JSON's escape: the same string back
    else:
        assert "a\ufffdb" in text


# --- every format of every result, with the hostile spec ---

def hostile_results():
    import archlens

    spec = archlens.load_spec(HOSTILE)
    return {
        "profile": archlens.profile(HOSTILE),
        "check": archlens.check(HOSTILE, max_macs="1K"),
        "comparison": archlens.comparison([HOSTILE, "googlenet"]),
        "diff": archlens.diff(HOSTILE, "googlenet"),
        "inception": archlens.inception_study(spec),
        "fit": archlens.fit(HOSTILE, max_macs="10M"),
    }


@pytest.mark.parametrize("fmt", ["table", "json", "html", "notebook"])
def test_every_result_shows_the_hostile_name_as_written(fmt):
    """Terminal text holds the name verbatim (no rich markup, no escape sequence); JSON holds it exactly;
    HTML (a report's tables, a notebook's display) holds it as text: no element, attribute or script."""
    from tests.hardening.test_hostile import Collector

    for kind, result in hostile_results().items():
        text = result.render(fmt)
        text.encode("utf-8")
        if fmt == "table":
            assert NAME in text and "\x1b" not in text, kind
        elif fmt == "json":
            data = json.dumps(json.loads(text), ensure_ascii=False)
            assert json.dumps(NAME, ensure_ascii=False)[1:-1] in data, kind
        else:
            parsed = Collector()
            parsed.feed(text)
            assert parsed.scripts == [] and parsed.handlers == [] and parsed.links == [], kind
            assert NAME in Parsed(text).text, kind
            tags = {tag for tag, _ in Parsed(text).tags}
            assert tags <= {"style", "div", "p", "b", "i", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
                            "ul", "li"}, (kind, tags)


SURROGATE_MODULE = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleDict({"a\\ud800b": nn.Conv2d(3, 4, 3), "=HYPERLINK(1)": nn.ReLU()})

    def forward(self, x):
        for block in self.blocks.values():
            x = block(x)
        return x
'''


@pytest.mark.parametrize("command", [["profile", "-f", "json"], ["profile", "-f", "csv"], ["profile"],
                                     ["report", "-o", "r.md"], ["report", "-o", "r.html"], ["graph", "-o", "g.svg"]])
def test_a_module_whose_layer_name_holds_a_lone_surrogate_is_written(tmp_path, monkeypatch, capsys, command):
    """Each of these ended in `internal error: UnicodeEncodeError` (exit 3)."""
    (tmp_path / "surrogate_net.py").write_text(SURROGATE_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main([command[0], "surrogate_net:Net", "--input-shape", "1,3,8,8", *command[1:]]) == 0
    out = capsys.readouterr().out
    if command[-1] == "json":
        assert {layer["name"] for layer in json.loads(out)["layers"]} >= {"blocks.a\ud800b"}
    if command[-1] == "csv":
        assert "blocks.a\ufffdb" in out and "blocks.=HYPERLINK(1)" in out  # not at a cell's start: no quote

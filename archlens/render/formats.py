"""One renderer a format, for every result: terminal table, Markdown, CSV, JSON, HTML, notebook (and ``text``).

Each renderer takes a result (anything with ``view``/``records``/``to_dict``: see
:mod:`archlens.tables`) and options for it (``depth`` for a profile, ``part`` for the Inception
study) and returns text; ``import archlens`` registers them, so ``result.render("markdown")``,
``result.to_json()``, ``str(result)`` and a notebook's display work on every result. The same
result gives the same bytes in every format: terminal tables are drawn at a fixed width, never
measured from the terminal.

>>> import archlens
>>> print(archlens.check("googlenet", max_params="7M").render("csv"), end="")
scope,pattern,quantity,unit,limit,measured,margin,margin_fraction,ok,source
network,,params,parameters,7000000,6998552,1448,0.000207,True,argument
"""

from __future__ import annotations

import html
import io
import json
import re
from typing import Any

from archlens.conventions import JSON as JSON_CONVENTIONS
from archlens.render.cells import cell_text, prose_text
from archlens.tables import Prose, Table, Text, Value, register

WIDTH = 1000
"""The terminal renderer's line width: wide enough never to squeeze a table (lines are right-stripped)."""


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """Text any output can encode as UTF-8: a lone surrogate (a module's layer names can hold one, from
    an ``nn.ModuleDict`` key; a spec's cannot) becomes U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", text)


def _cells(table: Table, row: tuple[Any, ...]) -> list[str]:
    return [cell_text(cell, column.unit) for column, cell in zip(table.columns, row)]


# --- text: one sentence ---

@register("text")
def text(prose: Prose, **_options: Any) -> str:
    """A :class:`~archlens.tables.Text` (or a string) as its sentence: what ``str(text)`` gives."""
    return prose_text(prose)


# --- terminal ---

@register("table")
def terminal(result: Any, **options: Any) -> str:
    """The result as plain terminal text: each table under its title, its notes as ``- `` lines, then
    the summary lines and the legend (rich draws the tables; no colour, no markup)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable

    view = result.view(**options)
    buffer = io.StringIO()
    # force_jupyter=False: inside a notebook rich would send the table to the cell's display and write
    # nothing to the buffer (str(result) was "" there, and print(result) showed stray output)
    console = Console(file=buffer, width=WIDTH, force_terminal=False, force_jupyter=False, color_system=None,
                      highlight=False, markup=False, emoji=False, soft_wrap=False)
    for index, table in enumerate(view.tables):
        if index:
            console.print()
        console.print(prose_text(table.title), soft_wrap=True)
        grid = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_footer=table.total is not None)
        footer = _cells(table, table.total) if table.total is not None else [""] * len(table.columns)
        for column, foot in zip(table.columns, footer):
            grid.add_column(column.title, footer=foot, justify=column.align, no_wrap=True)
        for row in table.rows:
            grid.add_row(*_cells(table, row))
        console.print(grid)
        for note in table.notes:
            console.print(f"- {prose_text(note)}", soft_wrap=True)
    for line in view.summary:
        console.print(prose_text(line), soft_wrap=True)
    if view.legend is not None:
        console.print(prose_text(view.legend), soft_wrap=True)
    return encodable("\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n")


# --- Markdown ---

# Inline syntax a character can start (CommonMark, and GitHub's extensions: tables, strikethrough,
# math): escaped wherever it stands. "<", ">" and "&" become entities, so no HTML, autolink or entity
# is read either.
_MARKDOWN_INLINE = {"\\": "\\\\", "`": "\\`", "*": "\\*", "[": "\\[", "]": "\\]", "|": "\\|", "~": "\\~",
                    "$": "\\$", "#": "\\#", "@": "\\@", "<": "&lt;", ">": "&gt;", "&": "&amp;"}
# What starts a block at the start of a line: a list item (- + 1. 1)), a setext underline or a
# thematic break (--- ===); the other block starts (# > ``` ~~~ < | * _) are escaped inline already.
_BLOCK_START = re.compile(r"[-+](?=[ \t]|$)|-(?=[- \t]*$)|=(?=[=]*[ \t]*$)|[0-9]{1,9}[.)](?=[ \t]|$)")


def markdown_inline(text: str) -> str:
    """User text as literal Markdown on one line (a table cell, a heading, an image's alt text): every
    character that could start markup is escaped as CommonMark defines it (a backslash before ASCII
    punctuation; ``<``, ``>``, ``&`` as entities), so links, images, emphasis, code, HTML, pipes and
    autolinks (``http://``, ``www.``, ``a@b.c``) show as the characters written. An underscore between
    two letters or digits cannot emphasise and stays as it is (``inception_3a``); line breaks become spaces.

    >>> markdown_inline("![i](http://evil/x.png) <b>*bold*</b> & conv_1 | _x_")
    '!\\\\[i\\\\](http\\\\://evil/x.png) &lt;b&gt;\\\\*bold\\\\*&lt;/b&gt; &amp; conv_1 \\\\| \\\\_x\\\\_'
    """
    text = " ".join(text.splitlines())
    out = []
    for index, character in enumerate(text):
        before = text[index - 1] if index else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if character in _MARKDOWN_INLINE:
            out.append(_MARKDOWN_INLINE[character])
        elif character == "_" and not (before.isalnum() and after.isalnum()):
            out.append("\\_")  # it could open or close emphasis
        elif character == ":" and after and not after.isspace():
            out.append("\\:")  # a scheme's colon (http://, mailto:): no autolink
        elif character == "." and text[max(0, index - 3):index].lower() == "www":
            out.append("\\.")  # www.: no autolink
        else:
            out.append(character)
    return "".join(out)


def markdown_text(text: str) -> str:
    """User text as literal Markdown where blocks start (a paragraph, a list item): escaped as
    :func:`markdown_inline` does, line by line, and what would start a block at the start of a line
    (``-``, ``+``, ``=``, ``1.``) escaped too, leading spaces dropped (no indented code), so a
    description's ``# heading``, ``> quote``, ``- item``, ``===`` or table is plain text.

    >>> markdown_text("# not a heading\\n- not a list\\n    1. not code")
    '\\\\# not a heading\\n\\\\- not a list\\n1\\\\. not code'
    """
    lines = []
    for line in text.splitlines():
        line = markdown_inline(line.strip())
        start = _BLOCK_START.match(line)
        if start:
            line = f"{line[:start.end() - 1]}\\{line[start.end() - 1:]}"
        lines.append(line)
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]], align: str | None = None,
                   total: list[str] | None = None) -> str:
    """A GitHub Markdown table of text cells (escaped here: :func:`markdown_inline`); ``align`` is one
    letter a column (``l``/``r``); ``total``, a last row in bold."""
    align = align or "l" * len(header)
    lines = ["| " + " | ".join(markdown_inline(h) for h in header) + " |",
             "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|"]
    lines += ["| " + " | ".join(markdown_inline(v) for v in row) + " |" for row in rows]
    if total is not None:
        lines.append("| " + " | ".join(f"**{markdown_inline(v.strip())}**" if v.strip() else "" for v in total) + " |")
    return "\n".join(lines) + "\n"


@register("markdown")
def markdown(result: Any, **options: Any) -> str:
    """The result as GitHub Markdown: a ``###`` heading and a table each, notes and summary as lists,
    the legend in italics; every user string escaped."""
    view = result.view(**options)
    parts = []
    for table in view.tables:
        rows = [_cells(table, row) for row in table.rows]
        total = _cells(table, table.total) if table.total is not None else None
        align = "".join("r" if column.align == "right" else "l" for column in table.columns)
        text = f"### {markdown_inline(prose_text(table.title))}\n\n"
        text += markdown_table([column.title for column in table.columns], rows, align, total)
        if table.notes:
            text += "\n" + "".join(f"- {markdown_text(prose_text(note))}\n" for note in table.notes)
        parts.append(text)
    text = "\n".join(parts)
    if view.summary:
        text += "\n" + "".join(f"- {markdown_text(prose_text(line))}\n" for line in view.summary)
    if view.legend is not None:
        text += f"\n_{markdown_inline(prose_text(view.legend))}_\n"
    return encodable(text)


# --- CSV ---

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")."""


def csv_field(value: Any) -> str:
    """One CSV field. A number is written as it is (``-82671872`` stays a number); text starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` and quotes, as OWASP
    advises, so a spreadsheet shows it as text instead of running it; text holding a separator
    (``,`` or ``;``: a spreadsheet may split on either), a quote or a line break is quoted.

    >>> csv_field(-82671872), csv_field('=HYPERLINK("http://evil")'), csv_field("inception_3a")
    ('-82671872', '"\\'=HYPERLINK(""http://evil"")"', 'inception_3a')
    """
    if value is None:
        return ""
    if isinstance(value, (bool, int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        text = "x".join(map(str, value))  # shapes: 1x3x224x224
    elif isinstance(value, (Text, Value)):
        text = cell_text(value)
    else:
        text = str(value)
    quote = text.startswith(FORMULA_STARTS)
    if quote:
        text = "'" + text
    if quote or any(character in text for character in ',;"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


@register("csv")
def csv_text(result: Any, **options: Any) -> str:
    """The result's records, one row each (header from the first); lists as ``1x3x224x224``, None empty;
    text that a spreadsheet would run as a formula neutralised (:func:`csv_field`)."""
    records = result.records(**options)
    if not records:
        return ""
    fields = list(records[0])
    lines = [",".join(csv_field(name) for name in fields)]
    lines += [",".join(csv_field(record.get(name)) for name in fields) for record in records]
    return encodable("\n".join(lines) + "\n")


# --- JSON ---

def _json_value(value: Any) -> Any:
    if isinstance(value, (Text, Value)):
        return cell_text(value)
    raise TypeError(f"{type(value).__name__} is not JSON data")


@register("json")
def json_text(result: Any, *, indent: int = 2, **options: Any) -> str:
    """The result's data as JSON with a stable key order, and the counting conventions as its last field."""
    data = {**result.to_dict(**options), "conventions": JSON_CONVENTIONS}
    text = json.dumps(data, indent=indent, ensure_ascii=False, default=_json_value) + "\n"
    # a lone surrogate (in a string: nowhere else) as JSON's escape, which reads back as the same string
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


# --- HTML ---

@register("html")
def html_text(result: Any, **options: Any) -> str:
    """The result as an HTML fragment (a report's table; inside a notebook's display): every string
    escaped, right-aligned cells of class ``num``, the total row in ``tfoot``; classes, no style."""
    esc = html.escape
    view = result.view(**options)
    out = ['<div class="archlens-result">']
    for table in view.tables:
        def row_html(cells: list[str], tag: str) -> str:
            return "<tr>" + "".join(
                f'<{tag} class="num">{esc(cell)}</{tag}>' if column.align == "right" else f"<{tag}>{esc(cell)}</{tag}>"
                for column, cell in zip(table.columns, cells)) + "</tr>"

        head = row_html([column.title for column in table.columns], "th")
        body = "".join(row_html(_cells(table, row), "td") for row in table.rows)
        foot = f"<tfoot>{row_html(_cells(table, table.total), 'td')}</tfoot>" if table.total is not None else ""
        out.append(f'<p class="title"><b>{esc(prose_text(table.title))}</b></p>'
                   f"<table><thead>{head}</thead><tbody>{body}</tbody>{foot}</table>")
        if table.notes:
            out.append('<ul class="notes">' + "".join(f"<li>{esc(prose_text(note))}</li>" for note in table.notes)
                       + "</ul>")
    if view.summary:
        out.append('<ul class="summary">' + "".join(f"<li>{esc(prose_text(line))}</li>" for line in view.summary)
                   + "</ul>")
    if view.legend is not None:
        out.append(f'<p class="legend"><i>{esc(prose_text(view.legend))}</i></p>')
    out.append("</div>")
    return encodable("".join(out))


NOTEBOOK_STYLE = (
    "<style>"
    ".archlens-result{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;font-size:13px;"
    "line-height:1.45;color:inherit;max-width:100%;overflow-x:auto}"
    ".archlens-result p.title{margin:10px 0 4px;font-size:14px}"
    ".archlens-result table{border-collapse:collapse;margin:4px 0 6px;border:none;font-size:12.5px;"
    "table-layout:auto;width:auto}"
    ".archlens-result table th,.archlens-result table td{padding:3px 10px;text-align:left;vertical-align:top;"
    "border:none;border-bottom:1px solid rgba(127,127,127,.22);white-space:nowrap;color:inherit;"
    "background:transparent}"
    ".archlens-result table thead th{font-weight:600;border-bottom:2px solid rgba(127,127,127,.5);"
    "background:rgba(127,127,127,.10)}"
    ".archlens-result table tbody tr:nth-child(even) td{background:rgba(127,127,127,.05)}"
    ".archlens-result table tbody tr:hover td{background:rgba(0,114,178,.10)}"
    ".archlens-result table th.num,.archlens-result table td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}"
    ".archlens-result table tfoot td{font-weight:600;border-top:2px solid rgba(127,127,127,.5);border-bottom:none}"
    ".archlens-result ul{margin:4px 0 6px;padding-left:20px}"
    ".archlens-result ul.summary{list-style:none;padding-left:0;font-variant-numeric:tabular-nums}"
    ".archlens-result p.legend{margin:4px 0;opacity:.72;font-size:12px;white-space:normal;max-width:100ch}"
    "</style>"
)
"""The notebook's styling, scoped to ``.archlens-result`` and colour-neutral (inherited text, translucent
greys), so a result reads the same in a light or a dark notebook theme and styles nothing else."""


@register("notebook")
def notebook_html(result: Any, **options: Any) -> str:
    """What a notebook shows for a result (``_repr_html_``): the ``html`` fragment with its own scoped
    style, self-contained (no script, no link, nothing fetched)."""
    return NOTEBOOK_STYLE + html_text(result, **options)

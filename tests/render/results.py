"""Every result type, one expression each: what the notebook test runs in a kernel and the browser test draws."""

import html

import archlens
from archlens.render.cells import prose_text
from archlens.render.formats import _cells

EXAMPLES = {
    "profile": 'archlens.profile("googlenet")',
    "table1": "archlens.reproduce_table1()",
    "comparison": 'archlens.comparison(["googlenet", "alexnet", "vgg16"])',
    "inception": "archlens.inception_study()",
    "claims": "archlens.paper_claims()",
    "check": 'archlens.check("googlenet", max_macs="1.5G", blocks=[{"match": "inception_*", "max_macs": "200M"}])',
    "fit": 'archlens.fit("googlenet", max_macs="1.5G")',
    "diff": 'archlens.diff("googlenet", "googlenet-naive")',
}
"""label -> a Python expression giving that result (``archlens`` imported)."""


def example(label: str):
    return eval(EXAMPLES[label], {"archlens": archlens})  # noqa: S307 - our own fixed expressions


def terminal_texts(result) -> list[str]:
    """Every text the terminal table shows: titles, headings, cells, totals, notes, summary lines, legend."""
    view = result.view()
    texts = []
    for table in view.tables:
        texts.append(prose_text(table.title))
        texts += [column.title for column in table.columns]
        for row in (*table.rows, *((table.total,) if table.total is not None else ())):
            texts += [cell for cell in _cells(table, row) if cell]
        texts += [prose_text(note) for note in table.notes]
    texts += [prose_text(line) for line in view.summary]
    if view.legend is not None:
        texts.append(prose_text(view.legend))
    return texts


def missing_from_html(result, page: str) -> list[str]:
    """The terminal's texts that the HTML does not show (compared unescaped)."""
    shown = html.unescape(page)
    return [text for text in terminal_texts(result) if text not in shown]

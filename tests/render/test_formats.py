"""The renderers: one a format, for every result; the table model they draw."""

import doctest
import importlib

import pytest

import archlens
from archlens.errors import ArchlensError
from archlens.tables import Column, Result, Table, Text, Value, View, formats, register, render


@pytest.mark.parametrize("name", ["archlens.tables", "archlens.render.cells", "archlens.render.formats",
                                  "archlens.render.graph", "archlens.render.html"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_every_format_is_registered_once():
    assert set(formats()) == {"text", "table", "markdown", "csv", "json", "html", "notebook"}
    with pytest.raises(ValueError, match="registered twice"):
        register("csv")(lambda result: "")
    with pytest.raises(ArchlensError, match="unknown format 'xml'; use one of: text, table"):
        render(archlens.profile("alexnet"), "xml")


class Tiny(Result):
    """A new analysis: a view, records and data; every format draws it with nothing more."""

    def view(self):
        columns = (Column("Layer [bold]"), Column("MACs", "int", "right"), Column("Share", "share", "right"))
        table = Table(Text("{name}: {n} rows", name="net|<b>", n=2), columns,
                      (("conv[1]", 1_000_000, 0.75), ("fc", 333_334, None)), total=("Total", 1_333_334, 1.0),
                      notes=(Text("{ratio} of the first", ratio=Value(3.0, "ratio")),))
        return View((table,), summary=("one line",), legend="how to read it")

    def records(self):
        return [{"layer": "conv[1]", "shape": [1, 8, 4, 4], "note": Text("{n:,}", n=1000), "none": None}]

    def to_dict(self):
        return {"rows": self.records()}


def test_a_new_result_renders_in_every_format():
    tiny = Tiny()
    table = tiny.render("table")
    assert table.splitlines()[0] == "net|<b>: 2 rows"
    assert "conv[1]" in table and "Layer [bold]" in table  # no rich markup is interpreted
    assert " Total          1,333,334   100.0" in table
    assert table.splitlines()[-3:] == ["- 3.00x of the first", "one line", "how to read it"]
    markdown = tiny.render("markdown")
    assert markdown.startswith("### net\\|&lt;b&gt;: 2 rows\n")  # user text shows as written, never as markup
    assert "| Layer \\[bold\\] | MACs | Share |" in markdown and "| conv\\[1\\] | 1,000,000 | 75.0 |" in markdown
    assert "| **Total** | **1,333,334** | **100.0** |" in markdown and "| fc | 333,334 |  |" in markdown
    assert markdown.endswith("\n- 3.00x of the first\n\n- one line\n\n_how to read it_\n")
    assert tiny.render("csv") == "layer,shape,note,none\nconv[1],1x8x4x4,\"1,000\",\n"
    assert '"note": "1,000"' in tiny.to_json() and tiny.to_json().rstrip().endswith("}")
    assert str(tiny) == table
    html = tiny._repr_html_()
    assert "<b>net|&lt;b&gt;: 2 rows</b>" in html and '<td class="num">1,000,000</td>' in html
    assert "<tfoot>" in html and "<i>how to read it</i>" in html


def test_a_profile_repr_is_one_line():
    """A plain Python prompt shows repr(): it was the dataclass's, 53,442 characters for GoogLeNet (every
    layer's record). Now one line with the figures: the paper's 6,998,552 parameters, 1.58 G MACs."""
    import archlens

    profile = archlens.profile("googlenet")
    assert repr(profile) == (f"<Profile googlenet: 6,998,552 params, 1,582,671,872 MACs, {len(profile.layers)} layers "
                             "(analytic, 1x3x224x224, float32)>")
    assert repr(archlens.profile("resnet18", step="train")).endswith("(analytic, 1x3x224x224, float32, training step)>")

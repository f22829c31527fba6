"""Results in a notebook: a real kernel (nbclient + ipykernel) executes a notebook showing every result type.

Each cell's display is the styled, self-contained HTML table (``text/html``) and the terminal table as
plain text (``text/plain``), never the 50 KB repr of the data behind it; ``print(result)`` prints the
terminal table. The browser test (tests/render/test_browser.py) draws the same HTML in Chromium.
"""

import json
import sys
from pathlib import Path

import pytest

from tests.render.results import EXAMPLES, example, missing_from_html

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # a kernel starts: seconds


@pytest.mark.parametrize("label", EXAMPLES)
def test_html_shows_every_number_and_note_of_the_terminal(label):
    result = example(label)
    page = result._repr_html_()
    assert page.startswith("<style>") and '<div class="archlens-result">' in page
    assert "<script" not in page and "<link" not in page and "http" not in page.split("</style>")[0]
    assert missing_from_html(result, page) == []


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, executed by this Python's ipykernel (a kernelspec of its own, so no other Python runs it)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    home = tmp_path_factory.mktemp("jupyter")
    spec = home / "kernels" / "archlens-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "archlens test", "language": "python",
        "env": {"PYTHONPATH": str(ROOT)},  # this checkout's archlens
    }))
    cells = [nbformat.v4.new_code_cell("import archlens"),
             nbformat.v4.new_code_cell("print(archlens.profile('googlenet'))")]
    cells += [nbformat.v4.new_code_cell(expression) for expression in EXAMPLES.values()]
    notebook = nbformat.v4.new_notebook(cells=cells)
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(home))
    try:
        client = nbclient.NotebookClient(notebook, kernel_name="archlens-test", timeout=120,
                                         resources={"metadata": {"path": str(home)}})
        client.execute()
    finally:
        mp.undo()
    return notebook


def test_print_in_a_notebook_is_the_table(executed):
    (stream,) = executed.cells[1].outputs
    assert stream.output_type == "stream" and stream.text == str(example("profile")) + "\n"  # print adds one


@pytest.mark.parametrize("index, label", list(enumerate(EXAMPLES, start=2)), ids=list(EXAMPLES))
def test_every_result_displays_as_its_table_in_a_kernel(executed, index, label):
    (output,) = executed.cells[index].outputs
    assert output.output_type == "execute_result"
    result = example(label)
    assert output.data["text/html"] == result._repr_html_()  # same bytes in the kernel as here
    assert output.data["text/plain"].rstrip("\n") == str(result).rstrip("\n")  # the table, not the repr

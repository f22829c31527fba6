"""A Markdown report's files: unique, stable image names, one folder a report, and written as one
(the old report survives a failed write; images of earlier runs do not pile up; a user's files stay)."""

import hashlib
import re
from pathlib import Path

import pytest

from archlens.cli import main
from archlens.render.markdown_report import image_folder, render_markdown_report
from archlens.report import build_report
from tests.conftest import require_tool


def tiny_spec(name: str, out: int) -> dict:
    return {"name": name, "input": {"channels": 3, "height": 16, "width": 16},
            "layers": [{"conv": {"name": "c1", "out": out, "kernel": 3}}, {"conv": {"name": "c2", "out": out, "kernel": 3}},
                       {"flatten": {}}, {"linear": {"name": "fc", "out": 2}}]}


def sections(markdown: str) -> list[tuple[str, list[str]]]:
    """Each section's heading and the image and link targets in it, in order."""
    found: list[tuple[str, list[str]]] = []
    for line in markdown.splitlines():
        if line.startswith("## "):
            found.append((line[3:], []))
        elif found:
            found[-1][1].extend(re.findall(r"\]\(([^)]+\.svg)\)", line))
    return found


def test_names_that_differ_only_in_punctuation_or_case_get_their_own_images():
    """`net a` and `net-a` wrote one net-a-macs.svg (the later one's), shown in both sections."""
    names = ["net a", "net-a", "Net-A", "net a"]
    specs = [tiny_spec(name, 4 * 2 ** i) for i, name in enumerate(names)]
    files = render_markdown_report(build_report(specs), "r.md")
    shown = [(heading, images) for heading, images in sections(files["r.md"]) if heading in names]
    assert [heading for heading, _ in shown] == names
    images = [image for _, section in shown for image in section]
    assert len({image.casefold() for image in images}) == len(images)  # no two sections share an image
    charts = [image for image in images if image.endswith("-macs.svg")]
    assert charts == ["r/net-a-macs.svg", "r/net-a-2-macs.svg", "r/Net-A-3-macs.svg", "r/net-a-4-macs.svg"]
    for image, spec in zip(charts, specs):  # each chart is its own network's
        assert f"{spec['name']}: MACs by top-level block" in files[image]
        out = spec["layers"][0]["conv"]["out"]
        macs = 14 * 14 * out * 3 * 9 + 12 * 12 * out * out * 9 + 12 * 12 * out * 2  # c1, c2, fc: hand-counted
        assert f"{macs:,} MACs in all" in files[image]
    diffs = [image for heading, section in sections(files["r.md"]) if "layer by layer" in heading for image in section]
    assert len(set(diffs)) == len(diffs) == 3
    assert render_markdown_report(build_report(specs), "r.md") == files  # the same names every time


def test_image_names_are_safe_file_names():
    long_name = "ß" * 100 + " <x> " + "é" * 100
    files = render_markdown_report(build_report([tiny_spec(long_name[:200], 4), tiny_spec("-rf *", 4)]), "r.md")
    for name in list(files)[1:]:
        file = name.split("/", 1)[1]
        assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", file) and len(file.encode()) < 100


def test_each_report_has_its_own_image_folder():
    assert image_folder("comparison.md") == "comparison" and image_folder("report.v2.md") == "report.v2"
    folders = {image_folder(name) for name in ("a b.md", "a-b.md", "a_b.md", "a.b.md", "a b.markdown", ".hidden.md")}
    assert len(folders) == 6 and "a-b" in folders
    assert image_folder("a b.md") == image_folder("a b.md") and image_folder("a b.md").startswith("a-b-")
    assert not image_folder(".hidden.md").startswith(".")
    for name in ("r.markdown", "report", "R.MD"):  # the folder is never the report's own file
        assert image_folder(name) != name and image_folder(name).startswith(name.replace(".", "-") + "-")


# --- written as one ---

def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) and its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.fixture
def old_report(tmp_path, capsys):
    """A Markdown report of two networks, written by the CLI, and a file of the user's beside its images."""
    page = tmp_path / "out" / "r.md"
    assert main(["report", "googlenet", "alexnet", "-o", str(page)]) == 0
    (page.parent / "r" / "notes.txt").write_text("the user's\n")
    capsys.readouterr()
    return page


def fail_on(monkeypatch, name: str, call: int, error: BaseException):
    """Make ``report_files``'s ``name`` (an ``os`` function or a helper) raise ``error`` on its ``call``-th call."""
    from archlens.render import report_files

    owner = report_files.os if hasattr(report_files.os, name) and not hasattr(report_files, name) else report_files
    real = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        if len(calls) == call:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


@pytest.mark.parametrize("failure", ["third image write", "moving the third image in", "writing the .md",
                                     "an interrupt while moving in"])
def test_a_failed_write_leaves_the_old_report_intact(old_report, monkeypatch, capsys, failure):
    """A failed image write left a new .md pointing at images that were never written."""
    import errno

    from archlens.render import report_files

    before = snapshot(old_report.parent)
    if failure == "third image write":  # a full disk on the third image
        fail_on(monkeypatch, "_create_beside", 3, OSError(errno.ENOSPC, "No space left on device"))
    elif failure == "moving the third image in":
        fail_on(monkeypatch, "replace", 3, OSError(errno.EIO, "Input/output error"))
    elif failure == "writing the .md":
        from archlens import outputs
        from archlens.errors import OutputError

        def refuse(path, data):
            raise OutputError("cannot write: No space left on device", where=str(path))

        monkeypatch.setattr(outputs, "write_atomic", refuse)
    else:
        fail_on(monkeypatch, "replace", 4, KeyboardInterrupt())
    new = ["report", "googlenet-naive", "vgg11", "-o", str(old_report)]  # other networks: other images
    if failure == "an interrupt while moving in":
        from archlens.render.markdown_report import render_markdown_report
        from archlens.report import build_report

        files = render_markdown_report(build_report(["googlenet-naive", "vgg11"]), old_report.name)
        with pytest.raises(KeyboardInterrupt):
            report_files.write_markdown_report(old_report, files)
    else:
        assert main(new) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and ("No space left" in err or "Input/output" in err)
    assert snapshot(old_report.parent) == before  # the old .md, its images, the user's file; no temporary file


def referenced(page: Path) -> set[str]:
    return set(re.findall(r"\]\(([^)]+\.svg)\)", page.read_text()))


def test_images_of_earlier_runs_are_removed_and_nothing_else(old_report, capsys):
    """Every run left its images behind; now only those archlens wrote and the new report does not show go."""
    folder = old_report.parent / "r"
    (folder / "mine.svg").write_text("<svg/>")                  # the user's image
    edited = folder / "googlenet-macs.svg"                      # archlens's, changed by the user
    edited.write_bytes(edited.read_bytes().replace(b"googlenet", b"GoogLeNet"))
    outside = old_report.parent / "outside.txt"
    outside.write_text("x")
    with open(folder / ".archlens.sha256", "a") as manifest:    # a line naming a file outside: ignored
        manifest.write(f"{hashlib.sha256(b'x').hexdigest()}  ../outside.txt\n")
    assert main(["report", "alexnet", "-o", str(old_report)]) == 0
    shown = {name.split("/", 1)[1] for name in referenced(old_report)}
    assert shown and {path.name for path in folder.iterdir()} == shown | {
        ".archlens.sha256", "notes.txt", "mine.svg", "googlenet-macs.svg"}
    assert outside.exists()
    listed = [line.split("  ")[1] for line in (folder / ".archlens.sha256").read_text().splitlines()]
    assert set(listed) >= shown and set(listed) <= shown | {"alexnet-graph-full.svg"}


def test_unchanged_images_are_not_rewritten(old_report, capsys):
    folder = old_report.parent / "r"
    inodes = {path.name: path.stat().st_ino for path in folder.iterdir()}
    assert main(["report", "googlenet", "alexnet", "-o", str(old_report)]) == 0
    assert {path.name: path.stat().st_ino for path in folder.iterdir()} == inodes


def test_an_image_name_taken_by_a_folder_is_one_line_and_changes_nothing(old_report, capsys):
    folder = old_report.parent / "r"
    (folder / "vgg11-macs.svg").mkdir()
    before = snapshot(old_report.parent)
    assert main(["report", "vgg11", "-o", str(old_report)]) == 2
    err = capsys.readouterr().err
    assert "vgg11-macs.svg: is a directory" in err and len(err.strip().splitlines()) == 1
    assert snapshot(old_report.parent) == before and (folder / "vgg11-macs.svg").is_dir()


def test_two_reports_in_one_folder_keep_their_own_images(tmp_path, capsys):
    """`a b.md` and `a-b.md` shared the folder a-b/: the second overwrote the first's images."""
    assert main(["report", "alexnet", "vgg11", "-o", str(tmp_path / "a b.md")]) == 0
    first = snapshot(tmp_path)
    assert main(["report", "vgg11", "alexnet", "-o", str(tmp_path / "a-b.md")]) == 0
    after = snapshot(tmp_path)
    assert {name: data for name, data in after.items() if name in first} == first
    for page in ("a b.md", "a-b.md"):
        assert all((tmp_path / image).is_file() for image in referenced(tmp_path / page))


def test_a_markdown_suffix_other_than_md_writes_its_images_beside_it(tmp_path, capsys):
    """`-o r.markdown` put its images in a folder named r.markdown: the report's own file name."""
    page = tmp_path / "r.markdown"
    assert main(["report", "alexnet", "-o", str(page)]) == 0
    assert page.is_file() and all((tmp_path / image).is_file() for image in referenced(page))

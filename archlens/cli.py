"""The ``archlens`` command line: thin wrappers over library functions that return data.

Every command parses options, calls one library function, renders, and writes. Errors become exit
codes in one place (:func:`main`): 0 ok, 1 over budget, 2 bad usage or bad input, 3 internal error.
``--debug`` (anywhere on the line) shows tracebacks.
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from archlens.errors import ArchlensError

app = typer.Typer(
    name="archlens",
    help="Count what a CNN architecture costs: exact parameters and multiply-accumulates, layer by layer.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class ProfileFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


FormatOpt = Annotated[Optional[ProfileFormat], typer.Option(
    "--format", "-f", help="Output format (default: from the -o file's suffix .csv/.json/.md, else table).")]
TargetArg = Annotated[str, typer.Argument(help="A built-in network name (archlens list), a spec file, or pkg.module:callable.")]
OutputOpt = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout.")]
TrainOpt = Annotated[bool, typer.Option("--train", help="Training mode: include the auxiliary heads.")]
InputShapeOpt = Annotated[Optional[str], typer.Option("--input-shape", help="N,C,H,W, e.g. 1,3,224,224: replaces each spec's input; what a module target (pkg.module:callable) runs on.")]
BatchOpt = Annotated[Optional[int], typer.Option("--batch", min=1, help="Batch size (default 1, or the first number "
                                                                         "of --input-shape).")]
DepthOpt = Annotated[
    Optional[int],
    typer.Option("--depth", "-d", min=0,
                 help="Sum layers up to N name levels (1: top-level blocks). 0: every layer. "
                      "Default: 1 for table and markdown, every layer for csv and json."),
]


SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown"}


def text_format(format: "Optional[ProfileFormat]", output: Optional[Path]) -> "ProfileFormat":
    """The format asked for, else the one ``-o``'s suffix names (``.csv``, ``.json``, ``.md``), else table."""
    if format is not None:
        return format
    suffix = output.suffix.lower() if output is not None else ""
    return ProfileFormat(SUFFIX_FORMATS.get(suffix, "table"))


def emit(text: "str | bytes", output: Optional[Path]) -> None:
    """Write command output to ``output`` atomically, or to stdout (no ``-o``, or ``-o -``)."""
    if output is None or str(output) == "-":
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    from archlens.outputs import write_atomic

    written = write_atomic(output, text)
    typer.echo(f"wrote {written}", err=True)


def parse_shape(text: Optional[str]) -> Optional[tuple[int, ...]]:
    """``"1,3,224,224"`` -> ``(1, 3, 224, 224)``."""
    from archlens.targets import parse_shape as parse

    return parse(text)


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    """archlens: exact parameters and MACs of CNN architectures, with the conventions stated."""


@app.command("list")
def list_command() -> None:
    """List the built-in networks with a one-line description each."""
    from archlens.spec import list_specs

    infos = list_specs()
    width = max(len(info.name) for info in infos)
    sys.stdout.write("".join(f"{info.name:<{width}}  {info.description}\n" for info in infos))


@app.command("show")
def show_command(
    target: Annotated[str, typer.Argument(help="A built-in network name or a spec file.")],
    output: OutputOpt = None,
) -> None:
    """Print the expanded spec (macros turned into primitives, aux heads kept) as YAML; it loads back
    as the same network, in both modes."""
    from archlens.spec import dump_yaml, expand, load_spec

    emit(dump_yaml(expand(load_spec(target))), output)


@app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Spec files to check.")],
) -> None:
    """Check spec files: exit 0 if all are valid, else 2 with one line per problem."""
    from archlens.counting.analytic import profile_spec
    from archlens.errors import SpecError
    from archlens.spec import load_spec

    problems: list[str] = []
    for file in files:
        try:
            spec = load_spec(file)
            profile_spec(spec, train=True)  # shapes must work too, aux heads included
        except SpecError as error:
            problems.extend(error.problems)
        except ArchlensError as error:
            problems.append(f"{file}: {error}")
        else:
            typer.echo(f"{file}: ok ({spec.name})")
    if problems:
        raise SpecError.from_problems(problems)


@app.command("profile")
def profile_command(
    target: TargetArg,
    format: FormatOpt = None,
    depth: DepthOpt = None,
    train: TrainOpt = False,
    engine: Annotated[Optional[str], typer.Option("--engine", "-e", help="analytic (specs, default: no torch), torch (modules, default: real ops on the meta device; specs are built on meta), fvcore (fvcore's figures; real CPU weights).")] = None,
    input_shape: InputShapeOpt = None,
    batch: BatchOpt = None,
    dtype: Annotated[str, typer.Option("--dtype", help="Activation dtype for memory figures.")] = "float32",
    output: OutputOpt = None,
    paper: Annotated[bool, typer.Option("--paper", help="Show the GoogLeNet paper's Table 1 beside our figures "
                                                        "(paper units: weights in K = 1024, ops in M).")] = False,
) -> None:
    """Profile a network: per-layer parameters, MACs, other ops and activations, with totals."""
    format = text_format(format, output)
    from archlens.profiler import profile

    shape = parse_shape(input_shape)
    if paper:
        if shape is not None or batch is not None or train or engine is not None:
            raise ArchlensError("--paper compares Table 1 with the spec as published (224x224, batch 1, inference)",
                                hint="drop --input-shape, --batch, --train and --engine")
        emit(render_table1(target, format), output)
        return
    result = profile(target, engine=engine, batch=batch, train=train, dtype=dtype, input_shape=shape)
    emit(render_profile(result, format, depth), output)


def render_table1(target: str, format: ProfileFormat) -> str:
    """The Table 1 reproduction of ``target`` in ``format``."""
    from archlens.analysis.table1 import reproduce_table1

    return reproduce_table1(target).render(format.value)


def render_profile(result, format: ProfileFormat, depth: Optional[int]) -> str:
    """Render a profile in ``format``; ``depth`` None means the format's default, 0 every layer."""
    human = format in (ProfileFormat.table, ProfileFormat.markdown)
    chosen = (1 if human else None) if depth is None else (None if depth == 0 else depth)
    return result.render(format.value, depth=chosen)


class GraphFormat(str, enum.Enum):
    svg = "svg"
    png = "png"
    pdf = "pdf"
    dot = "dot"


class ColorBy(str, enum.Enum):
    macs = "macs"
    params = "params"
    none = "none"


@app.command("graph")
def graph_command(
    targets: Annotated[list[str], typer.Argument(help="One network, or several drawn side by side.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The file to write (.svg, .png, .pdf or .dot).")],
    format: Annotated[Optional[GraphFormat], typer.Option("--format", "-f",
                                                          help="Default: from the output file's suffix.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0,
                                                 help="Draw groups N name levels down as one node "
                                                      "(1: top-level blocks). Default or 0: every layer.")] = None,
    color: Annotated[ColorBy, typer.Option("--color", help="Shade nodes by their MACs or params.")] = ColorBy.macs,
    block: Annotated[Optional[str], typer.Option("--block", help="Draw only this block (e.g. inception_3a).")] = None,
    train: TrainOpt = False,
    engine: Annotated[Optional[str], typer.Option("--engine", "-e", help="analytic, torch or fvcore (as for profile).")] = None,
    input_shape: InputShapeOpt = None,
) -> None:
    """Draw a network with graphviz: layers with kind, output shape, params and MACs; blocks as clusters."""
    from archlens.render import graph
    from archlens.report import profile_targets

    fmt = format.value if format is not None else graph_format_of(output)
    profiled = profile_targets(targets, train=train, engine=engine, input_shape=parse_shape(input_shape))
    dot_text = graph.to_dot([graph.graph_of(item.profile, item.spec, depth=depth or None, color=color.value,
                                            block=block) for item in profiled])
    try:
        data = graph.render(dot_text, fmt)
    except graph.GraphvizMissing:
        from archlens.outputs import write_atomic

        written = write_atomic(output.with_suffix(".dot"), dot_text)
        raise graph.GraphvizMissing(
            f"graphviz's `dot` is not installed, so wrote {written} instead of {output}",
            hint=graph.INSTALL_HINT + ", then rerun",
        ) from None
    emit(data, output)


def graph_format_of(output: Path) -> str:
    """``graph.svg`` -> ``svg``; an unknown suffix needs ``--format``."""
    suffix = output.suffix.lower().lstrip(".")
    suffix = "dot" if suffix == "gv" else suffix
    if suffix not in {f.value for f in GraphFormat}:
        raise ArchlensError(f"cannot tell the format of {str(output)!r} from its suffix",
                            hint="name it .svg, .png, .pdf or .dot, or give --format")
    return suffix


# ---------------------------------------------------------------- analyses: compare, inception, claims, check, fit


EngineOpt = Annotated[Optional[str], typer.Option("--engine", "-e", help="As for profile: analytic (specs, "
                                                                           "default), torch, fvcore.")]


@app.command("compare")
def compare_command(
    targets: Annotated[list[str], typer.Argument(help="Networks to compare; the first is the baseline for ratios.")],
    format: FormatOpt = None,
    train: TrainOpt = False,
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    output: OutputOpt = None,
) -> None:
    """Compare networks side by side: params, MACs, FLOPs, other ops, activations, depth, accuracy, ratios."""
    format = text_format(format, output)
    from archlens.analysis.compare import comparison

    result = comparison(targets, train=train, engine=engine, input_shape=parse_shape(input_shape))
    emit(result.render(format.value), output)


class StudyPart(str, enum.Enum):
    all = "all"
    modules = "modules"
    cascade = "cascade"


@app.command("inception")
def inception_command(
    target: Annotated[str, typer.Argument(help="A network with Inception modules (built-in name or spec file).")]
    = "googlenet",
    format: FormatOpt = None,
    part: Annotated[Optional[StudyPart], typer.Option(
        "--part", help="modules, cascade or all (default: all; csv: modules).")] = None,
    output: OutputOpt = None,
) -> None:
    """Naive vs reduced Inception modules: each module on the same input, then the whole-network cascade."""
    format = text_format(format, output)
    from archlens.analysis.inception import inception_study

    study = inception_study(target)
    chosen = (part or (StudyPart.modules if format is ProfileFormat.csv else StudyPart.all)).value
    emit(study.render(format.value, **({} if format is ProfileFormat.json else {"part": chosen})), output)


@app.command("claims")
def claims_command(
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """The GoogLeNet paper's quantitative claims, each with the measured figure and a verdict."""
    format = text_format(format, output)
    from archlens.analysis.claims import paper_claims

    emit(paper_claims().render(format.value), output)


MaxParamsOpt = Annotated[Optional[str], typer.Option("--max-params", help="At most this many parameters (7M).")]
MaxMacsOpt = Annotated[Optional[str], typer.Option("--max-macs", help="At most this many MACs (1.5G).")]
MaxFlopsOpt = Annotated[Optional[str], typer.Option("--max-flops", help="At most this many FLOPs (3G).")]
MaxActivationsOpt = Annotated[Optional[str], typer.Option(
    "--max-activations", help="At most this many bytes of layer outputs, summed (64MB, 64MiB).")]
MaxDepthOpt = Annotated[Optional[int], typer.Option(
    "--max-depth", min=1, help="At most this many layers with parameters on the longest path.")]
BlockOpt = Annotated[Optional[list[str]], typer.Option(
    "--block", help="A limit per block: 'inception_*:macs=200M[,params=1M]' (repeatable).")]


@app.command("check")
def check_command(
    target: TargetArg,
    max_params: MaxParamsOpt = None,
    max_macs: MaxMacsOpt = None,
    max_flops: MaxFlopsOpt = None,
    max_activations: MaxActivationsOpt = None,
    max_depth: MaxDepthOpt = None,
    block: BlockOpt = None,
    train: TrainOpt = False,
    batch: BatchOpt = None,
    dtype: Annotated[str, typer.Option("--dtype", help="Activation dtype for memory figures.")] = "float32",
    engine: EngineOpt = None,
    input_shape: InputShapeOpt = None,
    format: FormatOpt = None,
    output: OutputOpt = None,
) -> None:
    """Hold a network to a budget (options and the spec's budget: section). Exit 0 within, 1 over, 2 bad input."""
    format = text_format(format, output)
    from archlens.analysis.budget import check, parse_block_option

    report = check(target, max_params=max_params, max_macs=max_macs, max_flops=max_flops,
                   max_activations=max_activations, max_depth=max_depth,
                   blocks=[parse_block_option(item) for item in block or ()], train=train, batch=batch, dtype=dtype,
                   engine=engine, input_shape=parse_shape(input_shape))
    emit(report.render(format.value), output)
    if not report.ok:
        raise typer.Exit(1)


class Vary(str, enum.Enum):
    width = "width"
    resolution = "resolution"


class FitFormat(str, enum.Enum):
    yaml = "yaml"
    json = "json"


@app.command("fit")
def fit_command(
    target: Annotated[str, typer.Argument(help="A built-in network name or a spec file.")],
    vary: Annotated[Vary, typer.Option("--vary", help="What to scale: channel width or input resolution.")]
    = Vary.width,
    max_params: MaxParamsOpt = None,
    max_macs: MaxMacsOpt = None,
    max_flops: MaxFlopsOpt = None,
    max_activations: MaxActivationsOpt = None,
    max_depth: MaxDepthOpt = None,
    block: BlockOpt = None,
    divisor: Annotated[int, typer.Option("--divisor", min=1, help="Round channels (or the input size) to a "
                                                                  "multiple of this.")] = 8,
    train: TrainOpt = False,
    format: Annotated[FitFormat, typer.Option("--format", "-f", help="yaml: the fitted spec; json: the spec "
                                                                      "and the check.")] = FitFormat.yaml,
    output: OutputOpt = None,
) -> None:
    """Find the widest (or largest-input) variant within budget and write its spec. Exit 1 if none fits."""
    from archlens.analysis.budget import parse_block_option
    from archlens.analysis.fit import fit

    result = fit(target, vary=vary.value, max_params=max_params, max_macs=max_macs, max_flops=max_flops,
                 max_activations=max_activations, max_depth=max_depth,
                 blocks=[parse_block_option(item) for item in block or ()], divisor=divisor, train=train)
    summary = [str(line) for line in result.summary()]
    for line in summary:
        typer.echo(line, err=True)
    if format is FitFormat.json:
        emit(result.to_json(), output)
    else:  # the spec, headed by comment lines saying how it was found
        emit("".join(f"# {line.strip()}\n" for line in summary) + result.to_yaml(), output)


class ReportFormat(str, enum.Enum):
    html = "html"
    md = "md"


@app.command("report")
def report_command(
    targets: Annotated[list[str], typer.Argument(help="One network, or several to compare (the first is the baseline).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The report file: NAME.html, or NAME.md "
                                                                "(SVG images go in a folder NAME/ beside it).")],
    format: Annotated[Optional[ReportFormat], typer.Option("--format", "-f",
                                                           help="html or md. Default: from the suffix.")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="The report's title.")] = None,
    train: TrainOpt = False,
    max_params: Annotated[Optional[str], typer.Option("--max-params", help="Budget: at most this many parameters (7M).")] = None,
    max_macs: Annotated[Optional[str], typer.Option("--max-macs", help="Budget: at most this many MACs (1.5G).")] = None,
    max_flops: Annotated[Optional[str], typer.Option("--max-flops", help="Budget: at most this many FLOPs.")] = None,
    max_activations: Annotated[Optional[str], typer.Option("--max-activations",
                                                           help="Budget: activation memory (64MiB).")] = None,
    max_depth: Annotated[Optional[int], typer.Option("--max-depth", min=1, help="Budget: layers with parameters.")] = None,
    engine: Annotated[Optional[str], typer.Option("--engine", "-e", help="analytic, torch or fvcore (as for profile).")] = None,
    input_shape: InputShapeOpt = None,
) -> None:
    """Write a report: one self-contained HTML page (works offline), or Markdown with SVG images."""
    from archlens.report import build_report

    fmt = format.value if format is not None else report_format_of(output)
    limits = {key: value for key, value in (("max_params", max_params), ("max_macs", max_macs),
                                            ("max_flops", max_flops), ("max_activations", max_activations),
                                            ("max_depth", max_depth)) if value is not None}
    with report_progress(len(targets)) as step:
        report = build_report(targets, title=title, train=train, limits=limits, engine=engine,
                              input_shape=parse_shape(input_shape), progress=step)
        if fmt == "html":
            from archlens.render.html import render_html

            files = {output.name: render_html(report, progress=step)}
        else:
            from archlens.render.markdown_report import render_markdown_report

            files = render_markdown_report(report, output.name, progress=step)
        from archlens.outputs import write_atomic

        step(f"write {output.name}")
        for name, data in files.items():
            write_atomic(output.parent / name, data)
    images = list(files)[1:]
    images = f" and {len(images)} images in {output.parent / Path(images[0]).parent}/" if images else ""
    typer.echo(f"wrote {output}{images}", err=True)


def report_format_of(output: Path) -> str:
    """``cmp.html`` -> ``html``, ``cmp.md`` -> ``md``; another suffix needs ``--format``."""
    suffix = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md"}.get(output.suffix.lower())
    if suffix is None:
        raise ArchlensError(f"cannot tell the format of {str(output)!r} from its suffix",
                            hint="name it .html or .md, or give --format")
    return suffix


def report_progress(networks: int):
    """A progress bar on stderr while a multi-network report is built (a terminal only); yields a step callback."""
    import contextlib

    if networks < 2 or not sys.stderr.isatty():
        return contextlib.nullcontext(lambda _step: None)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    @contextlib.contextmanager
    def bar():
        # profile each, compare, study, claims, (Markdown: study figures,) draw each network, write
        progress = Progress(TextColumn("{task.description:<28}"), BarColumn(), TimeElapsedColumn(),
                            console=Console(stderr=True), transient=True)
        with progress:
            task = progress.add_task("report", total=2 * networks + 5)

            def step(name: str) -> None:
                progress.update(task, advance=1, description=name)

            yield step

    return bar()


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 over budget, 2 bad input or usage, 3 internal error).

    Every failure ends in one line on stderr, never a traceback (``--debug`` shows it). Ctrl-C gives
    "interrupted" and 130; a closed pipe (``archlens profile x | head``) ends quietly with 0.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [arg for arg in args if arg != "--debug"]
    _tolerate_narrow_encodings()
    try:
        try:
            result = app(args=args, prog_name="archlens", standalone_mode=False)
            sys.stdout.flush()  # a full disk or a closed pipe shows here, not at interpreter exit
        except SystemExit as done:
            # typer turns a broken pipe into sys.exit(1), and 1 means "over budget" here.
            if isinstance(done.__context__, BrokenPipeError):
                raise done.__context__ from None
            raise
        if result == 130:  # typer turns Ctrl-C into a silent exit code 130
            raise KeyboardInterrupt
        return result if isinstance(result, int) else 0
    except typer.Exit as done:
        return done.exit_code
    except typer.TyperException as error:  # usage errors: unknown option, bad value, missing argument
        if type(error).__name__ == "NoArgsIsHelpError":  # bare `archlens`: the help text is the answer
            _say_safely(error.show)
            return 2
        _say(f"archlens: error: {_usage_line(error)}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        _say("archlens: interrupted")
        return 130
    except ArchlensError as error:
        if debug:
            _say_safely(_print_traceback)
        for problem in getattr(error, "problems", None) or [str(error)]:
            _say(f"archlens: error: {_one_line(problem)}")
        return error.exit_code
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as error:  # the environment, not the input: a full disk, a vanished folder
        if debug:
            _say_safely(_print_traceback)
        _say(f"archlens: error: {_os_error_place(error)}: {error.strerror or error}")
        return 2
    except Exception as error:  # noqa: BLE001 - the one place unexpected errors become a line
        if debug:
            raise
        first_line = (str(error).splitlines() or [""])[0]
        _say(
            f"archlens: internal error: {type(error).__name__}: {first_line} (rerun with --debug for the traceback, "
            "and please report it)"
        )
        return 3


def _usage_line(error: typer.TyperException) -> str:
    """click's usage error as one line, pointing at the command's help."""
    message = " ".join(error.format_message().split()).replace("Value error, ", "").rstrip(".")
    context = getattr(error, "ctx", None)
    command = getattr(context, "command_path", None) or "archlens"
    return f"{message} (see '{command} --help')"


def _one_line(text: str) -> str:
    """A problem as exactly one line: a newline or other line break in a file name or a value is
    shown escaped (``\\n``), never allowed to start a second, unprefixed line."""
    return "".join(repr(ch)[1:-1] if ch.isspace() and ch != " " or not ch.isprintable() else ch for ch in text)


def _os_error_place(error: OSError) -> str:
    """Where an operating-system error happened, as far as it says: its file, or writing the output."""
    import errno

    if error.filename is not None:
        return str(error.filename)
    if error.errno in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EPIPE):
        return "cannot write output"
    return "system error"


def _tolerate_narrow_encodings() -> None:
    """On a terminal that cannot show UTF-8 (PYTHONIOENCODING=ascii, a Latin-1 locale), print "?" for
    the characters it lacks (the table's rules, the middle dot) instead of failing; files are UTF-8."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def _say(line: str) -> None:
    """One line on stderr; a closed or full stderr must not turn into a traceback."""
    _say_safely(lambda: typer.echo(line, err=True))


def _say_safely(write) -> None:
    try:
        write()
    except (OSError, ValueError):
        pass


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not report the closed pipe again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())

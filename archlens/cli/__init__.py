"""The ``archlens`` command line: thin wrappers over library functions that return data.

Every command parses its options (shared ones are declared once, in :mod:`.options`), calls one
library function, renders the result and writes it (:mod:`.output`). One module a command group:
:mod:`.networks` (list, show, validate, profile), :mod:`.analyses` (compare, inception, claims,
check, fit), :mod:`.diff` (diff), :mod:`.drawings` (graph, report). :mod:`.process` turns errors into exit codes in one
place: 0 ok, 1 over budget, 2 bad usage or bad input, 3 internal error; ``--debug`` (anywhere on
the line) shows tracebacks.
"""

from archlens.cli import analyses, diff, drawings, networks  # noqa: F401  (each registers its commands)
from archlens.cli.app import app
from archlens.cli.networks import render_profile
from archlens.cli.options import TextFormat
from archlens.cli.process import main, run

ProfileFormat = TextFormat  # the earlier name of the text formats

__all__ = ["app", "main", "run", "render_profile", "TextFormat"]

"""The archlens error model.

Every mistake a user can make ends in an :class:`ArchlensError`. The CLI turns it into one line
(``where: what is wrong; what to do``) and exit code 2; exit code 1 is reserved for "over budget".
Library code raises these and never prints or exits.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ArchlensError(Exception):
    """Base class: a user-facing problem with a one-line explanation.

    ``where`` names the file, field path or layer; ``hint`` says what to do about it.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.hint:
            text = f"{text}; {self.hint}"
        return text

    def within(self, source: str) -> "ArchlensError":
        """The same error, placed in ``source`` (the file it came from): ``spec.yaml: conv3: ...``."""
        error = type(self)(self.message, where=f"{source}: {self.where}" if self.where else source, hint=self.hint)
        error.__cause__ = self.__cause__
        return error


class SpecError(ArchlensError):
    """A spec file or spec name is wrong: unreadable, invalid, or unknown.

    Validation may find several problems at once; each is one complete line in ``problems``.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        super().__init__(message, where=where, hint=hint)
        self.problems = [ArchlensError.__str__(self)]

    @classmethod
    def from_problems(cls, problems: list[str]) -> "SpecError":
        error = cls(problems[0])
        error.problems = list(problems)
        return error

    def __str__(self) -> str:
        return "\n".join(self.problems)


class ShapeError(ArchlensError):
    """Shapes do not fit: a layer's input cannot produce a valid output."""


class SpecShapeError(SpecError, ShapeError):
    """A shape problem found when a spec file is read, placed in the file (``spec.yaml: conv3: ...``)."""


class UncountedOps(ArchlensError):
    """``--strict``: the profile has ops no formula counts (listed in ``ops``; the profile is ``profile``)."""

    def __init__(self, profile):
        listed = ", ".join(f"{item.op} x{item.count} in {item.layer}" for item in profile.unsupported)
        super().__init__(f"not counted: {listed}",
                         hint="teach the engine each op with archlens.register_op(op, formula)")
        self.profile = profile
        self.ops = tuple(dict.fromkeys(item.op for item in profile.unsupported))


class TargetError(ArchlensError):
    """A profiling target (``pkg.module:callable``) cannot be imported, called or run."""


class UnitError(ArchlensError):
    """A quantity like ``1.5G`` or ``64MiB`` cannot be parsed."""


class OutputError(ArchlensError):
    """An output file cannot be written."""


class BudgetExceeded(ArchlensError):
    """A design is over its compute budget (exit code 1)."""

    exit_code = 1


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest of ``choices`` to ``word``, or None.

    >>> did_you_mean("googlnet", ["googlenet", "alexnet"])
    "did you mean 'googlenet'?"
    """
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None

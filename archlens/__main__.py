"""``python -m archlens``."""

from archlens.cli import run

run()

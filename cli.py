#!/usr/bin/env python3
"""Run archlens from a checkout without installing it: ``python cli.py profile googlenet``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from archlens.cli import run  # noqa: E402

if __name__ == "__main__":
    run()

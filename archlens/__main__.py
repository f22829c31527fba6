"""``python -m archlens`` and the ``archlens`` console script.

This module imports nothing heavy before it can catch Ctrl-C, so an interrupt while the CLI is
still loading (typer, pydantic) ends in one line and exit code 130, not a traceback.
"""

import sys


def run() -> None:
    """Console-script entry point."""
    try:
        from archlens.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("archlens: interrupted\n")
        sys.exit(130)
    sys.exit(main())


if __name__ == "__main__":
    run()

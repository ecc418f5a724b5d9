"""The ``rechain`` command (also ``python -m rechain``).

A Ctrl-C while the command's libraries load ends as one during a command does (click's
"Aborted!", status 1), not with a traceback.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write("\nAborted!\n")
        sys.exit(1)
    command()


if __name__ == "__main__":  # pragma: no cover
    main()

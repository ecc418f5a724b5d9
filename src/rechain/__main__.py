"""The ``rechain`` command (also ``python -m rechain``).

A Ctrl-C while the command's libraries load ends as one during a command does (one line,
status 130), not with a traceback.
"""

from __future__ import annotations

import sys

from .stops import INTERRUPTED


def main() -> None:
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{INTERRUPTED}\n")
        sys.exit(130)
    command()


if __name__ == "__main__":  # pragma: no cover
    main()

"""The ``rechain`` command (also ``python -m rechain``).

A Ctrl-C or SIGTERM while the command's libraries load ends as one during a command does
(one line, status 130 or 143), not with a traceback or in silence.
"""

from __future__ import annotations

import os
import signal
import sys

from .stops import INTERRUPTED, TERMINATED


def _terminated_while_loading(signum, frame) -> None:
    # nothing is written yet: say so and go (the command puts its own handler in place)
    sys.stderr.write(f"\n{TERMINATED}\n")
    sys.stderr.flush()
    os._exit(143)


def main() -> None:
    if signal.getsignal(signal.SIGTERM) != signal.SIG_IGN:
        signal.signal(signal.SIGTERM, _terminated_while_loading)
    try:
        from .cli import main as command
    except KeyboardInterrupt:
        sys.stderr.write(f"\n{INTERRUPTED}\n")
        sys.exit(130)
    command()


if __name__ == "__main__":  # pragma: no cover
    main()

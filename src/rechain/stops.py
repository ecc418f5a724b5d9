"""The one line a command ends with when it is stopped (Ctrl-C: status 130; SIGTERM: 143).

Defined once, without the model's libraries, so that a stop while they load
(:mod:`rechain.__main__`) says what a stop during a command says (:mod:`rechain.cli`).
"""

from __future__ import annotations

INTERRUPTED = "interrupted: stopped before it finished; no output is left half-written"
TERMINATED = "terminated: stopped before it finished; no output is left half-written"

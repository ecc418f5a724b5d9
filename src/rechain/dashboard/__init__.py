"""``rechain dashboard``: the chain model in the browser (Mesa's SolaraViz).

:func:`serve` starts Solara's server in a subprocess bound to the host and port asked for
(127.0.0.1 by default) with Solara's telemetry off and its assets served from the installed
``solara-assets`` package, so the page works with no internet. The page itself is
:mod:`rechain.dashboard.app`; the pure parts (levers, chain drawing, charts, events) need
no browser.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["serve", "server_command", "server_env", "missing_packages", "check_address"]

REQUIRED = ("solara", "solara_assets", "mesa.visualization", "ipyvuetify", "altair")


def missing_packages() -> list[str]:
    """The dashboard's packages that are not installed (the ``dashboard`` extra)."""
    import importlib.util
    out = []
    for name in REQUIRED:
        try:
            if importlib.util.find_spec(name) is None:
                out.append(name)
        except (ImportError, ValueError):
            out.append(name)
    return out


def check_address(host: str, port: int) -> None:
    """Raise :class:`~rechain.scenario.OptionError` unless a server can listen on ``host``
    and ``port`` now: a host that names no address of this machine, or a port another
    program holds, once started the server and ended it with a line of its own log."""
    import socket

    from ..scenario import OptionError
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as e:
        raise OptionError("--host", host, f"is not an address or host name this machine can resolve ({e}); "
                          f"allowed: 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its "
                          f"addresses") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)     # as the server sets it
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EACCES and 0 < port < 1024:
                # ports below 1024 are the system's: only a privileged user may listen there
                raise OptionError("--port", port, f"cannot listen on {host} port {port} ({e.strerror}): ports below "
                                  f"1024 need administrator rights; allowed: a port from 1024 to 65535 (the default "
                                  f"8765), or 0 for any free one") from None
            option, value = ("--port", port) if e.errno == errno.EADDRINUSE else ("--host", host)
            raise OptionError(option, value, f"cannot listen on {host} port {port} ({e.strerror}); allowed: a "
                              f"port no other program holds (--port 0: any free one) on an address of this "
                              f"machine") from None


def server_command(host: str = "127.0.0.1", port: int = 8765) -> list[str]:
    return [sys.executable, "-m", "solara", "run", "rechain.dashboard.app", "--host", host, "--port", str(port),
            "--production", "--no-open", "--no-check-version", "--theme-variant", "light",
            "--log-level", "warning"]


def server_env(scenario: str | Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RECHAIN_DASHBOARD_SCENARIO"] = str(Path(scenario).resolve())
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "false"   # no calls home
    env.setdefault("MPLBACKEND", "Agg")
    # Solara warns, in eighteen lines at the first page load, that a page served on 127.0.0.1
    # rather than "localhost" sets its session cookie samesite=lax: what a dashboard on one's
    # own machine wants, and nothing a student can act on
    quiet = "ignore:Cookies with samesite=none require https:UserWarning"
    env["PYTHONWARNINGS"] = ",".join(w for w in (env.get("PYTHONWARNINGS"), quiet) if w)
    return env


def serve(scenario: str | Path, host: str = "127.0.0.1", port: int = 8765) -> int:
    """Run the dashboard server until Ctrl-C (or SIGTERM); returns its exit status.

    The server is a child process: it is stopped whichever way this one is asked to stop."""
    proc = subprocess.Popen(server_command(host, port), env=server_env(scenario))
    asked: list[int] = []

    def stop(signum, _frame):
        asked.append(signum)
        raise KeyboardInterrupt

    # Ctrl-C reaches the server too (one process group) and may end it first: its status would
    # then be the server's own (254), so the signal is noted here whichever ends first
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        try:
            status = proc.wait()
            if not asked:
                return status
        except KeyboardInterrupt:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        sig = asked[0] if asked else signal.SIGINT
        if sig == signal.SIGINT:    # as a sweep stopped by Ctrl-C: one line and 130
            print("\nstopped: the dashboard server stopped (Ctrl-C)", file=sys.stderr)
            return 130
        # SIGTERM or SIGHUP: one line and 128 + the signal, as every command ends on SIGTERM
        print(f"\nterminated: the dashboard server stopped ({signal.Signals(sig).name})", file=sys.stderr)
        return 128 + sig
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _command():
    import click

    from ..options import NonEmptyPath, WholeNumber

    @click.command("dashboard")
    @click.argument("scenario", required=False, type=NonEmptyPath(dir_okay=False, path_type=Path))
    @click.option("--port", default=8765, show_default=True, type=WholeNumber(0, 65535),
                  help="port to serve on (0: any free port)")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="address to listen on; another than 127.0.0.1 only when you mean to share the page")
    def dashboard_command(scenario: Path | None, port: int, host: str) -> None:
        """Watch the chain run in the browser: levers, the chain's flows and moods, growing charts.

        SCENARIO (default scenarios/baseline.toml) is the scenario the page opens with; the
        picker lists the scenario files beside it. Needs the dashboard extra
        (pip install -e ".[dashboard]"); works with no internet.
        """
        from ..scenario import load_scenario
        from .levers import scenario_files

        missing = missing_packages()
        if missing:
            raise click.ClickException(f"the dashboard needs {', '.join(missing)}: pip install -e \".[dashboard]\"")
        if scenario is None:
            scenario = scenario_files().get("baseline")
            if scenario is None:
                raise click.UsageError("no scenarios/baseline.toml here: give a SCENARIO file")
        load_scenario(scenario)            # a bad file: one line per mistake, exit 2, before any server
        check_address(host, port)
        shown = f"[{host}]" if ":" in host else host
        where = f"http://{shown}:{port}/" if port else f"http://{shown} on a free port (the server names it below)"
        click.echo(f"rechain dashboard: {where}  ({scenario}; Ctrl-C stops it)", err=True)
        sys.exit(serve(scenario, host=host, port=port))

    return dashboard_command


dashboard_command = _command()

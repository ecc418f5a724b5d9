"""Defects found by outside testers in round 20, each mended and kept mended here."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner
from support import what_if

from rechain.cli import main
from rechain.stops import INTERRUPTED


def test_a_reserves_band_and_dates_are_told_at_once(tmp_path):
    """A reserve with both its band and its dates wrong was told the band first, and the
    dates only once that was mended."""
    f = what_if(tmp_path, '[stockpile]\nproducts = ["prnd_oxide"]\nbuy_t_per_yr = { prnd_oxide = 5000 }\n'
                          'buy_below_share = 1.3\nsell_above_share = 1.2\nstart = 2024-05-01\nend = 2024-03-01\n')
    res = CliRunner().invoke(main, ["check", str(f)])
    assert res.exit_code == 2
    assert "w.toml, line 6: stockpile.buy_below_share: buy_below_share 1.3 is not below sell_above_share 1.2" \
        in res.output
    assert "w.toml, line 9: stockpile.end: end 2024-03-01 is before start 2024-05-01" in res.output
    assert "2 errors" in res.output


def test_a_stop_while_the_libraries_load_says_what_a_stop_in_a_command_says():
    """The line was written out twice, in rechain.__main__ and rechain.cli; both now read
    rechain.stops. A Ctrl-C raised while the command's libraries load ends with it."""
    code = ("import builtins, sys\nreal = builtins.__import__\n"
            "def stop(name, *a, **k):\n"
            "    if name == 'cli' or name.endswith('.cli'):\n        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = stop\nsys.argv = ['rechain', '--help']\n"
            "from rechain.__main__ import main\nmain()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 130
    assert res.stderr.strip() == INTERRUPTED

"""Findings of the outside-style round that wrote eras from 2015 and 2019 and a baseline to
2035 from the docs alone, as an analyst would: each case as the outsider met it, held here."""

from __future__ import annotations

from click.testing import CliRunner
from support import BASELINE
from support import what_if as _what_if

from rechain.cli import main


def _warnings(path) -> list[str]:
    res = CliRunner().invoke(main, ["check", str(path)])
    assert res.exit_code == 0, res.output
    return [line for line in res.output.splitlines() if line.startswith("warning:")]


def test_check_warns_of_a_start_blank_price_below_what_making_it_costs(tmp_path):
    """An era whose standard blank started at 0.89 of its unit cost ran with the blank's price
    at its cost floor and its long-run price below it (the high grade priced like the standard
    one for months), and nothing said why."""
    low = _what_if(tmp_path, "[market.initial_price]\nmagnet_std = 200\n", "low")
    said = [w for w in _warnings(low) if "market.initial_price.magnet_std:" in w]
    assert len(said) == 1 and "of what making it costs at the start prices" in said[0], said
    assert not [w for w in _warnings(BASELINE) if "what making it costs" in w]


def test_check_warns_of_a_quota_of_zero(tmp_path):
    """A separation quota of 0 t for a year passed check in silence; the run then left most
    magnets short."""
    zero = _what_if(tmp_path, "[[quota_policy.quotas]]\ntype = \"separation\"\nyear = 2025\ntotal_t = 0\n"
                              "batches = []\n", "zero")
    said = [w for w in _warnings(zero) if "quota for 2025 is 0 t" in w]
    assert len(said) == 1 and "the separation quota" in said[0] and "separate nothing" in said[0], said


def test_a_duty_on_oxides_names_only_the_regions_that_buy_oxides(tmp_path):
    """A duty on the oxides for every region listed regions that buy magnets only among the
    buyers who 'do not answer the landed price' of it."""
    duty = _what_if(tmp_path, "[[export_duties]]\nname = \"d\"\nproducts = [\"prnd_oxide\", \"dy_oxide\"]\n"
                              "rate_share = 0.1\nstart = 2025-01-01\n", "duty")
    said = [w for w in _warnings(duty) if "export_duties[0] (d): the buyers of" in w]
    assert len(said) == 1 and "'eu'" in said[0] and "asean_india" not in said[0], said

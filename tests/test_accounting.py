"""Mass-balance ledger: balanced books pass, a vanished tonne is caught and named."""

import numpy as np
import pytest

from rechain.accounting import SINKS, SOURCES, Ledger, MassBalanceError

ELEMENTS = ("prnd", "dy", "tb", "other")


def _ledger() -> tuple[Ledger, np.ndarray]:
    """Books by hand, t REO-eq per element (prnd, dy, tb, other):

    sources: mined_domestic 100, 10, 1, 50 ; eol_collected 4, 0.4, 0.04, 0
             -> 104, 10.4, 1.04, 50
    sinks:   separation_loss 3, 0.3, 0.03, 1.5 ; used_domestic 20, 2, 0.2, 10
             -> 23, 2.3, 0.23, 11.5
    in system = sources - sinks = 81, 8.1, 0.81, 38.5
    """
    led = Ledger(ELEMENTS)
    led.add_source("mined_domestic", np.array([100.0, 10.0, 1.0, 50.0]))
    led.add_source("eol_collected", np.array([4.0, 0.4, 0.04, 0.0]))
    led.add_sink("separation_loss", np.array([3.0, 0.3, 0.03, 1.5]))
    led.add_sink("used_domestic", np.array([20.0, 2.0, 0.2, 10.0]))
    return led, np.array([81.0, 8.1, 0.81, 38.5])


def test_totals_hand_worked():
    led, _ = _ledger()
    src, snk = led.totals()
    assert src == pytest.approx([104.0, 10.4, 1.04, 50.0])
    assert snk == pytest.approx([23.0, 2.3, 0.23, 11.5])


def test_check_passes_when_balanced():
    led, in_system = _ledger()
    err = led.check(in_system, week=3)
    assert err == pytest.approx(np.zeros(4), abs=1e-9)
    assert led.last_error is err


def test_check_passes_with_round_off_on_large_totals():
    led = Ledger(ELEMENTS)
    led.add_source("mined_domestic", np.full(4, 1e6))
    # 1e-4 t off on 1e6 t: within rtol 1e-9 * 1e6 + 1e-9 = 1e-3
    led.check(np.full(4, 1e6 - 1e-4))


def test_check_raises_naming_the_element_when_a_tonne_vanishes():
    led, in_system = _ledger()
    lost = in_system.copy()
    lost[1] -= 1.0  # 1 t of Dy vanishes: sources - sinks - in_system = +1
    with pytest.raises(MassBalanceError) as info:
        led.check(lost, week=12)
    msg = str(info.value)
    assert "week 12" in msg
    assert "dy: +1 t" in msg
    for other in ("prnd", "tb", "other"):
        assert f"{other}:" not in msg
    assert led.last_error == pytest.approx([0.0, 1.0, 0.0, 0.0], abs=1e-9)


def test_check_raises_when_material_appears():
    led, in_system = _ledger()
    extra = in_system.copy()
    extra[0] += 1.0   # 1 t Pr-Nd from nowhere -> err -1
    extra[3] += 2.5   # and 2.5 t of "other"
    with pytest.raises(MassBalanceError, match=r"prnd: -1 t, other: -2\.5 t"):
        led.check(extra)


def test_mass_balance_error_is_runtime_error():
    assert issubclass(MassBalanceError, RuntimeError)


def test_every_source_and_sink_kind_counts():
    led = Ledger(("prnd",))
    for k in SOURCES:
        led.add_source(k, np.array([10.0]))
    for k in SINKS:
        led.add_sink(k, np.array([1.0]))
    # 4 sources x 10 = 40 ; 7 sinks x 1 = 7 ; 33 in system
    assert len(SOURCES) == 4 and len(SINKS) == 7
    led.check(np.array([33.0]))
    with pytest.raises(MassBalanceError, match="prnd"):
        led.check(np.array([32.0]))


def test_unknown_kind_rejected():
    led = Ledger(ELEMENTS)
    with pytest.raises(KeyError):
        led.add_source("smuggled", np.ones(4))
    with pytest.raises(KeyError):
        led.add_sink("evaporated", np.ones(4))


def test_summary_by_element():
    led, _ = _ledger()
    s = led.summary()
    assert set(s) == set(ELEMENTS)
    assert s["dy"]["source_mined_domestic"] == pytest.approx(10.0)
    assert s["dy"]["source_eol_collected"] == pytest.approx(0.4)
    assert s["tb"]["sink_used_domestic"] == pytest.approx(0.2)
    assert s["other"]["sink_used_overseas"] == 0.0


def test_summary_with_what_the_system_holds_shows_the_balance_close():
    led, held = _ledger()
    s = led.summary(held)
    assert s["prnd"]["in_system_at_end"] == 81.0 and s["prnd"]["residual"] == pytest.approx(0.0, abs=1e-12)
    assert all(s[el]["holds"] is True for el in ELEMENTS)
    off = led.summary(held + np.array([0.0, 0.5, 0.0, 0.0]))     # half a tonne of Dy more than came in
    assert off["dy"]["holds"] is False and off["dy"]["residual"] == pytest.approx(-0.5)
    assert off["prnd"]["holds"] is True
    assert "residual" not in led.summary()["prnd"]             # without it: the totals only


def test_round_off_on_tiny_totals_is_not_a_broken_balance():
    """Capacities of a microgram leave round-off of 1e-8 t on totals of under a tonne: the
    balance holds to a gram, and a gram more is still caught."""
    led = Ledger(ELEMENTS)
    led.add_source("mined_domestic", np.full(4, 0.5))
    led.check(np.full(4, 0.5 + 1.2e-8))
    with pytest.raises(MassBalanceError):
        led.check(np.full(4, 0.5 + 2e-6))

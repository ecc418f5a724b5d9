"""Random streams are keyed by name: adding a stream or a kind shifts no other draw."""

from __future__ import annotations

import numpy as np
import pytest

from rechain.model import ChainModel
from rechain.network import MAG, REC, RESERVE
from rechain.randomness import Streams, is_whole_seed, name_key, run_seed


def test_a_stream_depends_on_its_name_and_the_seed_only():
    a = Streams(7)
    first = a("asks", MAG).random(5)
    b = Streams(7)
    b("licences").random(100)            # another stream made and used first
    b("asks", REC).random(3)
    assert np.array_equal(b("asks", MAG).random(5), first)
    assert not np.array_equal(Streams(8)("asks", MAG).random(5), first)
    assert not np.array_equal(Streams(7)("asks", REC).random(5), first)


def test_a_seed_is_a_whole_number_from_python_or_numpy():
    assert run_seed(3) == 3 and type(run_seed(np.int64(3))) is int and run_seed(np.uint8(0)) == 0
    for bad in (True, np.bool_(False), 1.0, 1.5, -1, np.int64(-4), "3", None):
        assert not is_whole_seed(bad)
        with pytest.raises(ValueError, match=r"^seeds?: given .*; allowed: a whole number >= 0$"):
            run_seed(bad)
    with pytest.raises(ValueError, match=r"^replicate: given 1.5"):
        run_seed(1.5, "replicate")


def test_name_keys_are_stable():
    assert name_key("licences") == name_key("licences")
    assert name_key("asks/magnet_maker") != name_key("asks/recycler")


def test_adding_a_state_reserve_leaves_other_firms_draws_alone(make_scenario):
    """A what-if that adds a kind (here the state reserve) keeps every other firm's traits."""
    base = ChainModel(make_scenario(), seed=3)
    more = ChainModel(make_scenario({"stockpile": {"products": ["dy_oxide"], "buy_t_per_yr": {"dy_oxide": 100}}}),
                      seed=3)
    n = base.world.n_firms
    assert more.world.n_firms == n + 1
    others = more.world.firms.kind != RESERVE
    assert np.array_equal(base.traits.restock_strength, more.traits.restock_strength[others])
    assert np.array_equal(base.traits.normal_cover_wk, more.traits.normal_cover_wk[others])


def test_expectation_noise_drawn_week_by_week_is_the_whole_table(make_scenario):
    """Each week's row comes from its kind's stream as the weeks come: the same numbers as the
    whole [weeks, firms] table drawn at once; asking for a week again gives the same row."""
    from rechain.randomness import Streams
    from rechain.traits import ExpectationNoise
    from rechain.world import build_world
    world = build_world(make_scenario(), Streams(4))
    noise = ExpectationNoise(world, Streams(4))
    rows = [noise[t].copy() for t in range(6)]
    assert np.array_equal(noise[5], rows[5])
    fresh = Streams(4)
    table = np.empty((6, world.n_firms))
    for code, firms in world.rows.items():
        if firms.size:
            table[:, firms] = fresh("expectations", code).standard_normal((6, firms.size))
    assert np.array_equal(np.stack(rows), table)
    skipped = ExpectationNoise(world, Streams(4))
    assert np.array_equal(skipped[3], table[3])           # weeks not asked for are drawn and dropped
    import pytest
    with pytest.raises(IndexError):
        skipped[2]

"""Hand-worked checks of the market rules in rechain.rules.market, plus property tests."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rechain.rules.market import band_depth, fill_pro_rata, logit_shares, offer_share, price_index

PROP = settings(max_examples=200, deadline=None, database=None)


# --------------------------------------------------------------------------- logit_shares
def test_logit_shares_equal_prices_split_by_weight():
    # buyer 0: equal prices, weights 1:3 -> 0.25, 0.75 ; buyer 1: single link -> 1
    s = logit_shares(np.array([0, 0, 1]), np.array([100.0, 100.0, 50.0]), np.full(3, 100.0),
                     np.array([1.0, 3.0, 2.0]), gamma=4.0, n_buyers=2)
    assert s == pytest.approx([0.25, 0.75, 1.0])


def test_logit_shares_price_sensitivity_hand_worked():
    # gamma 2, ref 100, prices 100 and 150: z = -2, -3 -> shares 1/(1+e^-1), e^-1/(1+e^-1)
    s = logit_shares(np.array([0, 0]), np.array([100.0, 150.0]), np.array([100.0, 100.0]),
                     np.ones(2), gamma=2.0, n_buyers=1)
    e = np.exp(-1.0)
    assert s == pytest.approx([1.0 / (1.0 + e), e / (1.0 + e)])  # 0.7311, 0.2689
    assert s[0] > s[1]  # cheaper supplier gets more


def test_logit_shares_gamma_zero_and_weight_floor():
    # gamma 0: only weights matter; weight 0 is floored at 1e-6, so it keeps a tiny share
    s = logit_shares(np.array([0, 0]), np.array([100.0, 900.0]), np.array([100.0, 100.0]),
                     np.array([0.0, 1.0]), gamma=0.0, n_buyers=1)
    assert s == pytest.approx([1e-6 / (1.0 + 1e-6), 1.0 / (1.0 + 1e-6)], rel=1e-9)
    assert s[0] > 0.0


def test_logit_shares_unused_buyer_keys_are_fine():
    # buyer keys 4 and 2 of n_buyers 5; keys 0, 1, 3 have no links
    s = logit_shares(np.array([4, 4, 2]), np.array([10.0, 10.0, 10.0]), np.full(3, 10.0),
                     np.array([2.0, 2.0, 1.0]), gamma=4.0, n_buyers=5)
    assert s == pytest.approx([0.5, 0.5, 1.0])


@PROP
@given(data=st.data(), n=st.integers(1, 25), n_buyers=st.integers(1, 6), gamma=st.floats(0.0, 20.0))
def test_logit_shares_sum_to_one_per_buyer(data, n, n_buyers, gamma):
    # Realistic domain: asks within 0.1x..10x of the market index (gamma p/ref <= 200).
    buyer = np.array(data.draw(st.lists(st.integers(0, n_buyers - 1), min_size=n, max_size=n)))
    ref = np.array(data.draw(st.lists(st.floats(1.0, 1e6), min_size=n, max_size=n)))
    ratio = np.array(data.draw(st.lists(st.floats(0.1, 10.0), min_size=n, max_size=n)))
    weight = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    s = logit_shares(buyer, ref * ratio, ref, weight, gamma, n_buyers)
    assert np.all(np.isfinite(s))
    assert np.all(s > 0.0) and np.all(s <= 1.0 + 1e-12)
    per_buyer = np.bincount(buyer, weights=s, minlength=n_buyers)
    present = np.bincount(buyer, minlength=n_buyers) > 0
    assert per_buyer[present] == pytest.approx(np.ones(present.sum()), rel=1e-9)
    assert np.all(per_buyer[~present] == 0.0)


# --------------------------------------------------------------------------- fill_pro_rata
def test_fill_pro_rata_hand_worked():
    # seller 0 owes 5 + 15 = 20, has 10 -> ratio 0.5 -> 2.5, 7.5
    # seller 1 owes 20, has 100 -> ratio 1 -> 20 (never more than owed)
    out = fill_pro_rata(np.array([10.0, 100.0]), np.array([5.0, 15.0, 20.0]), np.array([0, 0, 1]))
    assert out == pytest.approx([2.5, 7.5, 20.0])


def test_fill_pro_rata_zero_stock_zero_owed_and_unlinked_seller():
    # seller 0: owes 4, has 0 -> 0 ; seller 1: owes 0 (0/0 guarded) -> 0 ; seller 2 has no links
    out = fill_pro_rata(np.array([0.0, 5.0, 7.0]), np.array([4.0, 0.0, 0.0]), np.array([0, 1, 1]))
    assert out == pytest.approx([0.0, 0.0, 0.0])
    assert np.all(np.isfinite(out))


def test_fill_pro_rata_exact_cover():
    # has exactly what it owes -> everything ships
    out = fill_pro_rata(np.array([12.0]), np.array([3.0, 9.0]), np.array([0, 0]))
    assert out == pytest.approx([3.0, 9.0])


def test_fill_pro_rata_no_links():
    # A market with no links this week ships nothing: an empty array, not an error.
    out = fill_pro_rata(np.array([5.0, 0.0]), np.zeros(0), np.zeros(0, dtype=np.int64))
    assert out.shape == (0,)


@PROP
@given(data=st.data(), n_links=st.integers(1, 30), n_sellers=st.integers(1, 6))
def test_fill_pro_rata_conserves_and_never_overdraws(data, n_links, n_sellers):
    seller = np.array(data.draw(st.lists(st.integers(0, n_sellers - 1), min_size=n_links,
                                         max_size=n_links)), dtype=np.int64)
    backlog = np.array(data.draw(st.lists(st.floats(0.0, 1e5), min_size=n_links, max_size=n_links)),
                       dtype=float)
    available = np.array(data.draw(st.lists(st.floats(0.0, 1e5), min_size=n_sellers,
                                            max_size=n_sellers)), dtype=float)
    out = fill_pro_rata(available, backlog, seller)
    assert out.shape == backlog.shape
    assert np.all(out >= 0.0)
    assert np.all(out <= backlog * (1 + 1e-12) + 1e-12)          # no link more than owed
    shipped = np.bincount(seller, weights=out, minlength=n_sellers)
    owed = np.bincount(seller, weights=backlog, minlength=n_sellers)
    assert np.all(shipped <= available * (1 + 1e-12) + 1e-9)      # no seller more than it has
    # and it ships all it can: min(available, owed) per seller
    assert shipped == pytest.approx(np.minimum(available, owed), rel=1e-9, abs=1e-9)


# --------------------------------------------------------------------------- price_index
def test_price_index_volume_weighted_and_carry_forward():
    # 1000 / 10 = 100 ; nothing traded -> previous 80 ; qty 1e-12 below threshold -> 70
    prev = np.array([90.0, 80.0, 70.0])
    out = price_index(np.array([10.0, 0.0, 1e-12]), np.array([1000.0, 0.0, 5.0]), prev)
    assert out == pytest.approx([100.0, 80.0, 70.0])
    assert prev == pytest.approx([90.0, 80.0, 70.0])  # not mutated
    assert out is not prev


def test_price_index_mixed_trades():
    # 2 t at 50 + 3 t at 100 -> value 400 over 5 t -> 80
    out = price_index(np.array([5.0]), np.array([2 * 50.0 + 3 * 100.0]), np.array([1.0]))
    assert out == pytest.approx([80.0])


# --------------------------------------------------------------------------- offer_share
def test_offer_share_hand_worked_and_clipping():
    # x=0.1, P=90, floor=100: 1 - 4*0.1 - 1.5*0.1 = 0.45
    # x=-0.1, P=120: 1 + 0.4 - 0 = 1.4 -> 1
    # x=0.5, P=100: 1 - 2 = -1 -> f_min 0.15
    # x=0, P=100: 1
    out = offer_share(np.array([0.1, -0.1, 0.5, 0.0]), np.array([90.0, 120.0, 100.0, 100.0]), 100.0,
                      h_x=4.0, h_p=1.5, f_min=0.15)
    assert out == pytest.approx([0.45, 1.0, 0.15, 1.0])


def test_offer_share_price_above_floor_has_no_effect_and_zero_floor_safe():
    a = offer_share(np.array([0.05]), 200.0, 100.0, h_x=4.0, h_p=1.5, f_min=0.15)
    b = offer_share(np.array([0.05]), 100.0, 100.0, h_x=4.0, h_p=1.5, f_min=0.15)
    assert a == pytest.approx([0.8]) and b == pytest.approx([0.8])   # 1 - 4*0.05
    c = offer_share(np.array([0.05]), 10.0, 0.0, h_x=4.0, h_p=1.5, f_min=0.15)
    assert c == pytest.approx([0.8])


def test_offer_share_falls_with_price_below_floor():
    # P = 50, floor 100: gap 0.5 -> 1 - 1.5*0.5 = 0.25 ; P = 80: 1 - 0.3 = 0.7
    out = offer_share(np.zeros(2), np.array([50.0, 80.0]), 100.0, h_x=4.0, h_p=1.5, f_min=0.15)
    assert out == pytest.approx([0.25, 0.7])


def test_band_depth_grows_with_the_gap_to_the_whole_rate_at_a_band_width():
    """A reserve with a band 0.95-1.1 of a 400,000 yuan/t long-run price: width 60,000 yuan/t.
    At 380,000 (the edge) it buys nothing; at 350,000 (30,000 past it) half its rate; at
    320,000 or lower all of it. A band of no width trades all or nothing."""
    edge = 0.95 * 400_000
    gaps = edge - np.array([400_000.0, 380_000.0, 350_000.0, 320_000.0, 200_000.0])
    assert band_depth(gaps, 0.15 * 400_000) == pytest.approx([0.0, 0.0, 0.5, 1.0, 1.0])
    assert band_depth(np.array([-1.0, 0.0, 5.0]), 0.0) == pytest.approx([0.0, 0.0, 1.0])


"""Everything that changes from week to week, in three containers with named fields.

``FirmState`` holds what each firm has and believes, ``LinkState`` what is ordered and moving
along each supplier -> buyer link, ``MarketState`` the market-wide prices. Every field is a
numpy array named in words with its unit; its shape and meaning are in the field's metadata
(``doc``, ``shape``, ``unit``), from which ``docs/ODD.md``'s state table is generated
(:func:`state_table`). Things fixed for a run live in :mod:`rechain.world`.

Shapes: ``N`` firms, ``P`` products, ``E`` links, ``S`` pipeline slots (longest lead + 1).
Prices are yuan per tonne of product inside the model (quoted units only on output).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .policy import LicenceQueue

__all__ = ["FirmState", "LinkState", "MarketState", "state_table"]


def _f(doc: str, shape: str, unit: str):
    return field(metadata={"doc": doc, "shape": shape, "unit": unit})


@dataclass
class FirmState:
    """What each firm holds and believes this week."""

    stock_t: np.ndarray = _f("physical stock of each product, inputs and finished goods", "N, P", "t")
    orders_expected_t_per_wk: np.ndarray = _f(
        "orders received, smoothed over the order lag: what sellers plan output on", "N, P", "t/wk")
    use_expected_t_per_wk: np.ndarray = _f(
        "planned use of each input, smoothed: what buyers order against", "N, P", "t/wk")
    owed_t: np.ndarray = _f("backlog owed to customers, summed from the links each week", "N, P", "t")
    ask_yuan_per_t: np.ndarray = _f("asking price of each product the firm sells", "N, P", "yuan/t")
    expected_change: np.ndarray = _f(
        "expected relative change of the watched price over the horizon (0.05 = +5 %)", "N", "1")
    price_trend_per_wk: np.ndarray = _f("smoothed weekly log-return of the watched price", "N", "1/wk")
    uncertainty: np.ndarray = _f("uncertainty (0 = calm); lowers target cover", "N", "index")
    utilisation: np.ndarray = _f("capacity utilisation, smoothed over four weeks", "N", "share")
    normal_utilisation: np.ndarray = _f("the utilisation a firm is used to, smoothed over a year", "N", "share")
    licence_success: np.ndarray = _f("overseas buyers' remembered share of licences granted", "N", "share")
    import_share: np.ndarray = _f("share of a separation plant's ore receipts that were imported", "N", "share")
    quota_used_t: np.ndarray = _f("quota used so far this calendar year (quota holders)", "N", "t REO")

    @classmethod
    def empty(cls, n_firms: int, n_products: int) -> "FirmState":
        z2 = lambda: np.zeros((n_firms, n_products))  # noqa: E731
        z1 = lambda: np.zeros(n_firms)  # noqa: E731
        return cls(stock_t=z2(), orders_expected_t_per_wk=z2(), use_expected_t_per_wk=z2(), owed_t=z2(),
                   ask_yuan_per_t=z2(), expected_change=z1(), price_trend_per_wk=z1(), uncertainty=z1(),
                   utilisation=np.full(n_firms, 0.8), normal_utilisation=np.full(n_firms, 0.8),
                   licence_success=np.ones(n_firms), import_share=z1(), quota_used_t=z1())


@dataclass
class LinkState:
    """What is ordered and moving along each supplier -> buyer link."""

    backlog_t: np.ndarray = _f("ordered (and licensed), not yet shipped", "E", "t")
    reliability: np.ndarray = _f("the buyer's view of the link's fill rate, smoothed", "E", "share")
    in_transit_t: np.ndarray = _f("shipped, not yet arrived (running total of the pipeline)", "E", "t")
    pipeline_t: np.ndarray = _f("goods in transit by arrival slot (slot = week mod S)", "S, E", "t")
    shipped_total_t: np.ndarray = _f("shipped since the start of the run", "E", "t")
    licences: LicenceQueue = _f("export-licence applications pending (one per controlled order)",
                                "applications", "t")

    @classmethod
    def empty(cls, n_links: int, n_slots: int) -> "LinkState":
        return cls(backlog_t=np.zeros(n_links), reliability=np.ones(n_links), in_transit_t=np.zeros(n_links),
                   pipeline_t=np.zeros((n_slots, n_links)), shipped_total_t=np.zeros(n_links),
                   licences=LicenceQueue())


@dataclass
class MarketState:
    """Market-wide prices per product."""

    index_yuan_per_t: np.ndarray = _f("price index: volume-weighted mean of the week's transactions", "P", "yuan/t")
    previous_index_yuan_per_t: np.ndarray = _f("last week's price index", "P", "yuan/t")
    anchor_yuan_per_t: np.ndarray = _f("the slow-moving price the market is used to (half a year)", "P", "yuan/t")
    supply_push: np.ndarray = _f("factor on producers' order-driven plans from price against anchor", "P", "1")
    export_quota_left_t: dict = _f("export quota left per (quota item, year)", "items", "t")

    @classmethod
    def at_prices(cls, price_yuan_per_t: np.ndarray) -> "MarketState":
        return cls(index_yuan_per_t=price_yuan_per_t.copy(), previous_index_yuan_per_t=price_yuan_per_t.copy(),
                   anchor_yuan_per_t=price_yuan_per_t.copy(), supply_push=np.ones(price_yuan_per_t.shape[0]),
                   export_quota_left_t={})


def state_table() -> list[dict[str, str]]:
    """Every state field with its container, shape, unit and meaning (for the ODD)."""
    rows = []
    for container in (FirmState, LinkState, MarketState):
        for f in fields(container):
            rows.append({"container": container.__name__, "field": f.name, "shape": f.metadata["shape"],
                         "unit": f.metadata["unit"], "meaning": f.metadata["doc"]})
    return rows

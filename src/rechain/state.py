"""Everything that changes from week to week, in three containers with named fields.

``FirmState`` holds what each firm has and believes, ``LinkState`` what is ordered and moving
along each supplier -> buyer link, ``MarketState`` the market-wide prices. Every field is a
numpy array named in words with its unit; its shape and meaning are in the field's metadata
(``doc``, ``shape``, ``unit``), from which ``docs/ODD.md``'s state table is generated
(:func:`state_table`). Things fixed for a run live in :mod:`rechain.world`.

Shapes: ``N`` firms, ``P`` products, ``E`` links (elements in ``content_t_per_t``), ``S``
pipeline slots (longest lead + 1), ``R`` regions (``world.regions``).
Prices are yuan per tonne of product inside the model (quoted units only on output).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from .policy import LicenceQueue

__all__ = ["FirmState", "LinkState", "MarketState", "CapacityOnOrder", "state_table"]


def _f(doc: str, shape: str, unit: str):
    return field(metadata={"doc": doc, "shape": shape, "unit": unit})


@dataclass
class CapacityOnOrder:
    """Capacity under construction: one entry per investment decision (firm, t/wk, week due)."""

    firm: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    t_per_wk: np.ndarray = field(default_factory=lambda: np.zeros(0))
    due_week: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def order(self, firm: np.ndarray, t_per_wk: np.ndarray, due_week: np.ndarray) -> None:
        keep = t_per_wk > 0
        if keep.any():
            self.firm = np.concatenate([self.firm, firm[keep]])
            self.t_per_wk = np.concatenate([self.t_per_wk, t_per_wk[keep]])
            self.due_week = np.concatenate([self.due_week, np.broadcast_to(due_week, firm.shape)[keep]])

    def arrive(self, week: int, n_firms: int) -> np.ndarray | None:
        """Capacity completed by ``week``, t/wk per firm (None if nothing), dropped from the order book."""
        now = self.due_week <= week
        if not now.any():
            return None
        out = np.bincount(self.firm[now], weights=self.t_per_wk[now], minlength=n_firms)
        keep = ~now
        self.firm, self.t_per_wk, self.due_week = self.firm[keep], self.t_per_wk[keep], self.due_week[keep]
        return out

    def pending_t_per_wk(self, n_firms: int) -> np.ndarray:
        return np.bincount(self.firm, weights=self.t_per_wk, minlength=n_firms)


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
    licence_success: np.ndarray = _f("overseas buyers' remembered share of licences granted, per product", "N, P",
                                     "share")
    import_share: np.ndarray = _f("share of a separation plant's ore receipts that were imported", "N", "share")
    quota_used_t: np.ndarray = _f("quota used so far this calendar year (quota holders)", "N", "t REO")
    capacity_t_per_wk: np.ndarray = _f("capacity in use (storage for traders, t); grows and shrinks with "
                                       "investment", "N", "t/wk")
    capacity_on_order: CapacityOnOrder = _f("capacity under construction, due after the investment lead",
                                            "projects", "t/wk")
    offer_share: np.ndarray = _f("share of its saleable stock a firm offers this week (holding back)", "N, P",
                                 "share")
    substitution_share: np.ndarray = _f("end users: share of their magnet use taken over by other technologies",
                                        "N", "share")
    heavy_thrift: np.ndarray = _f("magnet makers: share of the high grade's Dy and Tb given up (grain-boundary "
                                  "diffusion, thrifting)", "N", "share")
    prnd_thrift: np.ndarray = _f("magnet makers: share of the standard grade's Pr-Nd replaced by Ce", "N", "share")
    tb_swap: np.ndarray = _f("magnet makers: share of the recipes' Tb replaced by Dy (negative: Dy replaced by Tb)", "N",
                             "share")
    dy_added_share: np.ndarray = _f("magnet makers: share of each grade's cheap_dy_wt_pct they alloy in (Dy cheaper "
                                    "than at the start)", "N", "share")

    @classmethod
    def empty(cls, n_firms: int, n_products: int, capacity_t_per_wk: np.ndarray) -> "FirmState":
        z2 = lambda: np.zeros((n_firms, n_products))  # noqa: E731
        z1 = lambda: np.zeros(n_firms)  # noqa: E731
        return cls(stock_t=z2(), orders_expected_t_per_wk=z2(), use_expected_t_per_wk=z2(), owed_t=z2(),
                   ask_yuan_per_t=z2(), expected_change=z1(), price_trend_per_wk=z1(), uncertainty=z1(),
                   utilisation=np.full(n_firms, 0.8), normal_utilisation=np.full(n_firms, 0.8),
                   licence_success=np.ones((n_firms, n_products)), import_share=z1(), quota_used_t=z1(),
                   capacity_t_per_wk=capacity_t_per_wk.astype(float).copy(), capacity_on_order=CapacityOnOrder(),
                   offer_share=np.ones((n_firms, n_products)), substitution_share=z1(), heavy_thrift=z1(),
                   prnd_thrift=z1(), tb_swap=z1(), dy_added_share=z1())


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
    spot_in_transit_t: np.ndarray = _f("bought on the spot market this week, arriving next week, per buyer",
                                       "N, P", "t")

    @classmethod
    def empty(cls, n_links: int, n_slots: int, n_firms: int, n_products: int) -> "LinkState":
        return cls(backlog_t=np.zeros(n_links), reliability=np.ones(n_links), in_transit_t=np.zeros(n_links),
                   pipeline_t=np.zeros((n_slots, n_links)), shipped_total_t=np.zeros(n_links),
                   licences=LicenceQueue(n_links=n_links), spot_in_transit_t=np.zeros((n_firms, n_products)))


@dataclass
class MarketState:
    """Market-wide prices per product."""

    price_yuan_per_t: np.ndarray = _f("market price: the long-run anchor times the balance multiple, adjusted "
                                      "weekly; sellers' asks scatter around it", "P", "yuan/t")
    long_run_yuan_per_t: np.ndarray = _f("expected long-run price: drifts toward the marginal supplier's cost "
                                         "(oxides); the value of the oxides in them (ore, scrap) or the cost "
                                         "of their inputs (metal, magnets) at market prices", "P", "yuan/t")
    index_yuan_per_t: np.ndarray = _f("price index: volume-weighted mean of the week's transactions", "P", "yuan/t")
    previous_index_yuan_per_t: np.ndarray = _f("last week's price index", "P", "yuan/t")
    demand_t_per_wk: np.ndarray = _f("orders sellers face, smoothed over behaviour.cover_demand_weeks", "P", "t/wk")
    cover_wk: np.ndarray = _f("saleable stock (sellers' stock times their offer shares) over the orders sellers "
                              "face", "P", "wk")
    normal_cover_wk: np.ndarray = _f("the cover the market holds when settled (the scenario's "
                                     "market.normal_cover_weeks; a product it leaves out: measured at the "
                                     "start of the run)", "P", "wk")
    content_t_per_t: np.ndarray = _f("element content of a tonne of each product (magnets and scrap follow the "
                                     "recipes in use; one composition per product, all vintages mixed)", "P, E",
                                     "t REO-eq/t")
    export_price_yuan_per_t: np.ndarray = _f("export price buyers in each region pay (China's export duty and "
                                             "freight to the region included): China's price index with duty and "
                                             "freight, dearer where licences, a binding quota or a ban hold exports "
                                             "back and buyers there run short", "P, R", "yuan/t")
    normal_abroad_cover: np.ndarray = _f("buyers abroad's stock over their planned use and normal cover, as at the "
                                         "start: the reference for the export premium", "P, R", "-")
    export_regions: np.ndarray = _f("regions with buyers abroad (indices into world.regions)", "regions", "-")
    export_quota_used_t: dict = _f("exports counted against each export quota item, per calendar year (a year the "
                                   "run starts within: from its start, spent at an even pace before)", "items", "t")
    export_quota_bound: np.ndarray = _f("products an export quota held back last week (their exports cut to the "
                                        "quota's room)", "P", "-")
    oxide_route_cover: float = _f("what every supply route of the oxides can give a week this year (quotas, "
                                  "capacities, imports, work outside the quota, recycling) over what end users "
                                  "need of them (buyers abroad at the export licences' approval rate), both at "
                                  "long-run prices: below 1 "
                                  "the long-run price rations the difference (NaN before the run and without "
                                  "routes)", "-", "-")

    @classmethod
    def at_prices(cls, price_yuan_per_t: np.ndarray, content: np.ndarray, normal_cover_wk: float,
                  n_regions: int = 1, export_regions: np.ndarray | None = None) -> "MarketState":
        p = price_yuan_per_t
        export = np.repeat(p[:, None], n_regions, axis=1)
        return cls(price_yuan_per_t=p.copy(), long_run_yuan_per_t=p.copy(), index_yuan_per_t=p.copy(),
                   previous_index_yuan_per_t=p.copy(), demand_t_per_wk=np.zeros(p.shape[0]),
                   cover_wk=np.full(p.shape[0], normal_cover_wk),
                   normal_cover_wk=np.full(p.shape[0], normal_cover_wk), content_t_per_t=content.copy(),
                   export_price_yuan_per_t=export,
                   normal_abroad_cover=np.ones_like(export),
                   export_regions=np.zeros(0, np.int64) if export_regions is None else export_regions,
                   export_quota_used_t={}, export_quota_bound=np.zeros(p.shape[0], bool),
                   oxide_route_cover=float("nan"))


def state_table() -> list[dict[str, str]]:
    """Every state field with its container, shape, unit and meaning (for the ODD)."""
    rows = []
    for container in (FirmState, LinkState, MarketState):
        for f in fields(container):
            rows.append({"container": container.__name__, "field": f.name, "shape": f.metadata["shape"],
                         "unit": f.metadata["unit"], "meaning": f.metadata["doc"]})
    return rows

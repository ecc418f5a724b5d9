"""The news and policy events of a scenario, in date order, for the dashboard's ticker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..scenario import Scenario

__all__ = ["Event", "scenario_events", "fired"]


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str        # news, licences, quota, disruption, trade, reserve
    text: str


def _t(x: float) -> str:
    return f"{x / 1000:,.1f} kt" if x >= 1000 else f"{x:,.0f} t"


def scenario_events(sc: Scenario) -> list[Event]:
    """Every dated news item and policy step of ``sc`` within its period, in date order."""
    ev: list[Event] = []
    for n in sc.news:
        arrow = "prices up" if n.sign > 0 else "prices down"
        ev.append(Event(n.date, "news", f"{n.name} ({arrow}, {100 * n.strength:.0f} %)"))
    for c in sc.export_controls:
        what = ", ".join(c.products)
        ev.append(Event(c.start, "licences", f"{c.name}: export licences required for {what}"))
        for step in c.approval:
            ev.append(Event(step.start, "licences", f"{c.name}: {100 * step.rate:.0f} % of applications approved"))
        if c.end is not None:
            ev.append(Event(c.end, "licences", f"{c.name} ends"))
    for q in sc.quota_policy.quotas:
        for i, b in enumerate(q.batches, 1):
            label = q.type.replace("_", " ")
            ev.append(Event(b.issued, "quota", f"{q.year} {label} quota, batch {i}: {_t(q.total_t * b.share)} REO "
                                               f"issued"))
    for d in sc.disruptions:
        ev.append(Event(d.start, "disruption", f"{d.name}: {100 * d.capacity_offline_share:.0f} % of "
                                               f"{d.target.replace('_', ' ')} offline"))
        ev.append(Event(d.end + dt.timedelta(days=1), "disruption", f"{d.name} over"))
    for kind, items in (("export duty", sc.export_duties), ("import tariff", sc.import_tariffs)):
        for t in items:
            ev.append(Event(t.start, "trade", f"{t.name}: {kind} of {100 * t.rate_share:.0f} % on "
                                              f"{', '.join(t.products)}"))
            if t.end is not None:
                ev.append(Event(t.end + dt.timedelta(days=1), "trade", f"{t.name} lifted"))
    for q in sc.export_quotas:
        ev.append(Event(dt.date(q.year, 1, 1), "trade", f"{q.name}: export cap {_t(q.total_t)} in {q.year}"))
    if sc.stockpile.products:
        ev.append(Event(sc.stockpile.start or sc.start, "reserve",
                        f"state reserve trades {', '.join(sc.stockpile.products)}"))
    ev = [e for e in ev if sc.start <= e.date <= sc.end]
    ev.sort(key=lambda e: e.date)
    return ev


def fired(events: list[Event], today: dt.date, last: int = 10) -> list[Event]:
    """The ``last`` events dated on or before ``today``, newest first."""
    past = [e for e in events if e.date <= today]
    return past[::-1][:last]

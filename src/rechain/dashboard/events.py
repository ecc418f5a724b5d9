"""The news and policy events of a scenario, in date order, for the dashboard's ticker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..config.schema import STAGES
from ..figures import STAGE_LABELS
from ..report import PRICE_LABELS
from ..scenario import Scenario

__all__ = ["Event", "scenario_events", "fired"]


@dataclass(frozen=True)
class Event:
    date: dt.date
    kind: str        # news, licences, quota, disruption, trade, reserve
    text: str


def _t(x: float) -> str:
    return f"{x / 1000:,.1f} kt" if x >= 1000 else f"{x:,.0f} t"


def _products(names) -> str:
    """Products in words (Dy oxide, 52UH magnet blank), not the file's names."""
    return ", ".join(PRICE_LABELS.get(p, p.replace("_", " ")) for p in names)


def _in_text(label: str) -> str:
    """A stage's label inside a sentence: "magnet makers", "Myanmar ore", "miners (China)"."""
    return label if label.split()[0] in ("Myanmar", "China") else label[:1].lower() + label[1:]


def _news_text(n) -> str:
    """A news item as the ticker says it: what firms now expect, how strongly, and who hears it
    (the strength is the expected price change the news implies, not a price move)."""
    heard = "" if set(n.stages) >= set(STAGES) else \
        f"; heard by {', '.join(_in_text(STAGE_LABELS.get(st, st)) for st in n.stages)}"
    where = "" if list(n.regions) == ["all"] else f" in {', '.join(n.regions)}"
    expect = f"firms expect prices to {'rise' if n.sign > 0 else 'fall'} by about {100 * n.strength:.0f} %" \
        if round(100 * n.strength) else "no price change expected"
    return f"{n.name} ({expect}{heard}{where})"


def scenario_events(sc: Scenario) -> list[Event]:
    """Every dated news item and policy step of ``sc`` within its period, in date order."""
    ev: list[Event] = []
    for n in sc.news:
        ev.append(Event(n.date, "news", _news_text(n)))
    for c in sc.export_controls:
        what = _products(c.products)
        ev.append(Event(c.start, "licences", f"{c.name}: export licences required for {what}"))
        for step in c.approval:
            ev.append(Event(step.start, "licences", f"{c.name}: {100 * step.rate:.0f} % of applications approved"))
        if c.end is not None:
            ev.append(Event(c.end, "licences", f"{c.name} ends"))
    # the quotas issued on one day (mining and separation alike) are one line: three lines a
    # batch had pushed the news off the ticker
    issued: dict[tuple, list[str]] = {}
    for q in sc.quota_policy.quotas:
        for i, b in enumerate(q.batches, 1):
            issued.setdefault((b.issued, q.year, i), []).append(
                f"{q.type.replace('_', ' ')} {_t(q.total_t * b.share)}")
    for (day, year, i), parts in issued.items():
        ev.append(Event(day, "quota", f"{year} quotas, batch {i} issued (t REO): {', '.join(parts)}"))
    for d in sc.disruptions:
        ev.append(Event(d.start, "disruption", f"{d.name}: {100 * d.capacity_offline_share:.0f} % of "
                                               f"{_in_text(STAGE_LABELS.get(d.target, d.target.replace('_', ' ')))} offline"))
        ev.append(Event(d.end + dt.timedelta(days=1), "disruption", f"{d.name} over"))
    for kind, items in (("export duty", sc.export_duties), ("import tariff", sc.import_tariffs)):
        for t in items:
            ev.append(Event(t.start, "trade", f"{t.name}: {kind} of {100 * t.rate_share:.0f} % on "
                                              f"{_products(t.products)}"))
            if t.end is not None:
                ev.append(Event(t.end + dt.timedelta(days=1), "trade", f"{t.name} lifted"))
    for q in sc.export_quotas:
        ev.append(Event(dt.date(q.year, 1, 1), "trade", f"{q.name}: export cap {_t(q.total_t)} in {q.year}"))
    if sc.stockpile.products:
        ev.append(Event(sc.stockpile.start or sc.start, "reserve",
                        f"state reserve trades {_products(sc.stockpile.products)}"))
    ev = [e for e in ev if sc.start <= e.date <= sc.end]
    ev.sort(key=lambda e: e.date)
    return ev


def fired(events: list[Event], today: dt.date, last: int = 10) -> list[Event]:
    """The ``last`` events dated on or before ``today``, newest first."""
    past = [e for e in events if e.date <= today]
    return past[::-1][:last]

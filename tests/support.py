"""Helpers shared by the tests: the baseline and a shock-free variant as plain dicts."""

from __future__ import annotations

from pathlib import Path

from rechain.scenario import _resolve

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.toml"


def baseline_dict() -> dict:
    """The baseline scenario as a plain dict (``extends`` resolved)."""
    return _resolve(BASELINE)[0]


def quiet_dict(years: int = 3) -> dict:
    """The baseline with every shock switched off: no news, controls, disruptions, holidays,
    seasonality or demand growth, and quotas that do not bind."""
    d = baseline_dict()
    for k in ("news", "disruptions", "export_controls", "export_quotas", "export_duties", "import_tariffs"):
        d[k] = []
    d["holidays"] = False
    for s in d["sectors"].values():
        s["seasonality"] = [1.0] * 12
        s["shocks"] = []
        for key in ("units_per_yr", "magnet_kg_per_unit"):
            s[key] = {y: s[key]["2024"] for y in s[key]}
    for r in d["regions"].values():
        r["seasonality"] = [1.0] * 12
        r["demand_t_per_yr"] = {y: r["demand_t_per_yr"]["2024"] for y in r["demand_t_per_yr"]}
    for q in d["quota_policy"]["quotas"]:
        q["total_t"] = {"mining_rock": 300000, "mining_ionic": 25000, "separation": 400000}[q["type"]]
    d["end"] = d["end"].replace(year=d["start"].year + years - 1)
    return d

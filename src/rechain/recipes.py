"""Magnet recipes: the Pr-Nd, Dy and Tb content of each grade, week by week.

A recipe is metal wt % of the sintered blank (``[magnet_recipes]`` in the scenario, or the
materials table's defaults), a number or a table by year (linear between the years given,
held outside them). It is turned into t REO-eq per t of blank with the oxide-per-metal
factors of :mod:`rechain.materials`. How far substitution can go is part of the recipe:
``min_prnd_share`` (Ce replacing Pr-Nd in the standard grade) and ``min_heavy_share``
(grain-boundary diffusion and thrifting cutting Dy and Tb in the high grade).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .materials import Materials
from .config.schema import year_table_at
from .scenario import Recipe, Scenario

__all__ = ["GRADES", "RecipeBook", "recipe_book"]

GRADES = ("magnet_std", "magnet_uh")


def _by_year(value: float | dict[str, float], dates: list[dt.date]) -> np.ndarray:
    """A figure given as a number or per year, evaluated at each date (linear by fractional year)."""
    return year_table_at(value, np.array([d.year + (d.timetuple().tm_yday - 1) / 365.25 for d in dates]))


@dataclass(frozen=True)
class RecipeBook:
    """Recipes per week: ``content[w, g, e]`` t REO-eq of element ``e`` per t of grade ``g``
    blank; ``min_prnd_share[g]`` and ``min_heavy_share[g]`` bound substitution;
    ``thrift_elasticity[g]`` its long-run answer to price; ``max_added_share[g]`` how much of
    the substitutable content makers add back when the input is cheaper than at the start;
    ``cheap_dy[g]`` the most Dy, t REO-eq per t blank, makers alloy in when Dy is cheap."""

    content: np.ndarray
    min_prnd_share: np.ndarray
    min_heavy_share: np.ndarray
    thrift_elasticity: np.ndarray
    max_added_share: np.ndarray
    cheap_dy: np.ndarray


def _default_recipe(mat: Materials, grade: str) -> Recipe:
    c = mat.content[mat.p(grade)]
    pct = {el: 100.0 * c[mat.e(el)] / mat.oxide_per_metal[mat.e(el)] for el in ("prnd", "dy", "tb")}
    return Recipe(prnd_wt_pct=pct["prnd"], dy_wt_pct=pct["dy"], tb_wt_pct=pct["tb"])


def recipe_book(sc: Scenario, mat: Materials, dates: list[dt.date]) -> RecipeBook:
    """The scenario's recipes (materials defaults where it gives none) for each date."""
    content = np.zeros((len(dates), len(GRADES), len(mat.elements)))
    lo_prnd, lo_heavy, eps, add = np.ones(len(GRADES)), np.ones(len(GRADES)), np.zeros(len(GRADES)), \
        np.zeros(len(GRADES))
    cheap_dy = np.zeros(len(GRADES))
    for g, grade in enumerate(GRADES):
        r = getattr(sc.magnet_recipes, grade) or _default_recipe(mat, grade)
        for el, v in (("prnd", r.prnd_wt_pct), ("dy", r.dy_wt_pct), ("tb", r.tb_wt_pct)):
            e = mat.e(el)
            content[:, g, e] = _by_year(v, dates) / 100.0 * mat.oxide_per_metal[e]
        lo_prnd[g], lo_heavy[g], eps[g], add[g] = r.min_prnd_share, r.min_heavy_share, r.thrift_price_elasticity, \
            r.max_added_share
        cheap_dy[g] = r.cheap_dy_wt_pct / 100.0 * mat.oxide_per_metal[mat.e("dy")]
    if sc.prnd_reduction_std > 0:
        content[:, 0, mat.e("prnd")] *= 1.0 - sc.prnd_reduction_std
    return RecipeBook(content=content, min_prnd_share=lo_prnd, min_heavy_share=lo_heavy, thrift_elasticity=eps,
                      max_added_share=add, cheap_dy=cheap_dy)

"""Products, elements and the conversion factors between them.

All element masses are tonnes of rare-earth-oxide equivalent (t REO-eq); prices are held
internally in yuan per tonne of product and converted to the market's quoted unit
(yuan/t for Pr-Nd oxide and metal, yuan/kg for Dy/Tb oxide and magnets) only on output.
The figures live in ``data/materials.toml`` with their sources.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np

__all__ = ["Materials", "materials", "ELEMENTS", "PRODUCTS"]


@dataclass(frozen=True)
class Materials:
    """Element content and price units of every traded product.

    Attributes
    ----------
    elements : tuple of element keys (``prnd``, ``dy``, ``tb``, ``other``)
    products : tuple of product keys in a fixed order (the column order of stock arrays)
    content : array [n_products, n_elements], t REO-eq of each element per t of product
    price_unit : quoted unit per product (``yuan/t`` or ``yuan/kg``)
    quote_factor : array [n_products], internal yuan/t times this gives the quoted unit
    oxide_per_metal : array [n_elements], t oxide per t metal of each element
    labels : human-readable product names
    """

    elements: tuple[str, ...]
    products: tuple[str, ...]
    content: np.ndarray
    price_unit: dict[str, str]
    quote_factor: np.ndarray
    oxide_per_metal: np.ndarray
    labels: dict[str, str]
    units: dict[str, str]

    def p(self, name: str) -> int:
        """Column index of a product."""
        return self.products.index(name)

    def e(self, name: str) -> int:
        """Column index of an element."""
        return self.elements.index(name)

    @cached_property
    def _oxide_of_element(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([self.e("prnd"), self.e("dy"), self.e("tb")]),
                np.array([self.p("prnd_oxide"), self.p("dy_oxide"), self.p("tb_oxide")]))

    def oxide_price_vector(self, price: np.ndarray) -> np.ndarray:
        """Price of a t REO-eq of each element as its oxide, yuan [E] (other REO: 0)."""
        els, oxides = self._oxide_of_element
        ox = np.zeros(len(self.elements))
        ox[els] = price[oxides]
        return ox

    def oxide_value_yuan_per_t(self, price: np.ndarray) -> np.ndarray:
        """Value of each product's Pr-Nd, Dy and Tb content at oxide prices, yuan/t [P].

        ``price`` is yuan/t per product; what an ore or a scrap is worth to whoever
        separates it (its netback, before processing costs)."""
        return self.content @ self.oxide_price_vector(price)

    def with_grade_content(self, grade: str, content: np.ndarray) -> "Materials":
        """A copy in which ``grade`` (a magnet product) and its scrap have ``content`` [E]."""
        table = self.content.copy()
        table[self.p(grade)] = content
        scrap = grade.replace("magnet_", "scrap_")
        if scrap in self.products:
            table[self.p(scrap)] = content
        return Materials(self.elements, self.products, table, self.price_unit, self.quote_factor,
                         self.oxide_per_metal, self.labels, self.units)


def _load(text: str) -> Materials:
    data = tomllib.loads(text)
    elements = tuple(data["elements"])
    opm = np.array([float(data["elements"][e]["oxide_per_metal"]) for e in elements])
    products = tuple(data["products"])
    content = np.zeros((len(products), len(elements)))
    for i, name in enumerate(products):
        spec = data["products"][name]
        if "same_as" in spec:
            spec = data["products"][spec["same_as"]]
        if "content" in spec:
            for el, v in spec["content"].items():
                content[i, elements.index(el)] = float(v)
        if "metal_wt" in spec:
            for el, v in spec["metal_wt"].items():
                content[i, elements.index(el)] = float(v) * opm[elements.index(el)]
    ore_rows = [i for i, n in enumerate(products) if data["products"][n]["unit"] == "t REO"]
    for i in ore_rows:  # whatever REO is not Pr-Nd/Dy/Tb is "other"
        content[i, elements.index("other")] = 1.0 - content[i].sum()
    pm = products.index("prnd_metal")
    if not np.isclose(content[pm, elements.index("prnd")], opm[elements.index("prnd")]):
        raise ValueError("materials.toml: prnd_metal content must equal elements.prnd.oxide_per_metal")
    price_unit = {n: data["products"][n]["price_unit"] for n in products}
    qf = np.array([float(data["quote_factors"][price_unit[n]]) for n in products])
    labels = {n: data["products"][n]["label"] for n in products}
    units = {n: data["products"][n]["unit"] for n in products}
    return Materials(elements, products, content, price_unit, qf, opm, labels, units)


@lru_cache(maxsize=1)
def materials() -> Materials:
    """The materials table shipped with the package."""
    text = resources.files("rechain").joinpath("data/materials.toml").read_text(encoding="utf-8")
    return _load(text)


ELEMENTS = materials().elements
PRODUCTS = materials().products

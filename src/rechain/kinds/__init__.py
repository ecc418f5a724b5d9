"""The kinds of firm, one module each; what a kind does lives wholly in its module.

``KINDS_IN_CHAIN_ORDER`` lists every kind in the order the week's production phase calls
them (upstream first), then the end users and the stockholders. ``kind_classes()`` maps kind
codes to classes (a small registry, so a scenario or a test can look a kind up by code).
"""

from .abroad import ForeignProducer, ForeignProducers, OverseasMaterialBuyer, OverseasMaterialBuyers
from .base import Firm, Kind, Routes, Values
from .buyers import MotorMaker, MotorMakers, OverseasBuyer, OverseasBuyers
from .magnets import MagnetMaker, MagnetMakers
from .miners import (IonicMiner, IonicMiners, MyanmarHolder, MyanmarHolders, OverseasMiner, OverseasMiners,
                     RockMiner, RockMiners)
from .recyclers import Recycler, Recyclers
from .reserve import StateReserve, StateReserveAgent
from .separation import SeparationPlant, SeparationPlants
from .traders import Trader, Traders

KINDS_IN_CHAIN_ORDER = (RockMiners, IonicMiners, MyanmarHolders, OverseasMiners, SeparationPlants, Recyclers,
                        ForeignProducers, MagnetMakers, MotorMakers, OverseasBuyers, OverseasMaterialBuyers, Traders,
                        StateReserve)


def kind_classes() -> dict[int, type[Kind]]:
    return {k.code: k for k in KINDS_IN_CHAIN_ORDER}


HOOKS = ("produce", "use", "adjust_orders", "offer_share", "long_run_value", "supply_routes", "separation_room",
         "cost_floor", "final_asks", "releases", "learn_from_licences", "invest", "adapt", "collect_end_of_life")


def acting(kinds: tuple[Kind, ...]) -> dict[str, tuple[Kind, ...]]:
    """For each hook, the kinds (in chain order) that have firms and do something in it, so a
    phase calls only those."""
    out = {}
    for hook in HOOKS:
        if hook == "invest":          # a generic rule: every kind whose firms build or retire capacity
            out[hook] = tuple(k for k in kinds if k.present and k.config() is not None and k.expected_margin.__func__
                              is not Kind.expected_margin and (k.config().investment_share_per_yr > 0
                                                              or k.config().retirement_share_per_yr > 0))
            continue
        base = getattr(Kind, hook, None)
        out[hook] = tuple(k for k in kinds if k.present and hasattr(k, hook)
                          and getattr(type(k), hook) is not base
                          and (hook not in ("adjust_orders",) or k.buys is not None)
                          and (hook not in ("offer_share", "cost_floor", "final_asks", "releases") or k.sells is not None))
    return out


__all__ = ["Kind", "Firm", "Routes", "Values", "KINDS_IN_CHAIN_ORDER", "kind_classes", "acting", "HOOKS", "RockMiners", "IonicMiners",
           "MyanmarHolders", "OverseasMiners", "SeparationPlants", "Recyclers", "MagnetMakers", "MotorMakers",
           "OverseasBuyers", "OverseasMaterialBuyers", "ForeignProducers", "Traders", "StateReserve", "RockMiner", "IonicMiner", "MyanmarHolder",
           "OverseasMiner", "SeparationPlant", "Recycler", "MagnetMaker", "MotorMaker", "OverseasBuyer", "Trader",
           "OverseasMaterialBuyer", "ForeignProducer",
           "StateReserveAgent"]

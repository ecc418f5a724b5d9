"""The kinds of firm, one module each; what a kind does lives wholly in its module.

``KINDS_IN_CHAIN_ORDER`` lists every kind in the order the week's production phase calls
them (upstream first), then the end users and the stockholders. ``kind_classes()`` maps kind
codes to classes (a small registry, so a scenario or a test can look a kind up by code).
"""

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
                        MagnetMakers, MotorMakers, OverseasBuyers, Traders, StateReserve)


def kind_classes() -> dict[int, type[Kind]]:
    return {k.code: k for k in KINDS_IN_CHAIN_ORDER}


__all__ = ["Kind", "Firm", "Routes", "Values", "KINDS_IN_CHAIN_ORDER", "kind_classes", "RockMiners", "IonicMiners",
           "MyanmarHolders", "OverseasMiners", "SeparationPlants", "Recyclers", "MagnetMakers", "MotorMakers",
           "OverseasBuyers", "Traders", "StateReserve", "RockMiner", "IonicMiner", "MyanmarHolder",
           "OverseasMiner", "SeparationPlant", "Recycler", "MagnetMaker", "MotorMaker", "OverseasBuyer", "Trader",
           "StateReserveAgent"]

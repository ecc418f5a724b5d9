"""The firms of the chain and the regulator, as Mesa agents.

Each firm is a Mesa :class:`~mesa.Agent` that knows its row in the model's state arrays
(stocks, asks, expectations), so it can be inspected one by one. What a kind of firm
*does* each week is a classmethod ``act(model)`` that decides for all firms of that kind
at once, on arrays: the same rule per firm, evaluated together for speed.
"""

from .base import Firm
from .buyers import MotorMaker, OverseasBuyer
from .magnets import MagnetMaker
from .miners import IonicMiner, MyanmarHolder, OverseasMiner, RockMiner
from .recyclers import Recycler
from .regulator import Regulator
from .reserve import StateReserve
from .separation import SeparationPlant

AGENT_CLASSES = (RockMiner, IonicMiner, MyanmarHolder, OverseasMiner, SeparationPlant, Recycler, MagnetMaker,
                 MotorMaker, OverseasBuyer, StateReserve)

__all__ = ["Firm", "RockMiner", "IonicMiner", "MyanmarHolder", "OverseasMiner", "SeparationPlant", "Recycler",
           "MagnetMaker", "MotorMaker", "OverseasBuyer", "StateReserve", "Regulator", "AGENT_CLASSES"]

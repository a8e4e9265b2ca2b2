"""The cap table engine: plain Python, exact arithmetic, no Django.

- ``rounding``: the rounding rules, written down once (shares down, price to 4 places, cents).
- ``holdings``: share classes, positions, outstanding and fully diluted holdings.
- ``convertibles``: SAFEs and notes, interest (actual/365), most-favoured-nation terms.
- ``proforma``: a priced round's pro-forma with conversions and the option pool shuffle, solved exactly.
- ``waterfall``: who receives what at an exit, in cents that add up exactly.
"""

from equity.captable.convertibles import Convertible, InstrumentKind
from equity.captable.holdings import (
    Capitalization,
    ClassKind,
    Holdings,
    HoldingsRow,
    Position,
    PositionKind,
    ShareClass,
    holdings,
)
from equity.captable.proforma import (
    Conversion,
    InfeasibleRound,
    Investment,
    NewShares,
    PoolTopUp,
    PricedRound,
    ProForma,
    ProRataRight,
    pro_forma,
)
from equity.captable.rounding import RoundingPolicy
from equity.captable.waterfall import Payout, Waterfall, distribute, waterfall

__all__ = [
    "Capitalization", "ClassKind", "Conversion", "Convertible", "Holdings", "HoldingsRow", "InfeasibleRound",
    "InstrumentKind", "Investment", "NewShares", "Payout", "PoolTopUp", "Position", "PositionKind", "PricedRound",
    "ProForma", "ProRataRight", "RoundingPolicy", "ShareClass", "Waterfall", "distribute", "holdings", "pro_forma",
    "waterfall",
]

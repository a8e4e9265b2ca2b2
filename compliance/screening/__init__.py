"""Sanctions and PEP screening: list readers (`sdn`) and fuzzy matching with a risk level (`matching`).

Pure and typed, no Django import: `compliance.services` loads entries from the database, builds a
`ScreeningIndex` and stores the `Hit`s it returns.
"""

from compliance.screening.matching import (
    DEFAULT_THRESHOLD,
    HIGH,
    LOW,
    MEDIUM,
    PEP,
    SANCTIONS,
    STRONG_SCORE,
    Applicant,
    Hit,
    ListEntry,
    RiskAssessment,
    ScreeningIndex,
    name_similarity,
    normalize_name,
    risk_level,
)
from compliance.screening.sdn import load_pep, load_sdn, parse_pep, parse_sdn

__all__ = [
    "DEFAULT_THRESHOLD",
    "HIGH",
    "LOW",
    "MEDIUM",
    "PEP",
    "SANCTIONS",
    "STRONG_SCORE",
    "Applicant",
    "Hit",
    "ListEntry",
    "RiskAssessment",
    "ScreeningIndex",
    "load_pep",
    "load_sdn",
    "name_similarity",
    "normalize_name",
    "parse_pep",
    "parse_sdn",
    "risk_level",
]

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Result:
    """What one benchmark area measured: metric key -> number, plus free lines for the markdown table."""

    metrics: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

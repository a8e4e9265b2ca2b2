"""Per-block build metrics, logged and exposed at `/metrics` in the Prometheus text format."""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import asdict, dataclass

log = logging.getLogger("devnet.metrics")


@dataclass(frozen=True)
class BlockMetrics:
    number: int
    transactions: int
    gas_used: int
    scheduler: str
    exec_seconds: float
    commit_seconds: float
    state_root_seconds: float
    total_seconds: float
    reexecutions: int
    conflicts: int


class Metrics:
    def __init__(self, keep: int = 256) -> None:
        self.recent: deque[BlockMetrics] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self.totals: Counter[str] = Counter()
        self.seconds: dict[str, float] = {"execution": 0.0, "commit": 0.0, "state_root": 0.0}
        self.by_scheduler: Counter[str] = Counter()

    def record(self, block: BlockMetrics) -> None:
        with self._lock:
            self.recent.append(block)
            self.totals["blocks"] += 1
            self.totals["transactions"] += block.transactions
            self.totals["gas"] += block.gas_used
            self.totals["reexecutions"] += block.reexecutions
            self.totals["conflicts"] += block.conflicts
            self.seconds["execution"] += block.exec_seconds
            self.seconds["commit"] += block.commit_seconds
            self.seconds["state_root"] += block.state_root_seconds
            self.by_scheduler[block.scheduler] += 1
        if block.transactions:
            log.info(
                "block %d: %d txs, %d gas, scheduler=%s exec=%.1fms commit=%.1fms root=%.1fms "
                "reexecutions=%d conflicts=%d",
                block.number,
                block.transactions,
                block.gas_used,
                block.scheduler,
                block.exec_seconds * 1000,
                block.commit_seconds * 1000,
                block.state_root_seconds * 1000,
                block.reexecutions,
                block.conflicts,
            )

    def last(self) -> BlockMetrics | None:
        return self.recent[-1] if self.recent else None

    def prometheus(self) -> str:
        """The Prometheus text exposition format, version 0.0.4."""
        with self._lock:
            lines = []
            counters = {
                "devnet_blocks_total": ("Blocks built.", self.totals["blocks"]),
                "devnet_transactions_total": ("Transactions included.", self.totals["transactions"]),
                "devnet_gas_used_total": ("Gas used by included transactions.", self.totals["gas"]),
                "devnet_reexecutions_total": (
                    "Transactions executed again after a conflict.",
                    self.totals["reexecutions"],
                ),
                "devnet_conflicts_total": (
                    "Speculative results rejected by validation.",
                    self.totals["conflicts"],
                ),
            }
            for name, (help_text, value) in counters.items():
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
            lines += [
                "# HELP devnet_phase_seconds_total Time spent building blocks, per phase.",
                "# TYPE devnet_phase_seconds_total counter",
            ]
            for phase in ("execution", "commit", "state_root"):
                lines.append(f'devnet_phase_seconds_total{{phase="{phase}"}} {self.seconds[phase]:.6f}')
            lines += [
                "# HELP devnet_blocks_by_scheduler_total Blocks built, per scheduler.",
                "# TYPE devnet_blocks_by_scheduler_total counter",
            ]
            for scheduler, count in sorted(self.by_scheduler.items()):
                lines.append(f'devnet_blocks_by_scheduler_total{{scheduler="{scheduler}"}} {count}')
            last = self.recent[-1] if self.recent else None
            if last is not None:
                values = asdict(last)
                scheduler = values.pop("scheduler")
                for key, value in values.items():
                    name = f"devnet_last_block_{key}"
                    lines += [f"# HELP {name} Last block: {key.replace('_', ' ')}.", f"# TYPE {name} gauge"]
                    lines.append(f'{name}{{scheduler="{scheduler}"}} {value}')
            return "\n".join(lines) + "\n"

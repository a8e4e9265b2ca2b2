"""The reference scheduler: every transaction executed in order in the coordinator."""

from __future__ import annotations

from collections.abc import Sequence

from devnet.execution import BlockContext
from devnet.scheduler import BlockExecution, PendingTx, Scheduler, commit_in_order
from devnet.state import FlatState


class SequentialScheduler(Scheduler):
    name = "sequential"

    def execute(
        self, base: FlatState, transactions: Sequence[PendingTx], context: BlockContext
    ) -> BlockExecution:
        return commit_in_order(base, transactions, context, lambda index: None, self.name)

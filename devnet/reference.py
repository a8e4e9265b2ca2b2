"""Sequential execution on unmodified py-evm: the reference every scheduler must match.

It shares nothing with the block builder but the inclusion rules (gas pool, a sender's later transactions
wait when one is skipped, invalid transactions are dropped): stock `PragueState` over py-evm's own
trie-backed `AccountDB`, one `apply_transaction` after another, `persist()` for the root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth.abc import ExecutionContextAPI
from eth.constants import BLANK_ROOT_HASH
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.state import PragueState
from eth_utils import ValidationError

from devnet.execution import BlockContext
from devnet.scheduler import PendingTx
from devnet.state import AccountRecord, Writes, apply_writes_to_account_db


@dataclass(frozen=True)
class ReferenceReceipt:
    tx_hash: bytes
    success: bool
    cumulative_gas_used: int
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...]


class ReferenceChain:
    def __init__(self, alloc: Sequence[tuple[bytes, AccountRecord, bytes, dict[int, int]]]) -> None:
        self.db = AtomicDB()
        genesis = Writes()
        for address, record, code, storage in alloc:
            genesis.exists[address] = True
            genesis.balances[address] = record.balance
            genesis.nonces[address] = record.nonce
            if code:
                genesis.code_hashes[address] = record.code_hash
                genesis.codes[record.code_hash] = code
            if storage:
                genesis.storage[address] = dict(storage)
        state = PragueState(self.db, _context_stub(), BLANK_ROOT_HASH)
        apply_writes_to_account_db(state._account_db, genesis)  # type: ignore[arg-type]
        state.persist()
        self.state_root = state.state_root

    def execute_block(
        self, transactions: Sequence[PendingTx], context: BlockContext
    ) -> tuple[bytes, list[ReferenceReceipt]]:
        state = PragueState(self.db, context.execution_context(), self.state_root)
        gas_left = context.gas_limit
        blocked: set[bytes] = set()
        receipts: list[ReferenceReceipt] = []
        cumulative = 0
        for pending in transactions:
            if pending.sender in blocked or pending.tx.gas > gas_left:
                blocked.add(pending.sender)
                continue
            state.lock_changes()
            try:
                computation = state.apply_transaction(pending.tx)
            except ValidationError:
                blocked.add(pending.sender)
                continue
            gas_used = PragueVM.finalize_gas_used(pending.tx, computation)
            gas_left -= gas_used
            cumulative += gas_used
            receipts.append(
                ReferenceReceipt(
                    pending.hash, not computation.is_error, cumulative, tuple(computation.get_log_entries())
                )
            )
        state.persist()
        self.state_root = state.state_root
        return bytes(self.state_root), receipts


def _context_stub() -> ExecutionContextAPI:
    from devnet.execution import BlockContext

    return BlockContext(0, 0, b"\x00" * 20, 30_000_000, 0, 1, b"\x00" * 32, ()).execution_context()

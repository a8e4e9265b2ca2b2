"""Sequential execution on unmodified py-evm: the reference every scheduler must match.

It shares nothing with the block builder but the inclusion rules (gas pool, a sender's later transactions
wait when one is skipped, invalid transactions are dropped): stock `PragueState` over py-evm's own
trie-backed `AccountDB`, one `apply_transaction` after another, `persist()` for the root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth.abc import ExecutionContextAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.db.account import AccountDB
from eth.db.atomic import AtomicDB
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.state import PragueState
from eth_typing import Address
from eth_utils import ValidationError

from devnet.execution import BlockContext
from devnet.scheduler import PendingTx
from devnet.state import AccountRecord, Writes, genesis_writes


@dataclass(frozen=True)
class ReferenceReceipt:
    tx_hash: bytes
    success: bool
    cumulative_gas_used: int
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...]


class ReferenceChain:
    def __init__(self, alloc: Sequence[tuple[bytes, AccountRecord, bytes, dict[int, int]]]) -> None:
        self.db = AtomicDB()
        state = PragueState(self.db, _context_stub(), BLANK_ROOT_HASH)
        apply_writes_to_account_db(state._account_db, genesis_writes(alloc))  # type: ignore[arg-type]
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


def apply_writes_to_account_db(account_db: AccountDB, writes: Writes) -> None:
    """Apply a block's net writes to py-evm's trie-backed `AccountDB` (which then gives the state root).

    Each touched account's record is written once (one RLP encoding), through the database's own
    `_get_account`/`_set_account`, instead of one `set_*` call per field.
    """
    for address in writes.touched_addresses():
        canonical = Address(address)
        if writes.exists.get(address) is False:
            account_db.delete_account(canonical)
            continue
        if address in writes.wiped:
            account_db.delete_storage(canonical)
        account = account_db._get_account(canonical)
        code_hash = writes.code_hashes.get(address, account.code_hash)
        if code_hash != account.code_hash and code_hash != EMPTY_SHA3:
            code = writes.codes.get(code_hash)
            if code is not None:
                account_db._journaldb[code_hash] = code
        balance = writes.balances.get(address, account.balance) + writes.credits.get(address, 0)
        account_db._set_account(
            canonical,
            account.copy(
                nonce=writes.nonces.get(address, account.nonce), balance=balance, code_hash=code_hash
            ),
        )
        slots = writes.storage.get(address)
        if slots:
            for slot, value in slots.items():
                account_db.set_storage(canonical, slot, value)

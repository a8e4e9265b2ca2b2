"""World state for block building: a flat replica, a block overlay, and a recording account database.

py-evm's own `AccountDB` reads accounts through a hexary trie. The block builder instead executes every
transaction against flat dictionaries (the replica each worker process holds) plus an overlay of the writes
that earlier transactions of the same block committed, through `RecordingAccountDB`, which notes every value
a transaction read and every value it wrote, one field at a time (balance, nonce, code, existence, each
storage slot). The coordinator validates those read sets in block order and folds the write sets into the
overlay; at the end of the block the overlay is applied to the replica and to the trie that gives the state
root.

Value credits (the fee paid to the coinbase, ETH sent to a recipient) are kept as commutative deltas rather
than read-modify-write: a transaction that only adds to a balance does not read it, so a thousand
transactions paying the same coinbase, or buying from the same sale contract, do not conflict. A credit is
folded into the balance the moment the same transaction reads that balance.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import rlp
from eth.abc import AtomicDatabaseAPI, ExecutionContextAPI, MetaWitnessAPI
from eth.constants import BLANK_ROOT_HASH, EMPTY_SHA3
from eth.db.account import AccountDB
from eth.db.journal import get_next_checkpoint
from eth.typing import JournalDBCheckpoint
from eth.vm.forks.prague.state import PragueState
from eth_hash.auto import keccak
from eth_typing import Address, Hash32
from eth_utils import big_endian_to_int

from devnet.trie import Change, encode, nibbles, update_root

# Read/write keys. One tuple per field, so that reading a contract's code never conflicts with a credit to
# its balance, and reading one storage slot never conflicts with a write to another.
BALANCE = 0
NONCE = 1
CODE = 2
EXISTS = 3
STORAGE = 4

Key = tuple[Any, ...]


class AccountRecord(NamedTuple):
    nonce: int
    balance: int
    code_hash: bytes


EMPTY_ACCOUNT = AccountRecord(0, 0, EMPTY_SHA3)


@dataclass(slots=True)
class Writes:
    """Net effect of one transaction, or of every committed transaction of a block so far.

    `exists` holds an account's existence when it was decided (True once any field is set, False once the
    account was deleted); `wiped` lists accounts whose storage was cleared before the `storage` writes.
    `balances` are absolute; `credits` are deltas on top of whatever balance the account has.
    """

    balances: dict[bytes, int] = field(default_factory=dict)
    credits: dict[bytes, int] = field(default_factory=dict)
    nonces: dict[bytes, int] = field(default_factory=dict)
    code_hashes: dict[bytes, bytes] = field(default_factory=dict)
    codes: dict[bytes, bytes] = field(default_factory=dict)
    storage: dict[bytes, dict[int, int]] = field(default_factory=dict)
    wiped: set[bytes] = field(default_factory=set)
    exists: dict[bytes, bool] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, ...]:
        # Positional, like TxOutcome's: every outcome and every streamed delta carries one.
        return (
            Writes,
            (self.balances, self.credits, self.nonces, self.code_hashes, self.codes, self.storage, self.wiped,
             self.exists),
        )

    def touched_addresses(self) -> set[bytes]:
        return (
            set(self.balances)
            | set(self.credits)
            | set(self.nonces)
            | set(self.code_hashes)
            | set(self.storage)
            | self.wiped
            | set(self.exists)
        )

    def keys(self) -> Iterator[Key]:
        """Every key this write set changes (credits included), for conflict accounting."""
        for address in self.balances:
            yield (BALANCE, address)
        for address in self.credits:
            yield (BALANCE, address)
        for address in self.nonces:
            yield (NONCE, address)
        for address in self.code_hashes:
            yield (CODE, address)
        for address in self.exists:
            yield (EXISTS, address)
        for address, slots in self.storage.items():
            for slot in slots:
                yield (STORAGE, address, slot)

    def merge(self, later: Writes) -> None:
        """Fold the writes of a later transaction into these (the block overlay).

        The coordinator runs this for every transaction it commits, so empty parts are skipped without a loop.
        """
        if later.wiped:
            for address in later.wiped:
                self.wiped.add(address)
                self.storage.pop(address, None)
        if later.exists:
            exists = self.exists
            for address, alive in later.exists.items():
                exists[address] = alive
                if not alive:
                    self.storage.pop(address, None)
                    self.credits.pop(address, None)
                    self.balances[address] = 0
                    self.nonces[address] = 0
                    self.code_hashes[address] = EMPTY_SHA3
        credits = self.credits
        if later.balances:
            balances = self.balances
            for address, balance in later.balances.items():
                balances[address] = balance
                # The later transaction read the balance with every earlier credit in it (or overwrote it).
                if address in credits:
                    del credits[address]
        if later.credits:
            exists = self.exists
            for address, credit in later.credits.items():
                credits[address] = credits.get(address, 0) + credit
                if exists.get(address) is False:
                    exists[address] = True  # a credit re-creates an account deleted earlier in the block
        if later.nonces:
            self.nonces.update(later.nonces)
        if later.code_hashes:
            self.code_hashes.update(later.code_hashes)
        if later.codes:
            self.codes.update(later.codes)
        if later.storage:
            storage = self.storage
            for address, slots in later.storage.items():
                current = storage.get(address)
                if current is None:
                    storage[address] = dict(slots)
                else:
                    current.update(slots)


class FlatState:
    """The whole world state as dictionaries: what each worker process replicates."""

    def __init__(self) -> None:
        self.accounts: dict[bytes, AccountRecord] = {}
        self.storage: dict[bytes, dict[int, int]] = {}
        self.codes: dict[bytes, bytes] = {}

    def read(self, key: Key) -> Any:
        kind = key[0]
        if kind == STORAGE:
            slots = self.storage.get(key[1])
            return slots.get(key[2], 0) if slots else 0
        record = self.accounts.get(key[1])
        if kind == EXISTS:
            return record is not None
        if record is None:
            record = EMPTY_ACCOUNT
        if kind == BALANCE:
            return record.balance
        if kind == NONCE:
            return record.nonce
        return record.code_hash

    def code(self, code_hash: bytes) -> bytes:
        if code_hash == EMPTY_SHA3:
            return b""
        return self.codes[code_hash]

    def apply(self, writes: Writes) -> list[tuple[bytes, AccountRecord | None, dict[int, int] | None]]:
        """Apply a block's writes; return what is needed to undo them (old record and old storage)."""
        undo: list[tuple[bytes, AccountRecord | None, dict[int, int] | None]] = []
        self.codes.update(writes.codes)
        for address in writes.touched_addresses():
            old = self.accounts.get(address)
            old_storage = self.storage.get(address)
            undo.append((address, old, dict(old_storage) if old_storage is not None else None))
            if writes.exists.get(address) is False:
                self.accounts.pop(address, None)
                self.storage.pop(address, None)
                continue
            record = old or EMPTY_ACCOUNT
            balance = writes.balances.get(address, record.balance) + writes.credits.get(address, 0)
            self.accounts[address] = AccountRecord(
                writes.nonces.get(address, record.nonce),
                balance,
                writes.code_hashes.get(address, record.code_hash),
            )
            if address in writes.wiped:
                self.storage.pop(address, None)
            slots = writes.storage.get(address)
            if slots:
                current = self.storage.setdefault(address, {})
                for slot, value in slots.items():
                    if value:
                        current[slot] = value
                    else:
                        current.pop(slot, None)
        return undo

    def undo(self, undo: list[tuple[bytes, AccountRecord | None, dict[int, int] | None]]) -> None:
        for address, record, slots in reversed(undo):
            if record is None:
                self.accounts.pop(address, None)
            else:
                self.accounts[address] = record
            if slots is None:
                self.storage.pop(address, None)
            else:
                self.storage[address] = slots


class BlockView:
    """The state a transaction of the block sees: the replica plus writes committed earlier in the block."""

    def __init__(self, base: FlatState, overlay: Writes | None = None) -> None:
        self.base = base
        self.overlay = overlay if overlay is not None else Writes()

    def read(self, key: Key) -> Any:
        kind = key[0]
        address = key[1]
        overlay = self.overlay
        if kind == STORAGE:
            slots = overlay.storage.get(address)
            if slots is not None and key[2] in slots:
                return slots[key[2]]
            if address in overlay.wiped:
                return 0
            return self.base.read(key)
        if kind == BALANCE:
            if address in overlay.balances:
                balance = overlay.balances[address]
            else:
                balance = self.base.read(key)
            return balance + overlay.credits.get(address, 0)
        if kind == NONCE:
            if address in overlay.nonces:
                return overlay.nonces[address]
            return self.base.read(key)
        if kind == CODE:
            if address in overlay.code_hashes:
                return overlay.code_hashes[address]
            return self.base.read(key)
        # EXISTS
        if address in overlay.exists:
            return overlay.exists[address]
        if overlay.credits.get(address, 0) > 0:
            return True
        return self.base.read(key)

    def code(self, code_hash: bytes) -> bytes:
        if code_hash in self.overlay.codes:
            return self.overlay.codes[code_hash]
        return self.base.code(code_hash)

    def commit(self, writes: Writes) -> None:
        self.overlay.merge(writes)


class LayeredView(BlockView):
    """A worker's view: its own speculative writes over the coordinator's committed writes over the replica."""

    def __init__(self, base: FlatState, committed: Writes, own: Writes) -> None:
        super().__init__(base, committed)
        self.own = own

    def read(self, key: Key) -> Any:
        kind = key[0]
        address = key[1]
        layers = (self.own, self.overlay)
        if kind == STORAGE:
            for layer in layers:
                slots = layer.storage.get(address)
                if slots is not None and key[2] in slots:
                    return slots[key[2]]
                if address in layer.wiped:
                    return 0
            return self.base.read(key)
        if kind == BALANCE:
            credit = 0
            for layer in layers:
                credit += layer.credits.get(address, 0)
                if address in layer.balances:
                    return layer.balances[address] + credit
            return self.base.read(key) + credit
        if kind == EXISTS:
            for layer in layers:
                if address in layer.exists:
                    return layer.exists[address]
                if layer.credits.get(address, 0) > 0:
                    return True
            return self.base.read(key)
        for layer in layers:
            values = layer.nonces if kind == NONCE else layer.code_hashes
            if address in values:
                return values[address]
        return self.base.read(key)

    def code(self, code_hash: bytes) -> bytes:
        if code_hash in self.own.codes:
            return self.own.codes[code_hash]
        return super().code(code_hash)


_MISSING = object()


class RecordingAccountDB(AccountDB):
    """An `AccountDB` over a `BlockView` that records the exact read and write set of one transaction.

    Nothing of the parent's trie machinery is used: every method of the account database API is served
    from the view plus this transaction's own writes, with an undo journal for py-evm's nested snapshots
    (a reverted call frame undoes its writes, its warm-access marks and its credits).
    """

    def __init__(self, view: BlockView) -> None:  # the trie-backed parent constructor is deliberately skipped
        self.view = view
        self.reads: dict[Key, Any] = {}
        self.fields: dict[Key, Any] = {}  # BALANCE/NONCE/CODE/EXISTS written by this transaction
        self.credits: dict[bytes, int] = {}
        self.slots: dict[bytes, dict[int, int]] = {}
        self.wiped: set[bytes] = set()
        self.codes: dict[bytes, bytes] = {}
        self.warm: set[Any] = set()
        self._journal: list[tuple[Any, Any, Any]] = []
        self._checkpoints: dict[int, int] = {}

    # -- journal ---------------------------------------------------------------------------------------
    def _remember(self, container: Any, key: Any) -> None:
        if isinstance(container, set):
            self._journal.append((container, key, key in container))
        else:
            self._journal.append((container, key, container.get(key, _MISSING)))

    def record(self) -> JournalDBCheckpoint:
        # py-evm's own counter: transient storage journals under these ids next to ids of its own.
        checkpoint = get_next_checkpoint()
        self._checkpoints[checkpoint] = len(self._journal)
        return checkpoint

    def discard(self, checkpoint: JournalDBCheckpoint) -> None:
        journal = self._journal
        length = self._checkpoints.pop(checkpoint)
        while len(journal) > length:
            container, key, old = journal.pop()
            if isinstance(container, set):
                if old:
                    container.add(key)
                else:
                    container.discard(key)
            elif old is _MISSING:
                container.pop(key, None)
            else:
                container[key] = old

    def commit(self, checkpoint: JournalDBCheckpoint) -> None:
        """Undo entries stay: an enclosing frame that reverts must still undo this one's writes."""
        self._checkpoints.pop(checkpoint, None)

    def lock_changes(self) -> None:
        """One database per transaction, so there is nothing to lock between transactions."""

    # -- reads from the view ---------------------------------------------------------------------------
    def _read(self, key: Key) -> Any:
        if key in self.reads:
            return self.reads[key]
        value = self.view.read(key)
        self.reads[key] = value
        return value

    def _field(self, key: Key) -> Any:
        if key in self.fields:
            return self.fields[key]
        return self._read(key)

    def _set_field(self, key: Key, value: Any) -> None:
        self._remember(self.fields, key)
        self.fields[key] = value
        exists_key = (EXISTS, key[1])
        if self.fields.get(exists_key) is not True:
            self._remember(self.fields, exists_key)
            self.fields[exists_key] = True

    # -- balance ---------------------------------------------------------------------------------------
    def get_balance(self, address: Address) -> int:
        key = (BALANCE, address)
        if key in self.fields:
            return int(self.fields[key])
        balance = int(self._read(key))
        credit = self.credits.get(address)
        if credit:
            # Fold the pending credit in: from here on this transaction knows the absolute balance.
            self._remember(self.credits, address)
            del self.credits[address]
            self._set_field(key, balance + credit)
            return balance + credit
        return balance

    def set_balance(self, address: Address, balance: int) -> None:
        if address in self.credits:
            self._remember(self.credits, address)
            del self.credits[address]
        self._set_field((BALANCE, address), balance)

    def add_credit(self, address: Address, amount: int) -> None:
        key = (BALANCE, address)
        if key in self.fields:
            self._set_field(key, self.fields[key] + amount)
            return
        self._remember(self.credits, address)
        self.credits[address] = self.credits.get(address, 0) + amount

    # -- nonce and code --------------------------------------------------------------------------------
    def get_nonce(self, address: Address) -> int:
        return int(self._field((NONCE, address)))

    def set_nonce(self, address: Address, nonce: int) -> None:
        self._set_field((NONCE, address), nonce)

    def increment_nonce(self, address: Address) -> None:
        self.set_nonce(address, self.get_nonce(address) + 1)

    def get_code_hash(self, address: Address) -> Hash32:
        return Hash32(self._field((CODE, address)))

    def get_code(self, address: Address) -> bytes:
        code_hash = self.get_code_hash(address)
        if code_hash == EMPTY_SHA3:
            return b""
        if code_hash in self.codes:
            return self.codes[code_hash]
        return self.view.code(code_hash)

    def set_code(self, address: Address, code: bytes) -> None:
        code_hash = keccak(code)
        self._remember(self.codes, code_hash)
        self.codes[code_hash] = code
        self._set_field((CODE, address), code_hash)

    def delete_code(self, address: Address) -> None:
        self._set_field((CODE, address), EMPTY_SHA3)

    # -- storage ---------------------------------------------------------------------------------------
    def get_storage(self, address: Address, slot: int, from_journal: bool = True) -> int:
        if not from_journal:
            # The value at the start of the transaction (SSTORE gas rules): the view's value.
            return int(self._read((STORAGE, address, slot)))
        slots = self.slots.get(address)
        if slots is not None and slot in slots:
            return slots[slot]
        if address in self.wiped:
            return 0
        return int(self._read((STORAGE, address, slot)))

    def set_storage(self, address: Address, slot: int, value: int) -> None:
        slots = self.slots.get(address)
        if slots is None:
            self._remember(self.slots, address)
            slots = self.slots[address] = {}
        self._remember(slots, slot)
        slots[slot] = value

    def delete_storage(self, address: Address) -> None:
        self._remember(self.slots, address)
        self.slots.pop(address, None)
        self._remember(self.wiped, address)
        self.wiped.add(address)

    # -- accounts --------------------------------------------------------------------------------------
    def account_exists(self, address: Address) -> bool:
        key = (EXISTS, address)
        if key in self.fields:
            return bool(self.fields[key])
        if self.credits.get(address, 0) > 0:
            return True
        return bool(self._read(key))

    def touch_account(self, address: Address) -> None:
        if self.account_exists(address):
            return
        self._remember(self.fields, (EXISTS, address))
        self.fields[(EXISTS, address)] = True

    def account_has_code_or_nonce(self, address: Address) -> bool:
        return self.get_nonce(address) != 0 or self.get_code_hash(address) != EMPTY_SHA3

    def account_is_empty(self, address: Address) -> bool:
        if self.credits.get(address, 0) > 0:
            return False
        return not self.account_has_code_or_nonce(address) and self.get_balance(address) == 0

    def delete_account(self, address: Address) -> None:
        self.delete_storage(address)
        if address in self.credits:
            self._remember(self.credits, address)
            del self.credits[address]
        for key, value in (((BALANCE, address), 0), ((NONCE, address), 0), ((CODE, address), EMPTY_SHA3)):
            self._remember(self.fields, key)
            self.fields[key] = value
        self._remember(self.fields, (EXISTS, address))
        self.fields[(EXISTS, address)] = False

    # -- warm/cold access (EIP-2929) -------------------------------------------------------------------
    def is_address_warm(self, address: Address) -> bool:
        return address in self.warm

    def mark_address_warm(self, address: Address) -> None:
        if address not in self.warm:
            self._remember(self.warm, address)
            self.warm.add(address)

    def is_storage_warm(self, address: Address, slot: int) -> bool:
        return (address, slot) in self.warm

    def mark_storage_warm(self, address: Address, slot: int) -> None:
        key = (address, slot)
        if key not in self.warm:
            self._remember(self.warm, key)
            self.warm.add(key)

    # -- what the parent would do with a trie ----------------------------------------------------------
    @property
    def state_root(self) -> Hash32:
        """py-evm snapshots pair the root with the journal checkpoint; only the checkpoint matters here."""
        return BLANK_ROOT_HASH

    @state_root.setter
    def state_root(self, value: Hash32) -> None:
        """Reverting a snapshot sets the root back: the journal undo already did the work."""

    def has_root(self, state_root: bytes) -> bool:
        return False

    def make_state_root(self) -> Hash32:
        raise NotImplementedError("a recording database has no trie; the coordinator computes roots")

    def persist(self) -> MetaWitnessAPI:
        raise NotImplementedError("a recording database has no trie; the coordinator persists")

    # -- the result ------------------------------------------------------------------------------------
    def writes(self) -> Writes:
        result = Writes()
        for key, value in self.fields.items():
            kind, address = key
            if kind == BALANCE:
                result.balances[address] = value
            elif kind == NONCE:
                result.nonces[address] = value
            elif kind == CODE:
                result.code_hashes[address] = value
                if value in self.codes:
                    result.codes[value] = self.codes[value]
            else:
                result.exists[address] = value
        for address, credit in self.credits.items():
            if credit:
                result.credits[address] = credit
        result.wiped = set(self.wiped)
        result.storage = {address: dict(slots) for address, slots in self.slots.items() if slots}
        return result


class RecordingState(PragueState):
    """Prague rules over a `RecordingAccountDB`; positive balance changes become credits."""

    account_db_class = RecordingAccountDB

    def __init__(self, view: BlockView, execution_context: ExecutionContextAPI) -> None:
        # Skips BaseState.__init__: there is no database or state root, and the system-contract check it
        # runs would only add reads (and, as written in py-evm 0.12, never installs anything).
        self._db: AtomicDatabaseAPI = None  # type: ignore[assignment]
        self.execution_context = execution_context
        self._account_db = RecordingAccountDB(view)

    @property
    def recorder(self) -> RecordingAccountDB:
        account_db = self._account_db
        assert isinstance(account_db, RecordingAccountDB)  # noqa: S101 - set in __init__
        return account_db

    def delta_balance(self, address: Address, delta: int) -> None:
        if delta > 0:
            self.recorder.add_credit(address, delta)
        elif delta == 0:
            # py-evm would read and rewrite the same balance; the only effect is that the account exists.
            self.recorder.touch_account(address)
        else:
            super().delta_balance(address, delta)


def genesis_writes(accounts: Iterable[tuple[bytes, AccountRecord, bytes, dict[int, int]]]) -> Writes:
    """Genesis or a loaded dump's (address, record, code, storage) rows as the writes that create them."""
    writes = Writes()
    for address, record, code, storage in accounts:
        writes.exists[address] = True
        writes.balances[address] = record.balance
        writes.nonces[address] = record.nonce
        if record.code_hash != EMPTY_SHA3:
            writes.code_hashes[address] = record.code_hash
            writes.codes[record.code_hash] = code
        if storage:
            writes.storage[address] = dict(storage)
    return writes


def update_state_root(store: Any, root: bytes, writes: Writes) -> bytes:
    """The state root after a block's net writes, the state and storage tries updated in one pass each
    (`devnet.trie.update_root`); new trie nodes and new code go into `store`, where `AccountDB` reads them.

    The equivalence tests hold every root to stock py-evm's (`devnet.reference`).
    """
    for code_hash, code in writes.codes.items():
        if code_hash != EMPTY_SHA3:
            store[code_hash] = code
    changes: dict[bytes, Change] = {}
    for address in writes.touched_addresses():
        if writes.exists.get(address) is False:
            changes[nibbles(keccak(address))] = b""
        else:
            changes[nibbles(keccak(address))] = functools.partial(_account_after, store, address, writes)
    return update_root(store, root, changes)


def _account_after(store: Any, address: bytes, writes: Writes, old: bytes | None) -> bytes:
    storage_root: bytes
    if old is None:
        nonce, balance, storage_root, code_hash = 0, 0, BLANK_ROOT_HASH, EMPTY_SHA3
    else:
        fields = rlp.decode(old)
        nonce, balance = big_endian_to_int(fields[0]), big_endian_to_int(fields[1])
        storage_root, code_hash = fields[2], fields[3]
    if address in writes.wiped:
        storage_root = BLANK_ROOT_HASH
    slots = writes.storage.get(address)
    if slots:
        storage_root = update_root(
            store,
            storage_root,
            {
                nibbles(keccak(slot.to_bytes(32, "big"))): encode(value) if value else b""
                for slot, value in slots.items()
            },
        )
    return encode(
        [
            writes.nonces.get(address, nonce),
            writes.balances.get(address, balance) + writes.credits.get(address, 0),
            storage_root,
            writes.code_hashes.get(address, code_hash),
        ]
    )


def flat_state_from_accounts(
    accounts: Iterable[tuple[bytes, AccountRecord, bytes, dict[int, int]]],
) -> FlatState:
    """Genesis or a loaded dump: (address, record, code, storage) rows."""
    state = FlatState()
    for address, record, code, storage in accounts:
        state.accounts[address] = record
        if code:
            state.codes[record.code_hash] = code
        if storage:
            state.storage[address] = {slot: value for slot, value in storage.items() if value}
    return state


__all__ = [
    "BALANCE",
    "BLANK_ROOT_HASH",
    "CODE",
    "EMPTY_ACCOUNT",
    "EXISTS",
    "NONCE",
    "STORAGE",
    "AccountRecord",
    "BlockView",
    "FlatState",
    "RecordingAccountDB",
    "RecordingState",
    "Writes",
    "genesis_writes",
    "update_state_root",
    "flat_state_from_accounts",
]

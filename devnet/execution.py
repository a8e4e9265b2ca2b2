"""Executing one transaction against a block view: the unit of work every scheduler hands out."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

import rlp
from coincurve import PublicKey
from eth._utils.address import generate_contract_address
from eth.abc import SignedTransactionAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks.prague import PragueVM
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth_hash.auto import keccak
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import ValidationError

from devnet.state import BlockView, FlatState, Key, RecordingState, Writes
from devnet.trie import encode


@dataclass(frozen=True)
class BlockContext:
    """What a transaction can see of its block; plain data so it can be sent to worker processes."""

    number: int
    timestamp: int
    coinbase: bytes
    gas_limit: int
    base_fee: int
    chain_id: int
    prev_randao: bytes
    prev_hashes: tuple[bytes, ...]  # newest first, at most 256

    def execution_context(self) -> ExecutionContext:
        return _execution_context(self)


@functools.lru_cache(maxsize=8)
def _execution_context(self: BlockContext) -> ExecutionContext:
    """One per block, shared by its transactions (building the 256 ancestor hashes each time showed up)."""
    return ExecutionContext(
        coinbase=Address(self.coinbase),
        timestamp=self.timestamp,
        block_number=BlockNumber(self.number),
        difficulty=0,
        mix_hash=Hash32(self.prev_randao),
        gas_limit=self.gas_limit,
        prev_hashes=[Hash32(h) for h in self.prev_hashes],
        chain_id=self.chain_id,
        base_fee_per_gas=self.base_fee,
        excess_blob_gas=0,
    )


@dataclass(slots=True)
class TxOutcome:
    """One execution of one transaction: its read set (values seen), write set and receipt material.

    `valid` is False when the transaction could not be included in this state (bad nonce, not enough
    balance for gas): it is then dropped from the block, unless a re-execution against newer state says
    otherwise.
    """

    index: int
    valid: bool
    reads: dict[Key, Any]
    writes: Writes
    gas_used: int = 0
    success: bool = False
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...] = ()
    output: bytes = b""
    contract_address: bytes | None = None
    invalid_reason: str = ""
    seconds: float = 0.0
    # the executor slot that produced it (parallel schedulers); None: the coordinator
    worker: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Workers send every outcome to the coordinator, which unpickles them in its serial loop: positional
        # fields load about twice as fast as the state dict a dataclass pickles by default.
        return (
            TxOutcome,
            (
                self.index,
                self.valid,
                self.reads,
                self.writes,
                self.gas_used,
                self.success,
                self.logs,
                self.output,
                self.contract_address,
                self.invalid_reason,
                self.seconds,
                self.worker,
            ),
        )


def decode_transaction(raw: bytes) -> SignedTransactionAPI:
    """Legacy, EIP-2930, EIP-1559 (and later typed) transactions from their wire encoding."""
    return PragueTransactionBuilder.decode(raw)


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def signing_hash_and_signature(raw: bytes) -> tuple[bytes, bytes] | None:
    """The hash a transaction's sender signed and its 65-byte signature (r, s, recovery id), read straight from
    the wire encoding of a legacy (with or without EIP-155), EIP-2930 or EIP-1559 transaction; None for any other
    type or any signature py-evm would refuse (zero or out-of-range r, high s), which py-evm then handles and
    explains. The same message py-evm signs, without building its transaction objects (about 100 us a
    transaction, most of the time `eth_sendRawTransaction` spent in Python)."""
    if not raw:
        return None
    if raw[0] >= 0xC0:
        fields = rlp.decode(raw)
        if len(fields) != 9 or not all(isinstance(f, bytes) for f in fields):
            return None
        v = int.from_bytes(fields[6], "big")
        if v in (27, 28):
            message, recovery = encode(fields[:6]), v - 27
        elif v >= 35:
            message, recovery = encode([*fields[:6], (v - 35) // 2, b"", b""]), (v - 35) % 2
        else:
            return None
    elif raw[0] in (1, 2):
        fields = rlp.decode(raw[1:])
        if len(fields) != (11 if raw[0] == 1 else 12):
            return None
        recovery = int.from_bytes(fields[-3], "big")
        if recovery > 1:
            return None
        message = raw[:1] + encode(fields[:-3])
    else:
        return None
    r, s = int.from_bytes(fields[-2], "big"), int.from_bytes(fields[-1], "big")
    if not (0 < r < SECP256K1_N and 0 < s <= SECP256K1_N // 2):
        return None
    return bytes(keccak(message)), r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes((recovery,))


def recovered_sender(raw: bytes) -> bytes | None:
    """The sender of a raw transaction, recovered with coincurve from `signing_hash_and_signature`; None where that
    does not apply or the signature recovers no key (py-evm then recovers, or says why not)."""
    signed = signing_hash_and_signature(raw)
    if signed is None:
        return None
    try:
        public_key = PublicKey.from_signature_and_message(signed[1], signed[0], hasher=None)
    except ValueError:
        return None
    return bytes(keccak(public_key.format(compressed=False)[1:])[12:])


def decode_pending(raw: bytes) -> tuple[SignedTransactionAPI, bytes, bytes]:
    """(transaction, hash, sender) of a raw transaction: decoded by py-evm (whose errors are the node's answer),
    the hash the keccak of its wire bytes, the sender from `recovered_sender` or else py-evm's own recovery."""
    transaction = decode_transaction(raw)
    sender = recovered_sender(raw)
    if sender is None:
        sender = bytes(transaction.sender)
    else:
        _fill_sender(transaction, sender)
    return transaction, bytes(keccak(raw)), sender


def decode_with_sender(raw: bytes, sender: bytes) -> SignedTransactionAPI:
    """Decode a transaction whose sender the coordinator already recovered (recovery costs ~0.1 ms)."""
    transaction = decode_transaction(raw)
    _fill_sender(transaction, sender)
    return transaction


def _fill_sender(transaction: SignedTransactionAPI, sender: bytes) -> None:
    """Give py-evm's transaction its sender, so that its cached_property never recovers it again."""
    try:
        transaction.__dict__["sender"] = Address(sender)
    except AttributeError:
        pass


def execute_transaction(
    index: int,
    transaction: SignedTransactionAPI,
    base: FlatState,
    overlay: Writes | None,
    context: BlockContext,
    view: BlockView | None = None,
) -> TxOutcome:
    started = time.perf_counter()
    state = RecordingState(
        view if view is not None else BlockView(base, overlay), context.execution_context()
    )
    recorder = state.recorder
    try:
        if transaction.gas > context.gas_limit:
            raise ValidationError("transaction gas exceeds the block gas limit")
        computation = state.apply_transaction(transaction)
    except ValidationError as exc:
        return TxOutcome(
            index=index,
            valid=False,
            reads=recorder.reads,
            writes=Writes(),
            invalid_reason=str(exc),
            seconds=time.perf_counter() - started,
        )
    contract_address = None
    if transaction.to == CREATE_CONTRACT_ADDRESS and not computation.is_error:
        contract_address = generate_contract_address(transaction.sender, transaction.nonce)
    # py-evm erases return data on errors other than REVERT, so this is the revert payload or the output.
    output = computation.output
    return TxOutcome(
        index=index,
        valid=True,
        reads=recorder.reads,
        writes=recorder.writes(),
        gas_used=PragueVM.finalize_gas_used(transaction, computation),
        success=not computation.is_error,
        logs=tuple(computation.get_log_entries()),
        output=bytes(output),
        contract_address=contract_address,
        seconds=time.perf_counter() - started,
    )


def first_stale_read(outcome: TxOutcome, view: BlockView) -> Key | None:
    """Block-STM validation by value: the first key whose value changed since the execution read it.

    Comparing values rather than versions is sound because execution is deterministic in what it reads.
    """
    read = view.read
    for key, value in outcome.reads.items():
        if read(key) != value:
            return key
    return None

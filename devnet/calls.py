"""`eth_call` and `eth_estimateGas`: a transaction run without a signature, a fee or a block.

Calls at the head run against the flat replica through the recording state (cheap, no trie walk); calls at
past blocks run on py-evm's trie-backed state at that block's root, which stays readable because the node
store never deletes trie nodes.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth.abc import ComputationAPI, SignedTransactionAPI, StateAPI
from eth.constants import CREATE_CONTRACT_ADDRESS
from eth.exceptions import Revert
from eth.vm.forks.prague.state import PragueState
from eth.vm.forks.prague.transactions import PragueTransactionBuilder
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address
from eth_utils import ValidationError

from devnet.chain import Block, Chain
from devnet.execution import BlockContext
from devnet.state import STORAGE, BlockView, RecordingState

ZERO_ADDRESS = b"\x00" * 20


@dataclass(frozen=True)
class CallRequest:
    sender: bytes | None
    to: bytes | None
    gas: int | None
    value: int
    data: bytes


class CallReverted(Exception):
    """The call reverted: `data` is the revert payload (a custom error, Error(string) or Panic(uint256))."""

    def __init__(self, data: bytes, message: str = "execution reverted") -> None:
        super().__init__(message)
        self.data = data
        self.message = message


class CallFailed(Exception):
    """The call could not run or hit a VM error other than REVERT (out of gas, invalid opcode...)."""


def _state_for(chain: Chain, block: Block) -> tuple[StateAPI, BlockContext]:
    header = block.header
    context = BlockContext(
        number=int(header.block_number),
        timestamp=int(header.timestamp),
        coinbase=bytes(header.coinbase),
        gas_limit=int(header.gas_limit),
        base_fee=0,  # as geth does for calls without a gas price: no fee check, GASPRICE reads 0
        chain_id=chain.config.chain_id,
        prev_randao=bytes(header.mix_hash),
        prev_hashes=tuple(b.hash for b in reversed(chain.blocks[max(0, block.number - 256) : block.number])),
    )
    if block is chain.head:
        return RecordingState(BlockView(chain.flat), context.execution_context()), context
    state = PragueState(chain.db, context.execution_context(), header.state_root)
    return state, context


def _transaction(request: CallRequest, state: StateAPI, gas: int) -> SignedTransactionAPI:
    sender = request.sender or ZERO_ADDRESS
    unsigned = PragueTransactionBuilder.create_unsigned_transaction(
        nonce=state.get_nonce(Address(sender)),
        gas_price=0,
        gas=gas,
        to=Address(request.to) if request.to is not None else CREATE_CONTRACT_ADDRESS,
        value=request.value,
        data=request.data,
    )
    return SpoofTransaction(unsigned, from_=Address(sender))  # type: ignore[return-value]


def _run(state: StateAPI, transaction: SignedTransactionAPI) -> ComputationAPI:
    snapshot = state.snapshot()
    try:
        return state.apply_transaction(transaction)
    finally:
        state.revert(snapshot)


def _raise_if_error(computation: ComputationAPI) -> None:
    if not computation.is_error:
        return
    if isinstance(computation.error, Revert):
        raise CallReverted(bytes(computation.output))
    raise CallFailed(f"execution failed: {computation.error!r}")


def _execute(state: StateAPI, request: CallRequest, gas: int) -> tuple[SignedTransactionAPI, ComputationAPI]:
    """Run the request once with `gas` and leave the state as it was; a failure raises as the RPC reports it."""
    transaction = _transaction(request, state, gas)
    try:
        computation = _run(state, transaction)
    except ValidationError as exc:
        raise CallFailed(str(exc)) from exc
    _raise_if_error(computation)
    return transaction, computation


def call(chain: Chain, request: CallRequest, block: Block) -> bytes:
    with chain.lock:
        state, context = _state_for(chain, block)
        _, computation = _execute(state, request, request.gas if request.gas is not None else context.gas_limit)
        return bytes(computation.output)


def estimate_gas(chain: Chain, request: CallRequest, block: Block) -> int:
    """Smallest gas limit (within 1/64 plus a little) that runs without error, by binary search."""
    with chain.lock:
        state, context = _state_for(chain, block)
        cap = request.gas if request.gas is not None else context.gas_limit
        transaction, computation = _execute(state, request, cap)
        used = transaction.gas - computation.get_gas_remaining() + computation.data_floor_gas
        low, high = max(used - 1, transaction.intrinsic_gas - 1), cap
        guess = min(cap, used + used // 63 + 2300)
        attempts = [guess, used]  # usually `used` itself suffices; the 1/64 rule can need more
        while high - low > max(64, low // 1000):
            gas = attempts.pop() if attempts else (low + high) // 2
            if _succeeds(state, request, gas):
                high = gas
            else:
                low = gas
        return high


def create_access_list(
    chain: Chain, request: CallRequest, block: Block
) -> tuple[list[tuple[bytes, list[int]]], int]:
    """The accounts and slots a transaction touches (EIP-2930), from the recording state's read and
    write sets; the sender, the recipient and precompiles are left out, as geth does."""
    with chain.lock:
        if block is not chain.head:
            raise CallFailed("eth_createAccessList is served at the head block only")
        state, context = _state_for(chain, block)
        assert isinstance(state, RecordingState)  # noqa: S101 - the head is served by the recording state
        transaction, computation = _execute(
            state, request, request.gas if request.gas is not None else context.gas_limit)
        recorder = state.recorder
        touched: dict[bytes, set[int]] = {}
        for key in list(recorder.reads) + list(recorder.writes().keys()):
            slots = touched.setdefault(bytes(key[1]), set())
            if key[0] == STORAGE:
                slots.add(int(key[2]))
        excluded = {request.sender or ZERO_ADDRESS, request.to or b"", bytes(context.coinbase)}
        excluded |= {bytes(address) for address in computation.precompiles}
        entries = [
            (address, sorted(slots))
            for address, slots in sorted(touched.items())
            if address not in excluded or slots
        ]
        used = transaction.gas - computation.get_gas_remaining() + computation.data_floor_gas
        return entries, int(used)


def _succeeds(state: StateAPI, request: CallRequest, gas: int) -> bool:
    try:
        computation = _run(state, _transaction(request, state, gas))
    except ValidationError:
        return False
    return not computation.is_error

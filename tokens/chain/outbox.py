"""The transaction outbox: sign, send, re-send, replace and confirm the intents `tokens.intents` wrote.

One worker at a time works one signer (chain id, key): a PostgreSQL session advisory lock per signer, released
when the worker ends or its connection dies, so a second worker skips that signer instead of signing twice. Within
it, the signer's next nonce is the `SignerNonce` row (locked with select_for_update while a nonce is taken),
reconciled with the node's pending count at the start of every pass and after any error.

The life of an intent:
- PENDING, once what it depends on is CONFIRMED: its builder (`tokens.chain.builders`) gives the call; gas is
  estimated (a revert there fails the intent with the decoded reason, nothing sent); fees come from
  eth_feeHistory; the signed bytes are stored as a `ChainTransaction` and the intent becomes SIGNED with its
  nonce, in one database transaction, before anything is broadcast.
- SIGNED: a receipt of any attempt at the intent's nonce makes it MINED. Without one: if the node no longer
  knows the newest attempt it is broadcast again (the same bytes, the same hash); if it is older than
  CHAIN_REPLACE_AFTER, or the node called it underpriced, a replacement is signed at the same nonce with both
  fees raised by at least 12.5% (a new attempt row). If the nonce was used by a transaction that is none of ours,
  the intent goes back to PENDING and is signed again at a fresh nonce.
- MINED: once CHAIN_CONFIRMATIONS blocks are on top of its block (and the receipt is still there with the same
  block hash; otherwise it is SIGNED again), CONFIRMED and its `on_confirmed` hook run in one transaction; a
  receipt with status 0 makes it FAILED instead, with the reason replayed from the node and the `on_failed` hook.

Fault injection for tests: TRANCHE_OUTBOX_CRASH_AT=after_sign|after_broadcast makes the process kill itself
(SIGKILL) right after a signed attempt is committed, or right after it was broadcast.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import logging
import os
import pkgutil
import signal
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from eth_abi import decode
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions import TypedTransaction
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from hexbytes import HexBytes
from web3 import Web3

from contracts import load_artifact
from contracts.artifacts import artifact_names
from tokens.chain import builders, client, keys
from tokens.choices import IntentState
from tokens.models import ChainIntent, ChainTransaction, SignerNonce

logger = logging.getLogger(__name__)

CRASH_ENV = "TRANCHE_OUTBOX_CRASH_AT"
FEE_HISTORY_BLOCKS = 10
PRIORITY_PERCENTILE = 50
MIN_PRIORITY_FEE = 10**8  # 0.1 gwei: a tip no busy chain ignores for long; the replacement raises it anyway
GAS_MARGIN = (6, 5)  # 20% above the estimate
MAX_ROUNDS = 20  # a pass repeats while intents move (a confirmation frees the next step), at most this often

KNOWN_ANSWERS = ("already known", "known transaction", "already imported", "alreadyknown")
UNDERPRICED_ANSWERS = ("underpriced", "fee too low", "less than block base fee", "max fee per gas less than")
NONCE_TOO_LOW = "nonce too low"


class NodeError(Exception):
    """A JSON-RPC error answer."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.method = method
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        raw = error.get("data")
        self.data = bytes.fromhex(raw[2:]) if isinstance(raw, str) and raw.startswith("0x") else b""
        super().__init__(f"{method}: {self.message}")

    @property
    def reverted(self) -> bool:
        return self.code == 3 or "revert" in self.message.lower()


@dataclass(frozen=True)
class Fees:
    max_fee: int
    priority: int


def _crash_point(name: str) -> None:
    """Fault injection: the tests kill the worker here (see the module's docstring). Never set in production."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


# ------------------------------------------------------------------------------------------ the node


class Node:
    """The few JSON-RPC calls the outbox makes, raw, so that error answers keep their code and data."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def call(self, method: str, params: list[Any]) -> Any:
        reply = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in reply:
            raise NodeError(method, dict(reply["error"]))
        return reply.get("result")

    def nonce(self, address: str, block: str) -> int:
        return int(self.call("eth_getTransactionCount", [address, block]), 16)

    def head(self) -> int:
        return int(self.call("eth_blockNumber", []), 16)

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        receipt: dict[str, Any] | None = self.call("eth_getTransactionReceipt", [tx_hash])
        return receipt

    def knows(self, tx_hash: str) -> bool:
        return self.call("eth_getTransactionByHash", [tx_hash]) is not None

    def send(self, raw: bytes) -> str:
        return str(self.call("eth_sendRawTransaction", ["0x" + raw.hex()]))

    def estimate_gas(self, request: dict[str, Any]) -> int:
        return int(self.call("eth_estimateGas", [request]), 16)

    def fees(self) -> Fees:
        """EIP-1559 fees: the median of recent blocks' median tips (at least MIN_PRIORITY_FEE), and a max fee of
        twice the next block's base fee plus that tip (room for six full blocks of base-fee growth)."""
        history = self.call("eth_feeHistory", [hex(FEE_HISTORY_BLOCKS), "latest", [PRIORITY_PERCENTILE]])
        base_fee = int(history["baseFeePerGas"][-1], 16)
        tips = [int(row[0], 16) for row, used in zip(history.get("reward") or [], history["gasUsedRatio"],
                                                     strict=False) if row and used]
        priority = max(int(statistics.median(tips)) if tips else 0, MIN_PRIORITY_FEE)
        return Fees(max_fee=2 * base_fee + priority, priority=priority)


def bumped(value: int) -> int:
    """At least 12.5% more (geth and most nodes want 10% to accept a replacement), and at least one wei."""
    return value + max(-(-value // 8), 1)


# ------------------------------------------------------------------------------------------ revert reasons


@functools.cache
def _custom_errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for name in artifact_names():
        for entry in load_artifact(name).abi:
            if entry.get("type") != "error":
                continue
            types = [_abi_type(param) for param in entry["inputs"]]
            selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
            errors[selector] = (entry["name"], types, [param["name"] for param in entry["inputs"]])
    return errors


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(component) for component in param["components"])
        return f"({inner}){param['type'][len('tuple'):]}"
    return str(param["type"])


def _format(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return str(to_checksum_address(value))
    return str(value)


def revert_reason(data: bytes) -> str:
    """`AccessControlUnauthorizedAccount(account=0x…, neededRole=0x00…)`, `Error: message` or `Panic(0x11)`."""
    if len(data) < 4:
        return "reverted without a reason"
    selector, payload = data[:4], data[4:]
    try:
        if selector == bytes.fromhex("08c379a0"):
            return f"Error: {decode(['string'], payload)[0]}"
        if selector == bytes.fromhex("4e487b71"):
            return f"Panic(0x{decode(['uint256'], payload)[0]:02x})"
        known = _custom_errors().get(selector)
        if known is not None:
            name, types, names = known
            values = decode(types, payload)
            return f"{name}({', '.join(f'{n}={_format(v)}' if n else _format(v) for n, v in zip(names, values, strict=True))})"
    except Exception:  # noqa: BLE001 - a reason that does not decode is still shown raw below
        logger.warning("revert data did not decode: 0x%s", data.hex())
    return f"reverted with 0x{data.hex()}"


# ------------------------------------------------------------------------------------------ the work


@functools.cache
def _discover_builders() -> None:
    """Import every module of tokens/chain, so that each purpose's `@builder`/`@on_confirmed` is registered."""
    package = importlib.import_module("tokens.chain")
    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"tokens.chain.{module.name}")


def outbox_work(*, chain_id: int | None = None, replace_after: timedelta | None = None) -> int:
    """Work every signer with unfinished intents on the configured chain; returns how many state changes were made
    (an intent going PENDING → SIGNED → MINED → CONFIRMED counts three; 0 means nothing moved).

    `replace_after` overrides settings.CHAIN_REPLACE_AFTER (tests pass timedelta(0) to replace at once).
    """
    _discover_builders()
    chain_id = settings.CHAIN_ID if chain_id is None else chain_id
    replace_after = settings.CHAIN_REPLACE_AFTER if replace_after is None else replace_after
    roles = sorted(set(ChainIntent.objects.filter(
        chain_id=chain_id, state__in=[IntentState.PENDING, IntentState.SIGNED, IntentState.MINED],
    ).values_list("role", flat=True)))
    moved = 0
    failure: Exception | None = None
    for role in roles:
        signer = Signer(chain_id, keys.signer(role, chain_id), role, Node(client.web3()), replace_after)
        with _signer_lock(chain_id, signer.address) as held:
            if not held:
                continue  # another worker is on this signer
            try:
                moved += signer.work()
            except Exception as exc:  # noqa: BLE001 - reconcile, go on with the other signers, raise at the end
                logger.exception("outbox: %s on chain %s", role, chain_id)
                failure = failure or exc
                with contextlib.suppress(Exception):
                    signer.reconcile()
    if failure is not None:
        raise failure
    return moved


@contextlib.contextmanager
def _signer_lock(chain_id: int, address: str) -> Iterator[bool]:
    digest = hashlib.blake2b(f"tranche-outbox:{chain_id}:{address.lower()}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


class Signer:
    """One key on one chain: its intents, worked in nonce order."""

    def __init__(self, chain_id: int, account: LocalAccount, role: str, node: Node,
                 replace_after: timedelta) -> None:
        self.chain_id = chain_id
        self.account = account
        self.address = str(to_checksum_address(account.address))
        self.role = role
        self.node = node
        self.replace_after = replace_after
        self.acted: set[int] = set()  # intents re-sent or replaced in this pass (once each)

    def work(self) -> int:
        self.reconcile()
        moved = 0
        for _ in range(MAX_ROUNDS):
            step = self._advance_sent() + self._sign_ready()
            moved += step
            if not step:
                break
        return moved

    # -- nonces ---------------------------------------------------------------------------------------------

    def reconcile(self) -> int:
        """The next nonce is the node's pending count, or above the nonces of our signed, unmined intents (which
        the node may have lost, or never received: they are re-sent with those nonces)."""
        pending = self.node.nonce(self.address, "pending")
        with transaction.atomic():
            row = self._nonce_row()
            in_flight = self._intents().filter(
                state__in=[IntentState.SIGNED, IntentState.MINED]).aggregate(top=Max("nonce"))["top"]
            row.next_nonce = max(pending, in_flight + 1 if in_flight is not None else 0)
            row.reconciled_at = timezone.now()
            row.save(update_fields=["next_nonce", "reconciled_at"])
            return int(row.next_nonce)

    def _nonce_row(self) -> SignerNonce:
        row, _ = SignerNonce.objects.select_for_update().get_or_create(
            chain_id=self.chain_id, address=self.address, defaults={"role": self.role})
        return row

    def _intents(self) -> Any:
        return ChainIntent.objects.filter(chain_id=self.chain_id, signer_address=self.address)

    # -- sent intents ---------------------------------------------------------------------------------------

    def _advance_sent(self) -> int:
        moved = 0
        for intent in self._intents().filter(state__in=[IntentState.SIGNED, IntentState.MINED]).order_by("nonce"):
            if intent.state == IntentState.MINED:
                moved += self._confirm(intent)
            else:
                moved += self._check_signed(intent)
        return moved

    def _attempts(self, intent: ChainIntent) -> list[ChainTransaction]:
        """This nonce's attempts, newest first (a re-armed intent keeps older nonces' attempts as history)."""
        return list(intent.attempts.filter(nonce=int(intent.nonce or 0)).order_by("-pk"))

    def _find_receipt(self, attempts: list[ChainTransaction]) -> tuple[ChainTransaction, dict[str, Any]] | None:
        for attempt in attempts:
            receipt = self.node.receipt(attempt.tx_hash)
            if receipt is not None and receipt.get("blockNumber") is not None:
                return attempt, receipt
        return None

    def _check_signed(self, intent: ChainIntent) -> int:
        attempts = self._attempts(intent)
        found = self._find_receipt(attempts)
        if found is not None:
            return self._mined(intent, *found)
        if int(intent.nonce or 0) < self.node.nonce(self.address, "latest"):
            found = self._find_receipt(attempts)  # mined in between?
            if found is not None:
                return self._mined(intent, *found)
            return self._nonce_lost(intent)
        if intent.pk in self.acted or not attempts:
            return 0
        self.acted.add(intent.pk)
        newest = attempts[0]
        underpriced = _underpriced(newest.broadcast_error)
        if not underpriced and not self.node.knows(newest.tx_hash):
            logger.info("outbox: %s dropped, broadcasting %s again", intent, newest.tx_hash)
            underpriced = self._broadcast(newest) == "underpriced"
        if underpriced or timezone.now() - newest.created_at >= self.replace_after:
            self._replace(intent, newest)
        return 0

    def _nonce_lost(self, intent: ChainIntent) -> int:
        """Another transaction (not ours) used the nonce: sign the intent again at a fresh one."""
        logger.warning("outbox: nonce %s of %s was used by another transaction", intent.nonce, self.address)
        with transaction.atomic():
            ChainIntent.objects.filter(pk=intent.pk, state=IntentState.SIGNED).update(
                state=IntentState.PENDING, nonce=None, signer_address="", updated_at=timezone.now(),
                error=f"Nonce {intent.nonce} was used by another transaction of {self.address}; signing again.")
        self.reconcile()
        return 1

    def _mined(self, intent: ChainIntent, attempt: ChainTransaction, receipt: dict[str, Any]) -> int:
        ok = int(receipt["status"], 16) == 1
        intent.state = IntentState.MINED
        intent.tx_hash = attempt.tx_hash
        intent.block_number = int(receipt["blockNumber"], 16)
        intent.block_hash = str(receipt["blockHash"])
        intent.contract_address = (
            str(to_checksum_address(receipt["contractAddress"])) if ok and receipt.get("contractAddress") else "")
        intent.save(update_fields=["state", "tx_hash", "block_number", "block_hash", "contract_address",
                                   "updated_at"])
        self._confirm(intent)
        return 1

    def _confirm(self, intent: ChainIntent) -> int:
        receipt = self.node.receipt(intent.tx_hash)
        if receipt is None or receipt.get("blockHash") != intent.block_hash:
            logger.warning("outbox: %s left block %s (reorganisation); waiting for it again", intent,
                           intent.block_number)
            ChainIntent.objects.filter(pk=intent.pk).update(
                state=IntentState.SIGNED, tx_hash="", block_number=None, block_hash="", contract_address="",
                updated_at=timezone.now())
            return 1
        if self.node.head() - int(intent.block_number or 0) < settings.CHAIN_CONFIRMATIONS:
            return 0
        if int(receipt["status"], 16) != 1:
            self._fail(intent, f"Reverted on-chain: {self._replayed_reason(intent, receipt)}")
            return 1
        with transaction.atomic():
            locked = ChainIntent.objects.select_for_update().get(pk=intent.pk)
            if locked.state != IntentState.MINED:
                return 0
            locked.state = IntentState.CONFIRMED
            locked.confirmed_at = timezone.now()
            locked.error = ""
            locked.save(update_fields=["state", "confirmed_at", "error", "updated_at"])
            hook = builders.CONFIRMED_HOOKS.get(locked.purpose)
            if hook is not None:
                hook(locked)
        return 1

    def _replayed_reason(self, intent: ChainIntent, receipt: dict[str, Any]) -> str:
        """Run the call again on the state after its block (a reverted call changed nothing there)."""
        attempt = intent.attempts.get(tx_hash=intent.tx_hash)
        fields = _decoded(attempt.raw)
        request = {"from": self.address, "data": "0x" + bytes(fields["data"]).hex(), "value": hex(fields["value"]),
                   "gas": hex(fields["gas"])}
        if fields["to"]:
            request["to"] = str(to_checksum_address(bytes(fields["to"])))
        try:
            self.node.call("eth_call", [request, receipt["blockNumber"]])
        except NodeError as exc:
            if exc.reverted:
                return revert_reason(exc.data) if exc.data else exc.message
            return exc.message
        gas_used = int(receipt["gasUsed"], 16)
        if gas_used >= int(fields["gas"]):
            return f"out of gas ({gas_used} used)"
        return "reverted without a reason"

    def _fail(self, intent: ChainIntent, error: str) -> None:
        with transaction.atomic():
            locked = ChainIntent.objects.select_for_update().get(pk=intent.pk)
            locked.state = IntentState.FAILED
            locked.error = error
            locked.save(update_fields=["state", "error", "updated_at"])
            hook = builders.FAILED_HOOKS.get(locked.purpose)
            if hook is not None:
                hook(locked)
        logger.warning("outbox: %s failed: %s", intent, error)

    # -- signing --------------------------------------------------------------------------------------------

    def _sign_ready(self) -> int:
        moved = 0
        waiting = ChainIntent.objects.filter(chain_id=self.chain_id, role=self.role, state=IntentState.PENDING)
        for intent in waiting.select_related("depends_on").order_by("pk"):
            dependency = intent.depends_on
            if dependency is not None and dependency.state == IntentState.FAILED:
                self._fail(intent, f"Not sent: {dependency.purpose} failed.")
                moved += 1
            elif dependency is None or dependency.state == IntentState.CONFIRMED:
                moved += self._sign_first(intent)
        return moved

    def _sign_first(self, intent: ChainIntent) -> int:
        build = builders.BUILDERS.get(intent.purpose)
        if build is None:
            logger.error("outbox: no builder for %s", intent.purpose)
            return 0
        try:
            call = build(intent)
        except builders.BuildRefused as exc:
            self._fail(intent, str(exc))
            return 1
        request: dict[str, Any] = {"from": self.address, "data": "0x" + call.data.hex(), "value": hex(call.value)}
        if call.to:
            request["to"] = str(to_checksum_address(call.to))
        try:
            estimate = self.node.estimate_gas(request)
        except NodeError as exc:
            if not exc.reverted:
                raise
            self._fail(intent, f"Refused before sending: {revert_reason(exc.data) if exc.data else exc.message}")
            return 1
        fees = self.node.fees()
        transaction_fields: dict[str, Any] = {
            "type": 2, "chainId": self.chain_id, "value": call.value, "data": call.data,
            "gas": estimate * GAS_MARGIN[0] // GAS_MARGIN[1],
            "maxFeePerGas": fees.max_fee, "maxPriorityFeePerGas": fees.priority,
        }
        if call.to:
            transaction_fields["to"] = to_checksum_address(call.to)
        with transaction.atomic():
            locked = ChainIntent.objects.select_for_update().get(pk=intent.pk)
            if locked.state != IntentState.PENDING:
                return 0
            row = self._nonce_row()
            transaction_fields["nonce"] = int(row.next_nonce)
            attempt = self._store(locked, transaction_fields)
            locked.state = IntentState.SIGNED
            locked.nonce = attempt.nonce
            locked.signer_address = self.address
            locked.error = ""
            locked.save(update_fields=["state", "nonce", "signer_address", "error", "updated_at"])
            row.next_nonce = attempt.nonce + 1
            row.save(update_fields=["next_nonce"])
        self._after_signing(attempt)
        return 1

    def _store(self, intent: ChainIntent, fields: dict[str, Any]) -> ChainTransaction:
        signed = self.account.sign_transaction(fields)
        return ChainTransaction.objects.create(
            intent=intent, nonce=fields["nonce"], raw=bytes(signed.raw_transaction),
            tx_hash="0x" + bytes(signed.hash).hex(), gas=fields["gas"], max_fee_per_gas=fields["maxFeePerGas"],
            max_priority_fee_per_gas=fields["maxPriorityFeePerGas"])

    def _after_signing(self, attempt: ChainTransaction) -> None:
        _crash_point("after_sign")
        self._broadcast(attempt)
        _crash_point("after_broadcast")

    def _replace(self, intent: ChainIntent, newest: ChainTransaction) -> None:
        fields = _decoded(newest.raw)
        current = self.node.fees()
        priority = max(current.priority, bumped(int(newest.max_priority_fee_per_gas)))
        max_fee = max(current.max_fee, bumped(int(newest.max_fee_per_gas)), priority)
        replacement: dict[str, Any] = {
            "type": 2, "chainId": self.chain_id, "nonce": newest.nonce, "value": fields["value"],
            "data": bytes(fields["data"]), "gas": fields["gas"], "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority,
        }
        if fields["to"]:
            replacement["to"] = to_checksum_address(bytes(fields["to"]))
        with transaction.atomic():
            attempt = self._store(intent, replacement)
        logger.info("outbox: %s replaced by %s (max fee %s, tip %s)", newest.tx_hash, attempt.tx_hash, max_fee,
                    priority)
        self._after_signing(attempt)

    def _broadcast(self, attempt: ChainTransaction) -> str:
        """Send the stored bytes; "sent" (also when the node already has them), "underpriced" or "error"."""
        outcome, error = "sent", ""
        try:
            self.node.send(bytes(attempt.raw))
        except NodeError as exc:
            message = exc.message.lower()
            if any(answer in message for answer in KNOWN_ANSWERS):
                pass
            elif NONCE_TOO_LOW in message and self.node.receipt(attempt.tx_hash) is not None:
                pass
            else:
                outcome = "underpriced" if _underpriced(message) else "error"
                error = exc.message
                logger.warning("outbox: broadcasting %s: %s", attempt.tx_hash, exc.message)
        ChainTransaction.objects.filter(pk=attempt.pk).update(broadcast_at=timezone.now(), broadcast_error=error)
        attempt.broadcast_error = error
        return outcome


def _underpriced(message: str) -> bool:
    return any(answer in message.lower() for answer in UNDERPRICED_ANSWERS)


def _decoded(raw: bytes | memoryview) -> dict[str, Any]:
    fields: dict[str, Any] = TypedTransaction.from_bytes(HexBytes(bytes(raw))).as_dict()
    return fields

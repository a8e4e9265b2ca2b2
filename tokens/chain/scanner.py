"""The event scanner: every watched contract's logs into `ChainEvent` rows and their projections.

One pass (`chain_scan`, run by beat every few seconds) per chain:

1. Compare the cursor's stored block hash with the node's. Equal: re-read the last
   `CHAIN_SCAN_SAFETY_BLOCKS` blocks below it (a shallow reorganisation is found there). Different: the chain was
   reorganised deeper than that; walk back over the blocks that hold stored events until one still has the
   node's hash, and re-read from the block after it.
2. Read from there to the head in ranges, one `eth_getLogs` per range over every contract that range concerns: a
   contract added later starts at its own `start_block` (backfill) until it has caught up with the others. The
   range halves when the node refuses it (too many results, too wide, a timeout) and grows back after successes.
3. Each log's block hash is checked against the node's header; a range answered from a chain that moved
   meanwhile is read again.
4. Per range, in one database transaction: upsert the events on (chain, tx hash, log index); an event of the
   range that the node no longer returns is marked removed; an event re-mined elsewhere is revived with its new
   block (and log index). The projections follow (`tokens.projections`), then the contracts' progress and the
   cursor move. Reading the same range again finds nothing to change, and writes nothing: an event already stored
   at the same position of a block with the same hash is not even decoded again.

New events and projection rows go in with COPY (about ten thousand a range on a backfill); see
`bench/tokens.py` for what a pass costs next to the node's own `eth_getLogs`.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import requests
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from eth_abi import decode as abi_decode
from eth_hash.auto import keccak as keccak256
from eth_utils import keccak, to_checksum_address
from web3 import Web3

from contracts import load_artifact
from tokens import projections
from tokens.chain import client
from tokens.choices import ChainEventName, ContractKind
from tokens.models import ChainEvent, ScanCursor, WatchedContract

log = logging.getLogger(__name__)

# The events kept, per kind of contract (and the artifact whose ABI decodes them).
KEPT_EVENTS: dict[str, tuple[str, frozenset[str]]] = {
    ContractKind.SALE: ("TrancheSale", frozenset({
        ChainEventName.PURCHASED, ChainEventName.CLAIMED, ChainEventName.REFUNDED,
        ChainEventName.DISTRIBUTOR_REFUNDED, ChainEventName.ALLOWLIST_UPDATED,
        ChainEventName.MERKLE_ROOT_UPDATED, ChainEventName.FINALIZED, ChainEventName.REFUND_MODE_ENTERED,
        ChainEventName.PROCEEDS_WITHDRAWN, ChainEventName.SWEPT, ChainEventName.PAUSED, ChainEventName.UNPAUSED,
    })),
    ContractKind.TOKEN: ("TrancheToken", frozenset({ChainEventName.TRANSFER})),
    ContractKind.VESTING: ("TrancheVesting", frozenset({ChainEventName.ERC20_RELEASED})),
}
GROW_AFTER = 2  # successful ranges in a row before the range doubles again
CONSISTENCY_RETRIES = 3
ADVISORY_LOCK_CLASS = 0x74726E63  # "trnc": with the chain id, the key of the one scanner that may run per chain
# Log indexes are far below this; a moved event parks here for a moment so that rows can swap places.
PARKED_LOG_INDEX = 2_000_000_000


class ScanError(RuntimeError):
    pass


class RangeRefused(ScanError):
    """The node would not answer this range (too many results, too wide, timed out): try a smaller one."""


class ChainMoved(ScanError):
    """The node kept answering from different chains; the next pass tries again."""


# ------------------------------------------------------------------------------------------ the node


class RawLog(NamedTuple):
    """One log as the node sent it (a tuple: a range holds thousands, and tuples of strings cost the garbage
    collector nothing)."""

    address: str  # lower case, as nodes send it
    topics: tuple[str, ...]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


class ChainReader(Protocol):
    """What the scanner asks of a node. `NodeReader` asks a real one over JSON-RPC; tests wrap it."""

    def head(self) -> int: ...

    def block_hashes(self, numbers: Sequence[int]) -> dict[int, str | None]: ...

    def logs(self, first: int, last: int, addresses: Sequence[str], topics: Sequence[str]) -> list[RawLog]: ...


class NodeReader:
    """Raw JSON-RPC through web3's provider: the answers are used as sent, without web3's per-field formatting
    (which costs more than the rest of the scanner on large ranges)."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _call(self, method: str, params: list[Any]) -> Any:
        try:
            reply = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except (requests.RequestException, OSError) as error:
            raise RangeRefused(f"{method}: {error}") from error
        if "error" in reply:
            raise RangeRefused(f"{method}: {reply['error']}")
        return reply.get("result")

    def head(self) -> int:
        return int(self._call("eth_blockNumber", []), 16)

    def block_hashes(self, numbers: Sequence[int]) -> dict[int, str | None]:
        if not numbers:
            return {}
        provider: Any = self.w3.provider
        batch = [("eth_getBlockByNumber", [hex(number), False]) for number in numbers]
        replies = provider.make_batch_request(batch)
        if not isinstance(replies, list):
            raise ScanError(f"eth_getBlockByNumber batch: {replies.get('error')}")
        hashes: dict[int, str | None] = {}
        for number, reply in zip(numbers, replies, strict=True):
            if "error" in reply:
                raise ScanError(f"eth_getBlockByNumber {number}: {reply['error']}")
            block = reply.get("result")
            hashes[number] = str(block["hash"]).lower() if block else None
        return hashes

    def logs(self, first: int, last: int, addresses: Sequence[str], topics: Sequence[str]) -> list[RawLog]:
        answer = self._call("eth_getLogs", [{
            "fromBlock": hex(first), "toBlock": hex(last), "address": list(addresses), "topics": [list(topics)],
        }])
        return [
            RawLog(item["address"].lower(), tuple(item["topics"]), item["data"], int(item["blockNumber"], 16),
                   item["blockHash"].lower(), item["transactionHash"].lower(), int(item["logIndex"], 16))
            for item in answer
            if not item.get("removed")
        ]


# ------------------------------------------------------------------------------------------ decoding


WordReader = Callable[[str], Any]  # 64 hex digits (one ABI word) → the value as stored


@dataclass(frozen=True)
class EventShape:
    name: str
    kind: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) of the topics after the first
    unindexed: tuple[tuple[str, str], ...]  # (name, type) of the data
    static: bool  # every data field is one 32-byte word: decoded by slicing
    topic_readers: tuple[tuple[str, WordReader], ...] = ()  # per indexed field, in order
    word_readers: tuple[tuple[str, WordReader], ...] = ()  # per data field, when `static`


def _is_word(abi_type: str) -> bool:
    if abi_type in ("address", "bool") or abi_type.startswith(("uint", "int")):
        return "[" not in abi_type
    return abi_type.startswith("bytes") and abi_type[5:].isdigit()


def _event_shapes() -> dict[str, EventShape]:
    shapes: dict[str, EventShape] = {}
    for kind, (artifact_name, kept) in KEPT_EVENTS.items():
        for entry in load_artifact(artifact_name).abi:
            if entry.get("type") != "event" or entry["name"] not in kept:
                continue
            types = ",".join(str(i["type"]) for i in entry["inputs"])
            topic = "0x" + keccak(text=f"{entry['name']}({types})").hex()
            indexed = tuple((str(i["name"]), str(i["type"])) for i in entry["inputs"] if i["indexed"])
            unindexed = tuple((str(i["name"]), str(i["type"])) for i in entry["inputs"] if not i["indexed"])
            static = all(_is_word(t) for _, t in unindexed)
            shapes[topic] = EventShape(
                entry["name"], kind, indexed, unindexed, static,
                # An indexed dynamic value (string, array) is only its hash: keep the hash.
                topic_readers=tuple((name, _word_reader(t) if _is_word(t) else _hash_word) for name, t in indexed),
                word_readers=tuple((name, _word_reader(t)) for name, t in unindexed) if static else ())
    return shapes


_shapes: dict[str, EventShape] | None = None
_checksummed: dict[str, str] = {}


def event_shapes() -> dict[str, EventShape]:
    """topic0 → the event it names, for every event the scanner keeps."""
    global _shapes  # noqa: PLW0603 - computed once from the artifacts
    if _shapes is None:
        _shapes = _event_shapes()
    return _shapes


_HIGH_NIBBLE = str.maketrans("0123456789abcdef", "\0" * 8 + "\x20" * 8)
_LETTER_BITS = int.from_bytes(b"\x40" * 40, "big")


def _address(word: str) -> str:
    """EIP-55 without eth_utils' checks (a tenth of a pass went there): a letter is upper case where the hash
    of the lower-case address has a nibble of 8 or more; letters are the ASCII bytes with 0x40 set."""
    lower = word[-40:].lower()
    checksummed = _checksummed.get(lower)
    if checksummed is None:
        body = lower.encode()
        high = int.from_bytes(keccak256(body).hex()[:40].translate(_HIGH_NIBBLE).encode(), "big")
        value = int.from_bytes(body, "big")
        checksummed = "0x" + (value - (high & ((value & _LETTER_BITS) >> 1))).to_bytes(40, "big").decode()
        _checksummed[lower] = checksummed  # emptied after each range (a payer is mostly its beneficiary)
    return checksummed


def _word_reader(abi_type: str) -> WordReader:
    """How one 32-byte ABI word of this type is stored: ints as strings, addresses checksummed."""
    if abi_type == "address":
        return _address
    if abi_type == "bool":
        return _bool_word
    if abi_type.startswith("uint"):
        return _uint_word
    if abi_type.startswith("int"):
        return _int_word
    return functools.partial(_bytes_word, 2 * int(abi_type[5:]))


def _bool_word(word: str) -> bool:
    return int(word, 16) != 0


def _uint_word(word: str) -> str:
    return str(int(word, 16))


def _int_word(word: str) -> str:
    value = int(word, 16)
    return str(value - (1 << 256) if value >= 1 << 255 else value)


def _bytes_word(digits: int, word: str) -> str:
    return "0x" + word[:digits].lower()


def _hash_word(word: str) -> str:
    return "0x" + word.lower()


def _json_value(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    return value


def decode_args(shape: EventShape, raw: RawLog) -> dict[str, Any]:
    """The log's arguments by name, as `ChainEvent.args` stores them (straight from the topics and the data: web3's
    per-log event processing costs more than the rest of a pass)."""
    args = {name: read(topic[2:]) for (name, read), topic in zip(shape.topic_readers, raw.topics[1:], strict=True)}
    if shape.static:
        data = raw.data
        for position, (name, read) in enumerate(shape.word_readers):
            args[name] = read(data[2 + 64 * position: 66 + 64 * position])
    elif shape.unindexed:
        values = abi_decode([t for _, t in shape.unindexed], bytes.fromhex(raw.data[2:]))
        for (name, _), value in zip(shape.unindexed, values, strict=True):
            args[name] = _json_value(value)
    return args


# ------------------------------------------------------------------------------------------ the pass


@dataclass
class Watched:
    row: WatchedContract
    address: str  # lower case
    first: int  # the first block this pass reads for it


@dataclass
class RangeSize:
    """The adaptive range of one chain, kept between passes in this process."""

    size: int
    successes: int = 0

    def refused(self) -> None:
        self.size = max(1, self.size // 2)
        self.successes = 0

    def answered(self, maximum: int) -> None:
        self.successes += 1
        if self.successes >= GROW_AFTER and self.size < maximum:
            self.size = min(maximum, self.size * 2)
            self.successes = 0


_range_sizes: dict[int, RangeSize] = {}


@dataclass
class Stored:
    created: int = 0
    revived: int = 0
    removed: int = 0
    created_events: list[projections.EventFacts] = field(default_factory=list)
    changed_events: list[projections.EventFacts] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return self.created + self.revived + self.removed


def chain_scan(chain_id: int, *, reader: ChainReader | None = None) -> int:
    """One pass over `chain_id`; returns how many events were created, revived or removed.

    Another pass already running on the chain (beat fires again before a long backfill ends) makes this one
    return 0 at once: an advisory lock lets one scanner per chain run.
    """
    reader = reader or NodeReader(client.web3())
    key = (ADVISORY_LOCK_CLASS << 32) | (chain_id & 0xFFFFFFFF)
    with connection.cursor() as sql:
        sql.execute("SELECT pg_try_advisory_lock(%s)", [key])
        locked = sql.fetchone()
    if not locked or not locked[0]:
        return 0
    try:
        return _scan(chain_id, reader)
    finally:
        with connection.cursor() as sql:
            sql.execute("SELECT pg_advisory_unlock(%s)", [key])


def _scan(chain_id: int, reader: ChainReader) -> int:
    contracts = list(WatchedContract.objects.filter(chain_id=chain_id).order_by("pk"))
    if not contracts:
        return 0
    head = reader.head()
    cursor = ScanCursor.objects.filter(chain_id=chain_id).first()
    rescan_from = _rescan_from(chain_id, cursor, reader, contracts)
    watched = []
    for row in contracts:
        after = row.start_block if row.backfilled_through is None else max(row.start_block,
                                                                            row.backfilled_through + 1)
        first = after if rescan_from is None else max(row.start_block, min(after, rescan_from))
        watched.append(Watched(row, row.address.lower(), first))
    maximum = max(1, settings.CHAIN_SCAN_MAX_RANGE)
    size = _range_sizes.setdefault(chain_id, RangeSize(maximum))
    size.size = min(size.size, maximum)
    topics = list(event_shapes())
    changed = 0
    start = min(w.first for w in watched)
    attempts = 0
    while start <= head:
        end = min(head, start + size.size - 1)
        included = [w for w in watched if w.first <= end]
        if not included:
            start = min(w.first for w in watched if w.first > end)
            continue
        with _collector_paused():  # one range at a time: the collector catches up between ranges
            try:
                logs = reader.logs(start, end, [w.address for w in included], topics)
            except RangeRefused as error:
                if size.size == 1:
                    raise
                size.refused()
                log.info("chain %s: blocks %s-%s refused (%s); range now %s", chain_id, start, end, error, size.size)
                continue
            hashes = reader.block_hashes(sorted({raw.block_number for raw in logs} | {end}))
            if hashes.get(end) is None or any(hashes.get(raw.block_number) != raw.block_hash for raw in logs):
                attempts += 1
                if attempts > CONSISTENCY_RETRIES:
                    raise ChainMoved(f"chain {chain_id}: blocks {start}-{end} changed while being read")
                continue
            attempts = 0
            size.answered(maximum)
            everyone = len(included) == len(watched)
            changed += _store_range(chain_id, start, end, logs, included, cursor_hash=hashes[end] if everyone else None)
            start = end + 1
    return changed


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a range is read and stored. A large range makes tens of
    thousands of objects that live until the range is stored (the node's answer, the decoded events, the rows'
    values); each batch of them set off a full collection, which walks the whole heap of a Django process (about
    0.1 s here), several times per range: a third of a backfill's time went there. Reference counting frees
    them all the same; the collector is back on before the next range. Process-wide, so a thread that finds it
    already off leaves it to whoever turned it off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _rescan_from(chain_id: int, cursor: ScanCursor | None, reader: ChainReader,
                 contracts: Sequence[WatchedContract]) -> int | None:
    """The first block of the re-read window, or None before the first pass."""
    if cursor is None:
        return None
    safety = max(1, settings.CHAIN_SCAN_SAFETY_BLOCKS)
    if reader.block_hashes([cursor.block_number]).get(cursor.block_number) == cursor.block_hash:
        return max(0, cursor.block_number - safety + 1)
    ancestor = _common_ancestor(chain_id, cursor.block_number, reader)
    first = min(c.start_block for c in contracts) if ancestor is None else ancestor + 1
    first = min(first, max(0, cursor.block_number - safety + 1))
    log.warning("chain %s: block %s is no longer on the chain; re-reading from %s", chain_id,
                cursor.block_number, first)
    return first


def _common_ancestor(chain_id: int, below: int, reader: ChainReader, batch: int = 16) -> int | None:
    """The highest block below `below` holding a stored event whose hash the node still has: every block up to
    it is unchanged, since each block's hash covers its parent's."""
    blocks = (ChainEvent.objects.filter(chain_id=chain_id, removed=False, block_number__lt=below)
              .values_list("block_number", "block_hash").distinct().order_by("-block_number"))
    checked = 0
    while True:
        page = list(blocks[checked: checked + batch])
        if not page:
            return None
        node = reader.block_hashes(sorted({number for number, _ in page}))
        for number, block_hash in page:
            if node.get(number) == block_hash:
                return int(number)
        checked += batch
        batch *= 2


# ------------------------------------------------------------------------------------------ storing a range


def _store_range(chain_id: int, first: int, last: int, logs: Sequence[RawLog], included: Sequence[Watched],
                 *, cursor_hash: str | None) -> int:
    by_address = {w.address: w.row for w in included}
    shapes = event_shapes()
    _checksummed.clear()
    with transaction.atomic():
        stored = _store_events(chain_id, first, last, logs, by_address, shapes)
        projections.events_project(created=stored.created_events, changed=stored.changed_events)
        WatchedContract.objects.filter(pk__in=[w.row.pk for w in included]).filter(
            Q(backfilled_through__isnull=True) | Q(backfilled_through__lt=last)).update(backfilled_through=last)
        for w in included:
            w.row.backfilled_through = max(last, w.row.backfilled_through or last)
        if cursor_hash is not None:
            updated = ScanCursor.objects.filter(chain_id=chain_id).exclude(
                block_number=last, block_hash=cursor_hash).update(block_number=last, block_hash=cursor_hash)
            if not updated and not ScanCursor.objects.filter(chain_id=chain_id).exists():
                ScanCursor.objects.create(chain_id=chain_id, block_number=last, block_hash=cursor_hash)
    if stored.changed:
        log.info("chain %s blocks %s-%s: %s new, %s revived, %s removed events", chain_id, first, last,
                 stored.created, stored.revived, stored.removed)
    return stored.changed


class _StoredRow(NamedTuple):
    """A stored event as the first comparison needs it (its arguments are loaded only when they must be compared)."""

    pk: int
    tx_hash: str
    log_index: int
    block_number: int
    block_hash: str
    address: str
    name: str
    removed: bool


def _store_events(chain_id: int, first: int, last: int, logs: Sequence[RawLog],
                  by_address: dict[str, WatchedContract], shapes: dict[str, EventShape]) -> Stored:
    """Make the range's rows what the node says; returns the events that changed (for the projections).

    A stored event at the same position of a block with the same hash is the node's log as it was stored (a block's
    hash covers its receipts): it is neither decoded nor compared again, so an unchanged safety window costs one
    light query. Everything else is decoded and compared with the stored rows it could be."""
    wanted: dict[tuple[str, int], tuple[RawLog, EventShape, WatchedContract]] = {}
    for raw in logs:
        watched = by_address.get(raw.address)
        shape = shapes.get(raw.topics[0].lower()) if raw.topics else None
        if (watched is None or shape is None or shape.kind != watched.kind
                or len(raw.topics) != 1 + len(shape.indexed)):
            continue
        wanted[(raw.tx_hash, raw.log_index)] = (raw, shape, watched)
    stored = Stored()
    rows = _stored_rows(chain_id, first, list(by_address))
    claimed: set[int] = set()
    reopened: list[int] = []  # same block, marked removed: the chain went back to the block it was stored from
    compare: dict[tuple[str, int], tuple[RawLog, EventShape, WatchedContract]] = {}
    for key, (raw, shape, watched) in wanted.items():
        row = rows.get(key)
        if (row is not None and row.block_hash == raw.block_hash and row.name == shape.name
                and row.address.lower() == raw.address):
            claimed.add(row.pk)
            if row.removed:
                reopened.append(row.pk)
        else:
            compare[key] = (raw, shape, watched)
    maybe_gone = any(row.pk not in claimed and not row.removed and first <= row.block_number <= last
                     for row in rows.values())
    if not compare and not reopened and not maybe_gone:
        return stored
    if not rows:  # nothing stored from the range's first block on (a first pass, a backfill): all of it is new
        stored.created_events, stored.changed_events = _events_insert(
            chain_id, [(raw, shape, watched, decode_args(shape, raw)) for raw, shape, watched in compare.values()],
            timezone.now())
        stored.created, stored.revived = len(stored.created_events), len(stored.changed_events)
        return stored
    # The rows that may change, in full: the reopened, and every unclaimed one (gone, moved, or re-mined).
    existing = _existing([*reopened, *(row.pk for row in rows.values() if row.pk not in claimed)])
    by_key = {(e.tx_hash, e.log_index): e for e in existing}
    to_update: list[ChainEvent] = [e for e in existing if e.pk in claimed]
    for event in to_update:
        event.removed = False
    unmatched: list[tuple[tuple[str, int], RawLog, EventShape, WatchedContract, dict[str, Any]]] = []
    for key, (raw, shape, watched) in compare.items():
        args = decode_args(shape, raw)
        same = by_key.get(key)
        if same is not None and same.name == shape.name and same.args == args:
            claimed.add(same.pk)
            if same.removed or same.block_hash != raw.block_hash or same.block_number != raw.block_number:
                same.removed, same.block_hash, same.block_number = False, raw.block_hash, raw.block_number
                to_update.append(same)
        else:
            unmatched.append((key, raw, shape, watched, args))
    # An event re-mined at another position of its block keeps its row: same transaction, contract and content.
    moved: list[ChainEvent] = []
    spare: dict[tuple[str, str, str], list[ChainEvent]] = defaultdict(list)
    for event in existing:
        if event.pk not in claimed and (event.tx_hash, event.log_index) not in wanted:
            spare[(event.tx_hash, event.address.lower(), event.name)].append(event)
    fresh: list[tuple[RawLog, EventShape, WatchedContract, dict[str, Any]]] = []
    for (tx_hash, log_index), raw, shape, watched, args in unmatched:
        candidates = spare.get((tx_hash, raw.address, shape.name), [])
        match = next((e for e in candidates if e.args == args), None)
        if match is not None:
            candidates.remove(match)
            claimed.add(match.pk)
            match.removed, match.block_hash, match.block_number = False, raw.block_hash, raw.block_number
            match.log_index = log_index
            moved.append(match)
        elif (tx_hash, log_index) in by_key:
            # The same position now holds another log (the transaction was mined again with another outcome):
            # the key is unique, so its row takes what the node returns now.
            event = by_key[(tx_hash, log_index)]
            claimed.add(event.pk)
            _fill(event, raw, shape, watched, args)
            event.removed = False
            to_update.append(event)
        else:
            fresh.append((raw, shape, watched, args))
    gone = [e for e in existing if e.pk not in claimed and not e.removed and first <= e.block_number <= last]
    now = timezone.now()
    for event in gone:
        event.removed, event.updated_at = True, now
    if moved:
        # Log indexes are unique per transaction: park the moved rows first so that two can swap places.
        for offset, event in enumerate(moved):
            ChainEvent.objects.filter(pk=event.pk).update(log_index=PARKED_LOG_INDEX + offset)
        to_update += moved
    if gone:
        ChainEvent.objects.filter(pk__in=[e.pk for e in gone]).update(removed=True, updated_at=now)
    for event in to_update:
        event.updated_at = now
    if to_update:
        ChainEvent.objects.bulk_update(
            to_update, ["removed", "block_hash", "block_number", "log_index", "address", "name", "args", "sale",
                        "token", "updated_at"], batch_size=1000)
    created, revived = _events_insert(chain_id, fresh, now) if fresh else ([], [])
    stored.created = len(created)
    stored.revived = len(to_update) + len(revived)
    stored.removed = len(gone)
    stored.created_events = created
    stored.changed_events = [*(_facts(e) for e in (*gone, *to_update)), *revived]
    return stored


# New events go through a temporary table: COPY is the cheapest way in. From there a plain INSERT stores them; only
# if one of them is already stored outside the blocks just compared (an event re-mined into another range: the
# unique key refuses the INSERT, whose savepoint is rolled back) does the costlier upsert run, reviving that row
# instead of duplicating it. Either statement empties the table as it reads it, so the next range (or the next pass
# in the same transaction, as in the tests) starts from an empty one; ON COMMIT DELETE ROWS truncates its file at
# each commit, so a long-lived connection's copy of it never grows. The columns a contract decides come first, so
# that each contract's part of a line is written once per range.
_STAGE = "scanner_event_stage"
_STAGE_CREATE = f"""
CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (
    tx_hash varchar(66), log_index integer, block_number bigint, block_hash varchar(66), address varchar(42),
    name varchar(40), args jsonb, sale_id bigint, token_id bigint
) ON COMMIT DELETE ROWS
"""
_STAGE_COPY = (f"COPY {_STAGE} (address, sale_id, token_id, tx_hash, log_index, block_number, block_hash, name, args) "
               "FROM STDIN")
_INSERT = """
WITH staged AS (DELETE FROM {stage} RETURNING *)
INSERT INTO {table} (chain_id, tx_hash, log_index, block_number, block_hash, address, name, args, removed, sale_id,
                     token_id, created_at, updated_at)
SELECT %s, s.tx_hash, s.log_index, s.block_number, s.block_hash, s.address, s.name, s.args, false, s.sale_id,
       s.token_id, %s, %s
FROM staged s
RETURNING id, tx_hash, log_index, true
"""
_UPSERT = """
WITH staged AS (DELETE FROM {stage} RETURNING *)
INSERT INTO {table} AS e (chain_id, tx_hash, log_index, block_number, block_hash, address, name, args, removed,
                          sale_id, token_id, created_at, updated_at)
SELECT %s, s.tx_hash, s.log_index, s.block_number, s.block_hash, s.address, s.name, s.args, false, s.sale_id,
       s.token_id, %s, %s
FROM staged s
ON CONFLICT (chain_id, tx_hash, log_index) DO UPDATE SET
    block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash, address = EXCLUDED.address,
    name = EXCLUDED.name, args = EXCLUDED.args, removed = false, sale_id = EXCLUDED.sale_id,
    token_id = EXCLUDED.token_id, updated_at = EXCLUDED.updated_at
WHERE (e.block_number, e.block_hash, e.address, e.name, e.args, e.removed, e.sale_id, e.token_id)
      IS DISTINCT FROM (EXCLUDED.block_number, EXCLUDED.block_hash, EXCLUDED.address, EXCLUDED.name, EXCLUDED.args,
                        false, EXCLUDED.sale_id, EXCLUDED.token_id)
RETURNING e.id, e.tx_hash, e.log_index, (e.xmax = 0)
"""
_json_text = json.JSONEncoder(separators=(",", ":")).encode


def _events_insert(chain_id: int, fresh: Sequence[tuple[RawLog, EventShape, WatchedContract, dict[str, Any]]],
                   now: Any) -> tuple[list[projections.EventFacts], list[projections.EventFacts]]:
    """Insert the new events, unique on (chain, tx hash, log index): a row stored outside the blocks just compared
    (an event re-mined into another range) is revived, not duplicated. Returns the created events and the revived
    ones."""
    text, null = projections.copy_text, projections.COPY_NULL
    facts: list[projections.EventFacts] = []
    lines: list[str] = []
    contracts: dict[int, str] = {}  # per watched contract: its address, sale and token, as a line starts
    for raw, shape, watched, args in fresh:
        sale_id, token_id = watched.sale_id, watched.token_id
        start = contracts.get(watched.pk)
        if start is None:
            start = contracts[watched.pk] = (f"{text(_address(raw.address))}\t"
                                             f"{null if sale_id is None else int(sale_id)}\t"
                                             f"{null if token_id is None else int(token_id)}\t")
        facts.append(projections.EventFacts(
            pk=0, chain_id=chain_id, tx_hash=raw.tx_hash, log_index=raw.log_index, block_number=raw.block_number,
            block_hash=raw.block_hash, name=shape.name, args=args, removed=False, sale_id=sale_id, token_id=token_id))
        lines.append(f"{start}{text(raw.tx_hash)}\t{raw.log_index:d}\t{raw.block_number:d}\t"
                     f"{text(raw.block_hash)}\t{text(shape.name)}\t{text(_json_text(args))}\n")
    table = ChainEvent._meta.db_table
    with connection.cursor() as sql:
        sql.execute(_STAGE_CREATE)
        projections.copy_in(sql, _STAGE_COPY, lines)
        try:
            with transaction.atomic():
                sql.execute(_INSERT.format(stage=_STAGE, table=table), [chain_id, now, now])
                returned = sql.fetchall()
        except IntegrityError:  # an event already stored: rolling back put the staged rows back for the upsert
            sql.execute(_UPSERT.format(stage=_STAGE, table=table), [chain_id, now, now])
            returned = sql.fetchall()
    by_key = {(f.tx_hash, f.log_index): f for f in facts}
    created: list[projections.EventFacts] = []
    revived: list[projections.EventFacts] = []
    for pk, tx_hash, log_index, inserted in returned:
        fact = by_key[(tx_hash, log_index)]
        fact.pk = pk
        (created if inserted else revived).append(fact)
    return created, revived


def _stored_rows(chain_id: int, first: int, addresses: Sequence[str]) -> dict[tuple[str, int], _StoredRow]:
    """Stored events of the range's contracts from its first block on (removed ones too: an event re-mined in a
    later block of the range is found again), by (tx hash, log index)."""
    rows = ChainEvent.objects.filter(chain_id=chain_id, block_number__gte=first,
                                     address__in=[_address(a) for a in addresses]).values_list(*_StoredRow._fields)
    return {(row[1], row[2]): _StoredRow(*row) for row in rows}


def _existing(pks: Sequence[int]) -> list[ChainEvent]:
    if not pks:
        return []
    fields = ("id", "tx_hash", "log_index", "block_number", "block_hash", "address", "name", "args", "removed",
              "sale_id", "token_id", "chain_id")
    return list(ChainEvent.objects.filter(pk__in=pks).only(*fields))


def _facts(event: ChainEvent) -> projections.EventFacts:
    return projections.EventFacts(
        pk=event.pk, chain_id=event.chain_id, tx_hash=event.tx_hash, log_index=event.log_index,
        block_number=event.block_number, block_hash=event.block_hash, name=event.name, args=event.args,
        removed=event.removed, sale_id=event.sale_id, token_id=event.token_id)


def _fill(event: ChainEvent, raw: RawLog, shape: EventShape, watched: WatchedContract, args: dict[str, Any]) -> None:
    event.block_number = raw.block_number
    event.block_hash = raw.block_hash
    event.address = _address(raw.address)
    event.name = shape.name
    event.args = args
    event.sale_id = watched.sale_id
    event.token_id = watched.token_id

"""The event scanner against the real devnet and PostgreSQL: purchases become rows once, passes over the same
blocks change nothing, reorganisations (shallow and deeper than the safety window) remove what was orphaned and
revive what was mined again, a contract added later is backfilled, refused ranges shrink, and a failure while
storing leaves the cursor where it was."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from accounts.models import Wallet
from tests.contracts.support import Chain, SaleUnderTest, deploy_sale, dev_accounts
from tests.factories import CompanyFactory, UserFactory
from tokens import projections
from tokens.chain import client, scanner
from tokens.choices import ContractKind, DeployStatus, SaleState
from tokens.models import ChainEvent, Claim, Purchase, Sale, SaleRefund, ScanCursor, Token, WatchedContract

pytestmark = pytest.mark.django_db
CHAIN_ID = 31337
TENTH = 10**17  # 0.1 ETH, the sale's minimum per investor


@pytest.fixture(autouse=True)
def _fresh_range_sizes() -> None:
    """The adaptive range is kept per process between passes; each test starts from the configured maximum."""
    scanner._range_sizes.clear()


@pytest.fixture
def chain(devnet: Any) -> Chain:
    return Chain(devnet)


def deploy(chain: Chain, *, watch: bool = True, symbol: str = "ACME") -> tuple[SaleUnderTest, Sale]:
    """A token and a live sale on the devnet, their rows as deployment leaves them, and (`watch`) watched."""
    accounts = dev_accounts()
    first = chain.w3.eth.block_number + 1
    deployed = deploy_sale(chain, accounts)
    deployed.allowlist(*(i.address for i in accounts.investors))
    deployed.open()
    now = timezone.now()
    token = Token.objects.create(
        company=CompanyFactory(), name="Acme Token", symbol=symbol, supply_cap=10**27,
        admin_address=accounts.company.address, chain_id=CHAIN_ID, address=deployed.token.address,
        deploy_status=DeployStatus.DEPLOYED, deploy_block=first)
    sale = Sale.objects.create(
        token=token, name="Acme sale", state=SaleState.LIVE, price=10**15, soft_cap=10**18, hard_cap=10 * 10**18,
        min_per_investor=TENTH, max_per_investor=4 * 10**18, starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1), finalize_grace=timedelta(days=1), claim_period=timedelta(days=7),
        treasury_address=accounts.treasury.address, address=deployed.sale.address, deploy_block=first)
    if watch:
        watch_sale(sale, first)
    return deployed, sale


def watch_sale(sale: Sale, start_block: int) -> None:
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=sale.token.address, kind=ContractKind.TOKEN,
                                   start_block=start_block, token=sale.token)
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=sale.address, kind=ContractKind.SALE,
                                   start_block=start_block, token=sale.token, sale=sale)


def scan() -> int:
    return scanner.chain_scan(CHAIN_ID)


def dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every row the scanner writes, in full."""
    return {
        model.__name__: list(model.objects.order_by("pk").values_list())
        for model in (ChainEvent, Purchase, Claim, SaleRefund, ScanCursor, WatchedContract, Sale)
    }


def purchases(sale: Sale) -> dict[str, Purchase]:
    return {p.tx_hash: p for p in Purchase.objects.filter(sale=sale)}


def tx(receipt: Any) -> str:
    return "0x" + bytes(receipt["transactionHash"]).hex()


def block_hash(chain: Chain, number: int) -> str:
    return "0x" + bytes(chain.w3.eth.get_block(number)["hash"]).hex()


def test_purchases_become_rows_once_and_passes_over_the_same_blocks_change_nothing(chain: Chain) -> None:
    deployed, sale = deploy(chain)
    alice, bob, carol = dev_accounts().investors[:3]
    investor = UserFactory()
    Wallet.objects.create(user=investor, address=alice.address.lower(), chain_id=CHAIN_ID, message="signed",
                          signature="0x00", verified_at=timezone.now())
    receipts = [deployed.buy(alice.address, 2 * TENTH), deployed.buy(bob.address, 3 * TENTH),
                deployed.buy(carol.address, 5 * TENTH + 7)]

    stored = scan()

    rows = purchases(sale)
    assert set(rows) == {tx(r) for r in receipts}
    first = rows[tx(receipts[0])]
    assert (first.wallet, first.payer, first.amount, first.investor) == (alice.address, alice.address, 2 * TENTH,
                                                                         investor)
    assert first.tokens == 2 * TENTH * 1000  # 0.001 ETH per token: a wei buys 1,000 base units
    assert first.block_number == receipts[0]["blockNumber"]
    assert first.investor_key == ""
    assert rows[tx(receipts[2])].investor is None
    standing = projections.sale_standing(sale)
    assert (standing["raised"], standing["buyers"], standing["purchases"]) == (10 * TENTH + 7, 3, 3)
    events = ChainEvent.objects.filter(sale=sale)
    assert events.filter(name="Purchased").count() == 3
    assert events.filter(name="AllowlistUpdated").count() == 4
    assert stored == 7
    assert ChainEvent.objects.get(tx_hash=tx(receipts[2])).args == {
        "beneficiary": carol.address, "payer": carol.address, "investorId": "0x" + "00" * 32,
        "amount": str(5 * TENTH + 7)}
    cursor = ScanCursor.objects.get(chain_id=CHAIN_ID)
    assert (cursor.block_number, cursor.block_hash) == (chain.w3.eth.block_number,
                                                         block_hash(chain, chain.w3.eth.block_number))

    before = dump()
    assert [scan(), scan(), scan()] == [0, 0, 0]
    assert dump() == before


def test_a_reorganisation_removes_orphaned_purchases_and_revives_the_ones_mined_again(chain: Chain) -> None:
    deployed, sale = deploy(chain)
    alice, bob, carol = dev_accounts().investors[:3]
    kept_early = deployed.buy(alice.address, 2 * TENTH)
    orphan = deployed.buy(bob.address, 3 * TENTH)
    kept_late = deployed.buy(carol.address, 4 * TENTH)
    scan()
    rows_before = purchases(sale)
    hashes_before = {e.tx_hash: e.block_hash for e in ChainEvent.objects.all()}

    reorg = client.rpc("devnet_reorg", [hex(3), {"exclude": [tx(orphan)]}], w3=chain.w3)
    assert len(reorg["reincluded"]) == 2

    assert scan() == 3  # two revived in the new block, one removed
    rows = purchases(sale)
    assert rows[tx(orphan)].removed
    new_block = kept_early["blockNumber"]  # both re-mined into the first new block
    for receipt in (kept_early, kept_late):
        row = rows[tx(receipt)]
        assert row.pk == rows_before[tx(receipt)].pk
        assert not row.removed
        assert row.block_number == new_block
        event = ChainEvent.objects.get(tx_hash=tx(receipt))
        assert event.block_hash == block_hash(chain, new_block) != hashes_before[tx(receipt)]
    assert ChainEvent.objects.get(tx_hash=tx(orphan)).removed
    standing = projections.sale_standing(sale)
    assert (standing["raised"], standing["buyers"], standing["purchases"]) == (6 * TENTH, 2, 2)

    before = dump()
    assert [scan(), scan(), scan()] == [0, 0, 0]
    assert dump() == before


def test_a_reorganisation_deeper_than_the_safety_window_is_caught_through_the_cursor(chain: Chain,
                                                                                       settings: Any) -> None:
    settings.CHAIN_SCAN_SAFETY_BLOCKS = 2
    deployed, sale = deploy(chain)
    alice, bob = dev_accounts().investors[:2]
    orphan = deployed.buy(alice.address, 2 * TENTH)
    kept = deployed.buy(bob.address, 3 * TENTH)
    client.rpc("evm_mine", [{"blocks": 3}], w3=chain.w3)
    scan()
    head = chain.w3.eth.block_number
    assert head - orphan["blockNumber"] == 4  # outside the two blocks every pass re-reads

    client.rpc("devnet_reorg", [hex(5), {"exclude": [tx(orphan)]}], w3=chain.w3)
    assert chain.w3.eth.block_number == head  # same height, other blocks: only the cursor's hash tells

    scan()
    rows = purchases(sale)
    assert rows[tx(orphan)].removed
    assert not rows[tx(kept)].removed
    assert rows[tx(kept)].block_number == orphan["blockNumber"]
    assert projections.sale_standing(sale)["raised"] == 3 * TENTH
    assert ScanCursor.objects.get().block_hash == block_hash(chain, head)


def test_a_purchase_orphaned_and_mined_again_after_the_scanner_moved_on_keeps_its_rows(chain: Chain,
                                                                                      settings: Any) -> None:
    """Its event is stored in a block below the ones the pass compares, so the new rows' INSERT meets it on the
    unique key: that row is revived, with its purchase, not stored twice."""
    settings.CHAIN_SCAN_SAFETY_BLOCKS = 2
    deployed, sale = deploy(chain)
    alice = dev_accounts().investors[0]
    purchase = deployed.sale.functions.buy(2 * TENTH).build_transaction({
        "from": alice.address, "value": 2 * TENTH, "nonce": chain.w3.eth.get_transaction_count(alice.address)})
    signed = alice.sign_transaction(purchase).raw_transaction
    bought = chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed))
    scan()
    stored = ChainEvent.objects.get(tx_hash=tx(bought))
    client.rpc("devnet_reorg", [hex(1), {"exclude": [tx(bought)]}], w3=chain.w3)
    client.rpc("evm_mine", [{"blocks": 3}], w3=chain.w3)
    scan()
    assert ChainEvent.objects.get(pk=stored.pk).removed
    assert Purchase.objects.get(sale=sale).removed

    again = chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed))
    assert tx(again) == tx(bought)
    assert again["blockNumber"] - settings.CHAIN_SCAN_SAFETY_BLOCKS > bought["blockNumber"]

    assert scan() == 1
    event = ChainEvent.objects.get(tx_hash=tx(bought))
    assert (event.pk, event.removed, event.block_number) == (stored.pk, False, again["blockNumber"])
    assert event.block_hash == block_hash(chain, again["blockNumber"])
    row = Purchase.objects.get(sale=sale)
    assert (row.event_id, row.removed, row.block_number) == (stored.pk, False, again["blockNumber"])
    assert projections.sale_standing(sale)["raised"] == 2 * TENTH
    before = dump()
    assert [scan(), scan()] == [0, 0]
    assert dump() == before


def test_a_contract_added_later_is_backfilled_from_its_start_block(chain: Chain) -> None:
    first, first_sale = deploy(chain)
    second_start = chain.w3.eth.block_number + 1
    second, second_sale = deploy(chain, watch=False, symbol="BETA")
    alice, bob = dev_accounts().investors[:2]
    early = second.buy(alice.address, 2 * TENTH)
    first.buy(bob.address, 3 * TENTH)
    scan()
    assert not Purchase.objects.filter(sale=second_sale).exists()
    for _ in range(3):
        client.rpc("evm_mine", [], w3=chain.w3)
    scan()
    cursor = ScanCursor.objects.get()

    watch_sale(second_sale, second_start)
    later = second.buy(bob.address, 4 * TENTH)
    scan()

    assert set(purchases(second_sale)) == {tx(early), tx(later)}
    assert ChainEvent.objects.filter(sale=second_sale, name="AllowlistUpdated").count() == 4
    assert Purchase.objects.filter(sale=first_sale).count() == 1
    assert set(WatchedContract.objects.values_list("backfilled_through", flat=True)) == {chain.w3.eth.block_number}
    assert ScanCursor.objects.get().block_number == chain.w3.eth.block_number > cursor.block_number


class NarrowNode:
    """The real node behind a provider that refuses to answer more than `widest` blocks or `most` logs at once."""

    def __init__(self, widest: int, most: int) -> None:
        self.node = scanner.NodeReader(client.web3())
        self.widest, self.most = widest, most
        self.refused = 0
        self.ranges: list[tuple[int, int]] = []

    def head(self) -> int:
        return self.node.head()

    def block_hashes(self, numbers: Any) -> dict[int, str | None]:
        return self.node.block_hashes(numbers)

    def logs(self, first: int, last: int, addresses: Any, topics: Any) -> list[scanner.RawLog]:
        if last - first + 1 > self.widest:
            self.refused += 1
            raise scanner.RangeRefused("block range too large")
        answer = self.node.logs(first, last, addresses, topics)
        if len(answer) > self.most:
            self.refused += 1
            raise scanner.RangeRefused("query returned more than the limit")
        self.ranges.append((first, last))
        return answer


def test_refused_ranges_shrink_until_the_node_answers_and_everything_is_read(chain: Chain, settings: Any) -> None:
    settings.CHAIN_SCAN_MAX_RANGE = 64
    deployed, sale = deploy(chain)
    bought = [deployed.buy(investor.address, 2 * TENTH) for investor in dev_accounts().investors]
    node = NarrowNode(widest=8, most=4)  # one block holds four AllowlistUpdated

    scanner.chain_scan(CHAIN_ID, reader=node)

    assert node.refused > 0
    assert all(last - first + 1 <= 8 for first, last in node.ranges)
    assert set(purchases(sale)) == {tx(r) for r in bought}
    assert ChainEvent.objects.filter(sale=sale, name="AllowlistUpdated").count() == 4
    assert ScanCursor.objects.get().block_number == chain.w3.eth.block_number


def test_the_cursor_moves_with_the_rows_a_failure_while_storing_leaves_both(chain: Chain) -> None:
    deployed, sale = deploy(chain)
    alice = dev_accounts().investors[0]
    scan()
    cursor = ScanCursor.objects.get()
    events = ChainEvent.objects.count()
    bought = deployed.buy(alice.address, 2 * TENTH)
    with connection.cursor() as sql:  # the database refuses the purchase row, after its event was written
        sql.execute("""
            CREATE FUNCTION refuse_purchase() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'no purchases today'; END $$;
            CREATE TRIGGER refuse_purchase BEFORE INSERT ON tokens_purchase
            FOR EACH ROW EXECUTE FUNCTION refuse_purchase();
        """)

    with pytest.raises(DatabaseError, match="no purchases today"):
        scan()

    assert ChainEvent.objects.count() == events
    assert ScanCursor.objects.get().block_number == cursor.block_number
    with connection.cursor() as sql:
        sql.execute("DROP TRIGGER refuse_purchase ON tokens_purchase; DROP FUNCTION refuse_purchase();")
    scan()
    assert set(purchases(sale)) == {tx(bought)}
    assert ScanCursor.objects.get().block_number == chain.w3.eth.block_number


def test_a_pause_moves_the_sale_and_an_orphaned_pause_undoes_it(chain: Chain) -> None:
    deployed, sale = deploy(chain)
    pause = chain.send(deployed.sale.functions.pause(), dev_accounts().platform.address)
    scan()
    sale.refresh_from_db()
    assert sale.state == SaleState.PAUSED

    client.rpc("devnet_reorg", [hex(1), {"exclude": [tx(pause)]}], w3=chain.w3)
    scan()

    sale.refresh_from_db()
    assert sale.state == SaleState.LIVE
    assert ChainEvent.objects.get(tx_hash=tx(pause)).removed


def test_a_card_purchases_refund_stores_the_distributors_part_as_its_own_event(chain: Chain) -> None:
    deployed, sale = deploy(chain)
    accounts = dev_accounts()
    alice, distributor, outsider = accounts.investors[0], accounts.distributor, accounts.outsider
    deployed.buy_for(alice.address, 3 * TENTH)  # paid by card: the distributor sent the money
    deployed.buy(alice.address, 2 * TENTH)
    deployed.close()  # below the soft cap: refund mode
    chain.send(deployed.sale.functions.enterRefundMode(), outsider.address)
    refund = chain.send(deployed.sale.functions.refund(alice.address), outsider.address)

    scan()

    event = ChainEvent.objects.get(tx_hash=tx(refund), name="DistributorRefunded")
    assert event.args == {"wallet": alice.address, "distributor": distributor.address, "amount": str(3 * TENTH)}
    assert (event.sale, event.token, event.removed) == (sale, sale.token, False)
    assert event.block_hash == block_hash(chain, refund["blockNumber"])
    # Refunded keeps the whole amount and its projection; the distributor's part has none of its own.
    refunded = SaleRefund.objects.get(sale=sale)
    assert (refunded.wallet, refunded.amount, refunded.tx_hash) == (alice.address, 5 * TENTH, tx(refund))
    assert SaleRefund.objects.count() == 1
    sale.refresh_from_db()
    assert sale.state == SaleState.FAILED

    before = dump()
    assert [scan(), scan(), scan()] == [0, 0, 0]
    assert dump() == before


def test_an_event_marked_removed_whose_block_is_canonical_again_is_revived(chain: Chain) -> None:
    """The chain went back to the block an event was stored from (same block hash): the row stands again, with
    its projection."""
    deployed, sale = deploy(chain)
    alice = dev_accounts().investors[0]
    bought = deployed.buy(alice.address, 2 * TENTH)
    scan()
    ChainEvent.objects.filter(tx_hash=tx(bought)).update(removed=True)  # as a pass during the other fork left it
    Purchase.objects.filter(tx_hash=tx(bought)).update(removed=True)
    assert projections.sale_standing(sale)["purchases"] == 0

    assert scan() == 1

    event = ChainEvent.objects.get(tx_hash=tx(bought))
    assert not event.removed
    assert event.block_hash == block_hash(chain, bought["blockNumber"])
    assert not Purchase.objects.get(tx_hash=tx(bought)).removed
    assert projections.sale_standing(sale)["raised"] == 2 * TENTH
    assert scan() == 0


def test_copy_text_escapes_what_would_end_a_value_or_a_line() -> None:
    assert projections.copy_text("0xAbC") == "0xAbC"
    assert projections.copy_text('{"note":"a\\\\b"}\tx\ny\r') == '{"note":"a\\\\\\\\b"}\\tx\\ny\\r'

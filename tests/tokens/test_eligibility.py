"""Eligibility follows compliance, on-chain: KYC decisions and wallets move the allowlist through the outbox,
reconciliation repairs drift, Merkle proofs and vouchers work against the real contract on the devnet, and Reg CF
purchases write the investment ledger once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from accounts.models import User, Wallet
from accounts.services import wallet_link, wallet_nonce_issue, wallet_remove
from compliance.audit import Actor
from compliance.models import AuditEvent, InvestmentRecord, KycApplication
from compliance.selectors import investment_limit_for
from compliance.services import kyc
from contracts import load_artifact
from contracts.sale import MINTER_ROLE, Allocation, Eligibility, SaleConfig
from contracts.vouchers import Voucher
from tests.contracts.support import error_selector
from tests.factories import CompanyFactory, UserFactory
from tests.tokens import factories
from tokens import eligibility
from tokens.chain import client, keys
from tokens.chain.eligibility import allowlist_reconcile
from tokens.choices import IntentState
from tokens.models import (
    ChainEvent,
    ChainIntent,
    Purchase,
    PurchaseVoucher,
    Sale,
    SaleEligibility,
    SaleRefund,
    Token,
)

pytestmark = pytest.mark.django_db

ETH = 10**18
USDC = 10**6
CHAIN_ID = 31337


def dev(index: int) -> str:
    return str(keys.dev_account(index).address)


INVESTOR_A, INVESTOR_B, INVESTOR_C, INVESTOR_D, OUTSIDER = (dev(i) for i in range(5, 10))


# --- the chain -----------------------------------------------------------------------------------------------------


def send(w3: Web3, function: Any, sender: str, value: int = 0) -> Any:
    receipt = w3.eth.wait_for_transaction_receipt(function.transact({"from": sender, "value": value}))
    assert receipt["status"] == 1
    return receipt


def deploy(w3: Web3, name: str, *args: Any) -> Contract:
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor(*args).transact({"from": keys.address("deployer")}))
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)


def chain_now(w3: Web3) -> int:
    return int(w3.eth.get_block("latest")["timestamp"])


def travel_to(w3: Web3, timestamp: int) -> None:
    client.rpc("evm_setNextBlockTimestamp", [timestamp], w3=w3)
    client.rpc("evm_mine", w3=w3)


def reverts(contract: Contract, name: str) -> Any:
    selector, _ = error_selector(contract.abi, name)

    class Expect:
        def __enter__(self) -> None:
            self.raises = pytest.raises(ContractCustomError)
            self.raises.__enter__()

        def __exit__(self, *exc: Any) -> bool:
            handled = self.raises.__exit__(*exc)
            data = str(self.raises.excinfo.value.data)
            assert bytes.fromhex(data.removeprefix("0x"))[:4] == selector, data
            return bool(handled)

    return Expect()


class Deployed:
    def __init__(self, w3: Web3, sale: Sale, contract: Contract, coin: Contract | None) -> None:
        self.w3, self.sale, self.contract, self.coin = w3, sale, contract, coin

    def open(self) -> None:
        travel_to(self.w3, int(self.sale.starts_at.timestamp()))

    def allowlisted(self, wallet: str) -> bool:
        return bool(self.contract.functions.allowlisted(wallet).call())

    def pay(self, wallet: str, amount: int) -> int:
        if self.coin is None:
            return amount
        send(self.w3, self.coin.functions.mint(wallet, amount), wallet)
        send(self.w3, self.coin.functions.approve(self.contract.address, amount), wallet)
        return 0

    def buy_with_voucher(self, wallet: str, amount: int, voucher: dict[str, Any]) -> Any:
        value = self.pay(wallet, amount)
        as_tuple = Voucher(investor_id=bytes.fromhex(voucher["investor_id"][2:]), wallet=voucher["wallet"],
                           max_amount=int(voucher["max_amount"]), expiry=voucher["expiry"]).as_tuple()
        signature = bytes.fromhex(voucher["signature"][2:])
        return send(self.w3, self.contract.functions.buyWithVoucher(amount, as_tuple, signature), wallet, value)

    def project_purchases(self, receipt: Any) -> list[Purchase]:
        """What the scanner does with a receipt's Purchased logs: events and purchases."""
        purchases = []
        block = self.w3.eth.get_block(receipt["blockNumber"])
        for log in self.contract.events.Purchased().process_receipt(receipt, errors=DISCARD):
            args = log["args"]
            event = ChainEvent.objects.create(
                chain_id=CHAIN_ID, tx_hash="0x" + log["transactionHash"].hex().removeprefix("0x"),
                log_index=log["logIndex"], block_number=log["blockNumber"],
                block_hash="0x" + block["hash"].hex().removeprefix("0x"), address=log["address"], name="Purchased",
                args={k: str(v) if isinstance(v, int) else ("0x" + v.hex() if isinstance(v, bytes) else v)
                      for k, v in args.items()}, sale=self.sale)
            owner = Wallet.objects.active().filter(address__iexact=args["beneficiary"]).first()
            purchases.append(Purchase.objects.create(
                sale=self.sale, event=event, wallet=args["beneficiary"], investor=owner.user if owner else None,
                block_number=log["blockNumber"], tx_hash=event.tx_hash, payer=args["payer"],
                investor_key="0x" + args["investorId"].hex(), amount=args["amount"], tokens=0))
        return purchases


def deploy_sale(w3: Web3, *, mode: str = "allowlist", exemption: str = "reg_s", stablecoin: bool = False,
                jurisdictions: list[str] | None = None, pro_rata: bool = False, accepts_card: bool = False,
                **overrides: int) -> Deployed:
    """A token and a TrancheSale deployed straight with web3 (operator: the platform's eligibility key; voucher
    signer: its voucher key), and the rows pointing at them, live. `overrides` change the caps and limits."""
    deployer = keys.address("deployer")
    start = chain_now(w3) + 100
    token = deploy(w3, "TrancheToken", "Lumen", "LUMEN", 10**9 * ETH, deployer, start + 10**6)
    coin = deploy(w3, "MockStablecoin", "Test USD", "TUSD") if stablecoin else None
    terms = ({"price": USDC // 2, "softCap": 1_000 * USDC, "hardCap": 100_000 * USDC, "minPerInvestor": 100 * USDC,
              "maxPerInvestor": 4_000 * USDC} if stablecoin else
             {"price": ETH // 1000, "softCap": ETH, "hardCap": 100 * ETH, "minPerInvestor": ETH // 10,
              "maxPerInvestor": 4 * ETH})
    terms.update(overrides)
    config = SaleConfig(
        token=token.address, paymentToken=coin.address if coin is not None else "0x" + "00" * 20,
        treasury=dev(3), admin=deployer, operator=keys.address("eligibility"), distributor=keys.address("distributor"),
        voucherSigner=keys.address("voucher"), start=start, end=start + 3_600, finalizeGracePeriod=1_000,
        claimPeriod=7 * 24 * 3600, eligibility=Eligibility[mode.upper()],
        allocation=Allocation.PRO_RATA if pro_rata else Allocation.FIRST_COME_FIRST_SERVED,
        shardCount=4 if pro_rata else 1, merkleRoot=bytes(32), **terms)
    contract = deploy(w3, "TrancheSale", config.as_tuple())
    send(w3, token.functions.grantRole(MINTER_ROLE, contract.address), deployer)
    company = CompanyFactory()
    token_row = Token.objects.create(company=company, name="Lumen", symbol="LUMEN", supply_cap=10**9 * ETH,
                                     admin_address=deployer, chain_id=CHAIN_ID, address=token.address,
                                     deploy_status="deployed")
    sale = Sale.objects.create(
        token=token_row, name="Lumen sale", state="live", payment_asset="erc20" if stablecoin else "eth",
        payment_token_address=coin.address if coin is not None else "", payment_symbol="TUSD" if stablecoin else "ETH",
        payment_decimals=6 if stablecoin else 18, price=terms["price"], soft_cap=terms["softCap"],
        hard_cap=terms["hardCap"], min_per_investor=terms["minPerInvestor"], max_per_investor=terms["maxPerInvestor"],
        starts_at=datetime.fromtimestamp(start, tz=UTC), ends_at=datetime.fromtimestamp(start + 3_600, tz=UTC),
        finalize_grace=timedelta(seconds=1_000), claim_period=timedelta(days=7), treasury_address=dev(3),
        eligibility_mode=mode, exemption=exemption, jurisdictions=jurisdictions or [], address=contract.address,
        allocation_mode="pro_rata" if pro_rata else "fcfs", shard_count=4 if pro_rata else 1,
        accepts_card=accepts_card)
    return Deployed(w3, sale, contract, coin)


def outbox_settle(w3: Web3, timeout: float = 60) -> None:
    """Run the real outbox until every intent is final (tests.tokens.factories.outbox_settle); none may fail."""
    factories.outbox_settle(w3, timeout=timeout)
    assert not ChainIntent.objects.filter(state=IntentState.FAILED).exists(), list(
        ChainIntent.objects.filter(state=IntentState.FAILED).values_list("object_key", "error"))


# --- people --------------------------------------------------------------------------------------------------------


@pytest.fixture
def officer() -> User:
    return UserFactory(is_compliance_officer=True)


def investor_with_wallet(address: str) -> User:
    user = UserFactory()
    link_wallet(user, address)
    return user


def link_wallet(user: User, address: str) -> Wallet:
    return Wallet.objects.create(user=user, address=Web3.to_checksum_address(address), chain_id=CHAIN_ID,
                                 message="signed in tests", signature="0x" + "00" * 65, verified_at=timezone.now())


def in_review(user: User, officer: User, *, country: str = "GB", income: str = "150000", net_worth: str = "80000",
              accreditation: str = "not_accredited") -> KycApplication:
    return KycApplication.objects.create(
        user=user, state="in_review", legal_name=user.full_name, country_of_residence=country,
        tax_residency=country, accreditation=accreditation, annual_income=Decimal(income),
        net_worth=Decimal(net_worth), assignee=officer, risk_level="low", submitted_at=timezone.now())


def approve(application: KycApplication, officer: User, capture: Any) -> None:
    """The real approval service; its after-commit tasks (eligibility refresh, outbox) run."""
    with capture(execute=True):
        kyc.kyc_application_approve(actor=Actor(user=officer), application=application)


def approved_with_wallet(address: str, officer: User, capture: Any, **profile: Any) -> User:
    user = investor_with_wallet(address)
    approve(in_review(user, officer, **profile), officer, capture)
    return user


def row(sale: Sale, wallet: str) -> SaleEligibility:
    return SaleEligibility.objects.get(sale=sale, wallet__iexact=wallet)


def allowlist_intents(sale: Sale) -> list[ChainIntent]:
    return list(ChainIntent.objects.filter(purpose="sale.allowlist", object_key__startswith=f"sale:{sale.pk}:"))


# --- allowlist mode ------------------------------------------------------------------------------------------------


def test_approval_allowlists_the_wallet_and_rejection_removes_it(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, jurisdictions=["GB", "FR"])
    sale = deployed.sale
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    assert (row(sale, INVESTOR_A).allowed, row(sale, INVESTOR_A).reason) == (True, "eligible")
    [intent] = allowlist_intents(sale)
    assert intent.params == {"wallets": [INVESTOR_A], "allowed": True}
    assert intent.role == "eligibility"
    outbox_settle(devnet)
    assert deployed.allowlisted(INVESTOR_A)
    assert row(sale, INVESTOR_A).on_chain is True

    # Back in review (as after an identity change) and rejected: the wallet comes off the allowlist.
    KycApplication.objects.filter(user=sam).update(state="in_review", assignee=officer)
    with django_capture_on_commit_callbacks(execute=True):
        kyc.kyc_application_reject(actor=Actor(user=officer), application=sam.kyc_application,
                                   reason="Document forged", allow_resubmission=False)
    assert (row(sale, INVESTOR_A).allowed, row(sale, INVESTOR_A).reason) == (False, "kyc_not_approved")
    assert allowlist_intents(sale)[-1].params == {"wallets": [INVESTOR_A], "allowed": False}
    outbox_settle(devnet)
    assert not deployed.allowlisted(INVESTOR_A)


def test_expiry_and_wallet_changes_follow(devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet)
    sale = deployed.sale
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    # A second wallet linked after approval is recorded but not listed: in allowlist mode the contract counts the
    # per-investor maximum per wallet, so one wallet per investor is listed.
    _, message = wallet_nonce_issue(actor=Actor(user=sam), user=sam, address=INVESTOR_B, domain="testserver",
                                    scheme="http")
    signature = "0x" + bytes(keys.dev_account(6).sign_message(encode_defunct(text=message)).signature).hex()
    with django_capture_on_commit_callbacks(execute=True):
        second = wallet_link(actor=Actor(user=sam), user=sam, message=message, signature=signature,
                             domain="testserver", scheme="http")
    outbox_settle(devnet)
    assert deployed.allowlisted(INVESTOR_A)
    assert not deployed.allowlisted(INVESTOR_B)
    assert (row(sale, INVESTOR_B).allowed, row(sale, INVESTOR_B).reason) == (False, "another_wallet_listed")
    with django_capture_on_commit_callbacks(execute=True):
        wallet_remove(actor=Actor(user=sam), wallet=second)
    assert (row(sale, INVESTOR_B).allowed, row(sale, INVESTOR_B).reason) == (False, "wallet_not_linked")
    outbox_settle(devnet)
    assert not deployed.allowlisted(INVESTOR_B)

    # The approval expires: the periodic pass takes the wallet off the allowlist.
    KycApplication.objects.filter(user=sam).update(approval_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert allowlist_reconcile() == 0  # nothing drifted: the refresh itself asks for the removal
    assert (row(sale, INVESTOR_A).allowed, row(sale, INVESTOR_A).reason) == (False, "kyc_expired")
    outbox_settle(devnet)
    assert not deployed.allowlisted(INVESTOR_A)


def test_an_investor_the_exemption_or_jurisdiction_excludes_is_never_added(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, exemption="reg_s", jurisdictions=["GB", "US"])
    sale = deployed.sale
    approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks, country="US")  # a US person
    approved_with_wallet(INVESTOR_B, officer, django_capture_on_commit_callbacks, country="DE")  # not open to DE
    approved_with_wallet(INVESTOR_C, officer, django_capture_on_commit_callbacks, country="GB")
    investor_with_wallet(INVESTOR_D)  # no KYC at all
    assert (row(sale, INVESTOR_A).allowed, row(sale, INVESTOR_A).reason) == (False, "us_person_excluded")
    assert (row(sale, INVESTOR_B).allowed, row(sale, INVESTOR_B).reason) == (False, "jurisdiction_not_open")
    assert eligibility.eligible_wallets(sale) == [INVESTOR_C]
    eligibility.eligibility_refresh(sale=sale)
    outbox_settle(devnet)
    assert [deployed.allowlisted(w) for w in (INVESTOR_A, INVESTOR_B, INVESTOR_C, INVESTOR_D)] == [
        False, False, True, False]
    assert [i.params["wallets"] for i in allowlist_intents(sale)] == [[INVESTOR_C]]


def test_batches_and_retries(devnet: Web3, officer: User, settings: Any,
                             django_capture_on_commit_callbacks: Any) -> None:
    settings.TOKENS_ALLOWLIST_BATCH = 20
    deployed = deploy_sale(devnet)
    sale = deployed.sale
    sale.state = "deploying"  # approvals arrive before the sale is deployed
    sale.save()
    wallets = []
    for _ in range(50):
        user = investor_with_wallet(Account.create().address)
        application = in_review(user, officer)
        kyc.kyc_application_approve(actor=Actor(user=officer), application=application)
        wallets.append(user.wallets.get().address)
    assert eligibility.eligibility_refresh(sale=sale) == []  # not deployed yet: nothing to do
    sale.state = "scheduled"  # the deployment's confirmation calls eligibility_refresh(sale=sale)
    sale.save()
    intents = eligibility.eligibility_refresh(sale=sale)
    assert [len(i.params["wallets"]) for i in intents] == [20, 20, 10]
    assert sorted(w for i in intents for w in i.params["wallets"]) == sorted(wallets)
    # The same refresh again (a retried task) writes nothing.
    assert eligibility.eligibility_refresh(sale=sale) == []
    assert ChainIntent.objects.filter(purpose="sale.allowlist").count() == 3
    outbox_settle(devnet)
    assert all(deployed.allowlisted(w) for w in wallets)

    # A real change, even back to a list asked for before, is a new intent each time.
    one = User.objects.get(wallets__address=wallets[0])
    for expires, allowed in ((timezone.now() - timedelta(days=1), False), (timezone.now() + timedelta(days=9), True),
                             (timezone.now() - timedelta(days=1), False)):
        KycApplication.objects.filter(user=one).update(approval_expires_at=expires)
        [intent] = eligibility.eligibility_refresh(investor=one)
        assert intent.params == {"wallets": [wallets[0]], "allowed": allowed}
        assert eligibility.eligibility_refresh(investor=one) == []
    assert ChainIntent.objects.filter(purpose="sale.allowlist").count() == 6
    assert len({i.object_key for i in ChainIntent.objects.filter(purpose="sale.allowlist")}) == 6
    outbox_settle(devnet)
    assert not deployed.allowlisted(wallets[0])
    assert deployed.allowlisted(wallets[1])


def test_reconciliation_repairs_drift_and_logs_each_repair(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet)
    sale = deployed.sale
    approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    outbox_settle(devnet)
    assert allowlist_reconcile() == 0

    # Someone with the operator key changes the allowlist by hand: an outsider in, the investor out.
    operator = keys.address("eligibility")
    receipt = send(devnet, deployed.contract.functions.updateAllowlist([OUTSIDER], True), operator)
    send(devnet, deployed.contract.functions.updateAllowlist([INVESTOR_A], False), operator)
    assert deployed.allowlisted(OUTSIDER)
    assert not deployed.allowlisted(INVESTOR_A)
    # The scanner stored the outsider's AllowlistUpdated event (the outsider has no row in the database).
    [log] = deployed.contract.events.AllowlistUpdated().process_receipt(receipt, errors=DISCARD)
    ChainEvent.objects.create(chain_id=CHAIN_ID, tx_hash="0x" + receipt["transactionHash"].hex().removeprefix("0x"),
                              log_index=log["logIndex"], block_number=receipt["blockNumber"],
                              block_hash="0x" + receipt["blockHash"].hex().removeprefix("0x"),
                              address=deployed.contract.address, name="AllowlistUpdated",
                              args={"wallet": OUTSIDER, "allowed": True}, sale=sale)

    assert allowlist_reconcile() == 2
    repairs = AuditEvent.objects.filter(action="tokens.allowlist_repair").order_by("pk")
    assert [(e.changes["wallet"], e.changes["wanted"], e.actor_label) for e in repairs] == [
        (OUTSIDER, False, "system"), (INVESTOR_A, True, "system")]
    assert row(sale, INVESTOR_A).on_chain is False
    # Until the repairs are mined, another pass asks for nothing more.
    assert allowlist_reconcile() == 0
    outbox_settle(devnet)
    assert not deployed.allowlisted(OUTSIDER)
    assert deployed.allowlisted(INVESTOR_A)
    assert allowlist_reconcile() == 0
    assert row(sale, INVESTOR_A).on_chain is True


# --- Merkle mode ----------------------------------------------------------------------------------------------------


def test_merkle_root_published_and_proofs_verify_on_chain(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, mode="merkle", jurisdictions=["GB"])
    sale = deployed.sale
    approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    approved_with_wallet(INVESTOR_C, officer, django_capture_on_commit_callbacks)
    approved_with_wallet(INVESTOR_B, officer, django_capture_on_commit_callbacks, country="FR")  # not open to FR
    outbox_settle(devnet)
    sale.refresh_from_db()
    assert sale.merkle_root == eligibility.merkle_root_of([INVESTOR_A, INVESTOR_C])
    assert "0x" + deployed.contract.functions.merkleRoot().call().hex() == sale.merkle_root
    assert eligibility.eligibility_refresh(sale=sale) == []  # same root: nothing to send

    deployed.open()
    proof = eligibility.merkle_proof(sale, INVESTOR_A)
    as_bytes = [bytes.fromhex(p[2:]) for p in proof]
    send(devnet, deployed.contract.functions.buyWithProof(ETH // 2, as_bytes), INVESTOR_A, ETH // 2)
    send(devnet, deployed.contract.functions.buyWithProof(
        ETH // 2, [bytes.fromhex(p[2:]) for p in eligibility.merkle_proof(sale, INVESTOR_C)]), INVESTOR_C, ETH // 2)
    with pytest.raises(eligibility.NotEligible):
        eligibility.merkle_proof(sale, INVESTOR_B)
    with reverts(deployed.contract, "InvalidMerkleProof"):
        send(devnet, deployed.contract.functions.buyWithProof(ETH // 2, as_bytes), INVESTOR_B, ETH // 2)


# --- voucher mode ---------------------------------------------------------------------------------------------------


def chain_moment(w3: Web3) -> datetime:
    return datetime.fromtimestamp(chain_now(w3), tz=UTC)


def test_voucher_up_to_the_maximum_and_not_one_unit_more(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    # Reg CF in a dollar stablecoin: $30,000 income, $20,000 net worth → the $2,500 floor, below the sale's 4,000.
    deployed = deploy_sale(devnet, mode="voucher", exemption="reg_cf", stablecoin=True)
    sale = deployed.sale
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks, income="30000",
                               net_worth="20000")
    other = approved_with_wallet(INVESTOR_B, officer, django_capture_on_commit_callbacks)
    assert not ChainIntent.objects.filter(purpose__startswith="sale.").exists()  # nothing on-chain in this mode
    deployed.open()

    voucher = eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))
    assert (voucher["remaining"], voucher["max_amount"]) == (str(2_500 * USDC), str(2_500 * USDC))
    assert voucher["investor_id"] == eligibility.investor_key(sam) != eligibility.investor_key(other)
    assert PurchaseVoucher.objects.filter(sale=sale, investor=sam, max_amount=2_500 * USDC).count() == 1
    with reverts(deployed.contract, "InvestorMaximumExceeded"):
        deployed.buy_with_voucher(INVESTOR_A, 2_500 * USDC + 1, voucher)
    with reverts(deployed.contract, "VoucherWalletMismatch"):
        deployed.buy_with_voucher(INVESTOR_B, 1_000 * USDC, voucher)
    with pytest.raises(eligibility.NotEligible):
        eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_B)  # another person's wallet

    receipt = deployed.buy_with_voucher(INVESTOR_A, 1_000 * USDC, voucher)
    [purchase] = deployed.project_purchases(receipt)
    with django_capture_on_commit_callbacks(execute=True):
        eligibility.purchase_ledger_record(purchase)
    assert investment_limit_for(user=sam).remaining == Decimal("1500.00")

    again = eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))
    assert (again["bought"], again["remaining"]) == (str(1_000 * USDC), str(1_500 * USDC))
    with reverts(deployed.contract, "InvestorMaximumExceeded"):
        deployed.buy_with_voucher(INVESTOR_A, 1_500 * USDC + 1, again)
    [second] = deployed.project_purchases(deployed.buy_with_voucher(INVESTOR_A, 1_500 * USDC, again))
    eligibility.purchase_ledger_record(second)
    assert investment_limit_for(user=sam).remaining == Decimal("0.00")
    with pytest.raises(eligibility.NotEligible):
        eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))


def test_expired_voucher_refused_and_ether_sale_maximum(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, mode="voucher")
    sale = deployed.sale
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    link_wallet(sam, INVESTOR_C)
    deployed.open()
    voucher = eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))
    assert voucher["max_amount"] == str(4 * ETH)
    deployed.project_purchases(deployed.buy_with_voucher(INVESTOR_A, 3 * ETH, voucher))
    # The maximum is per investor, across their wallets: the second wallet's voucher has 1 ETH of room left.
    second = eligibility.voucher_for(sale=sale, investor=sam, wallet=INVESTOR_C, now=chain_moment(devnet))
    assert second["remaining"] == str(ETH)
    with reverts(deployed.contract, "InvestorMaximumExceeded"):
        deployed.buy_with_voucher(INVESTOR_C, ETH + 1, second)
    travel_to(devnet, second["expiry"] + 1)
    with reverts(deployed.contract, "VoucherExpired"):
        deployed.buy_with_voucher(INVESTOR_C, ETH // 2, second)


# --- the Reg CF ledger ----------------------------------------------------------------------------------------------


def test_reg_cf_purchase_written_once_and_reversed_on_removal(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, mode="voucher", exemption="reg_cf", stablecoin=True)
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)  # limit $7,500
    deployed.open()
    voucher = eligibility.voucher_for(sale=deployed.sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))
    [purchase] = deployed.project_purchases(deployed.buy_with_voucher(INVESTOR_A, 1_234_567_891, voucher))
    first = eligibility.purchase_ledger_record(purchase)
    assert eligibility.purchase_ledger_record(purchase) == first
    assert first is not None
    assert first.amount == Decimal("1234.57")
    assert first.exemption == "reg_cf"
    assert InvestmentRecord.objects.filter(user=sam).count() == 1
    assert investment_limit_for(user=sam).used == Decimal("1234.57")

    Purchase.objects.filter(pk=purchase.pk).update(removed=True)  # a reorganisation orphaned it
    eligibility.purchase_ledger_record(purchase)
    eligibility.purchase_ledger_record(purchase)
    assert InvestmentRecord.objects.filter(user=sam).count() == 2
    assert investment_limit_for(user=sam).used == Decimal("0.00")

    Purchase.objects.filter(pk=purchase.pk).update(removed=False)  # mined again
    revived = eligibility.purchase_ledger_record(purchase)
    assert revived is not None
    assert revived.pk != first.pk
    assert eligibility.purchase_ledger_record(purchase) == revived
    assert InvestmentRecord.objects.filter(user=sam).count() == 3
    assert investment_limit_for(user=sam).used == Decimal("1234.57")

    # Refunded (refund mode): the amount goes back to the limit once, and comes back if the refund is orphaned.
    event = ChainEvent.objects.create(chain_id=CHAIN_ID, tx_hash="0x" + "ab" * 32, log_index=0, block_number=99,
                                      block_hash="0x" + "cd" * 32, address=deployed.contract.address,
                                      name="Refunded", args={"wallet": INVESTOR_A, "amount": "1234567891"},
                                      sale=deployed.sale)
    refund = SaleRefund.objects.create(sale=deployed.sale, event=event, wallet=INVESTOR_A, investor=sam,
                                       block_number=99, tx_hash=event.tx_hash, amount=1_234_567_891)
    eligibility.sale_refund_ledger_record(refund)
    eligibility.sale_refund_ledger_record(refund)
    assert investment_limit_for(user=sam).used == Decimal("0.01")  # paid rounds up, refunded rounds down
    SaleRefund.objects.filter(pk=refund.pk).update(removed=True)
    eligibility.sale_refund_ledger_record(refund)
    eligibility.sale_refund_ledger_record(refund)
    assert investment_limit_for(user=sam).used == Decimal("1234.57")
    assert InvestmentRecord.objects.filter(user=sam).count() == 5


def test_reg_cf_in_ether_admits_only_investors_without_a_limit(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    deployed = deploy_sale(devnet, exemption="reg_cf")
    approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    approved_with_wallet(INVESTOR_B, officer, django_capture_on_commit_callbacks, accreditation="self_certified")
    assert row(deployed.sale, INVESTOR_A).reason == "reg_cf_needs_stablecoin"
    assert eligibility.eligible_wallets(deployed.sale) == [INVESTOR_B]


def test_the_scanner_writes_a_reg_cf_purchase_to_the_ledger_once_and_a_reorganisation_reverses_it(
        devnet: Web3, officer: User, django_capture_on_commit_callbacks: Any) -> None:
    from tokens.chain.scanner import chain_scan
    from tokens.models import WatchedContract

    deployed = deploy_sale(devnet, mode="voucher", exemption="reg_cf", stablecoin=True)
    WatchedContract.objects.create(chain_id=CHAIN_ID, address=deployed.contract.address, kind="sale",
                                   start_block=devnet.eth.block_number, sale=deployed.sale)
    sam = approved_with_wallet(INVESTOR_A, officer, django_capture_on_commit_callbacks)
    deployed.open()
    voucher = eligibility.voucher_for(sale=deployed.sale, investor=sam, wallet=INVESTOR_A, now=chain_moment(devnet))
    receipt = deployed.buy_with_voucher(INVESTOR_A, 1_000 * USDC, voucher)
    for _ in range(3):
        chain_scan(CHAIN_ID)
    purchase = Purchase.objects.get(sale=deployed.sale)
    assert purchase.ledger_record is not None
    assert InvestmentRecord.objects.filter(user=sam).count() == 1
    assert investment_limit_for(user=sam).used == Decimal("1000.00")

    tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
    depth = devnet.eth.block_number - receipt["blockNumber"] + 1
    client.rpc("devnet_reorg", [hex(depth), {"exclude": [tx_hash]}], w3=devnet)
    chain_scan(CHAIN_ID)
    assert Purchase.objects.get(sale=deployed.sale).removed
    assert investment_limit_for(user=sam).used == Decimal("0.00")

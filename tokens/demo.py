"""Demo data for journeys 4 and 5: Lumen's LUMEN token and its public sale, deployed by the worker (idempotent).

The sale is paid in the devnet's test dollar (TUSD, a `MockStablecoin` anyone may mint), so that journey 5's
investors can buy with the development wallet (the faucet gives TUSD too) and by card (the platform's distributor
pays in TUSD). Its address is only known once deployed, so the demo asks the outbox for the test dollar first
(`demo.stablecoin`, `tokens/chain/demo_stablecoin.py`), and that deployment's confirmation creates the sale and
asks for LUMEN's and the sale's deployment (`demo_sale_deploy`).

`make run` keeps the devnet's chain in `.local/devnet`. When that folder is missing the devnet starts from an
empty chain, so `demo_load --chain-empty` first forgets everything the database knew about the devnet (intents,
events, purchases, addresses) and then asks for the test dollar, LUMEN and its sale again, the sale opening a
minute after its deployment is asked for. Forgetting a chain is refused for any chain but the devnet's.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from companies.choices import Role
from companies.models import Company, Membership
from compliance.audit import Actor
from equity.models import Stakeholder
from tokens import services, warrants
from tokens.chain.demo_stablecoin import PURPOSE as STABLECOIN_PURPOSE
from tokens.chain.keys import dev_account
from tokens.choices import (
    AllocationKind,
    AllocationState,
    DeployStatus,
    IntentState,
    SaleState,
    SignerRole,
    WarrantKind,
)
from tokens.intents import intent_enqueue, intent_rearm, intents_kick
from tokens.models import (
    ChainEvent,
    ChainIntent,
    ChainTransaction,
    Claim,
    Purchase,
    PurchaseVoucher,
    Sale,
    SaleEligibility,
    SaleRefund,
    ScanCursor,
    SignerNonce,
    Token,
    TokenAllocation,
    TokenWarrant,
    WatchedContract,
)
from tokens.units import to_base_units
from tokens.warrants import paid_for

# Mei's own address on the devnet (dev mnemonic account 5): stands for the company's hardware wallet, which holds
# the token's admin role once deployment hands it over.
COMPANY_ADMIN_ACCOUNT = 5
USD = 6  # the test dollar's decimals, as USDC's


def lumen_admin_address() -> str:
    return str(dev_account(COMPANY_ADMIN_ACCOUNT).address)


@transaction.atomic
def chain_forget(chain_id: int) -> None:
    """The devnet restarted empty: nothing the database says about its chain is true any more."""
    if chain_id != settings.DEVNET_CHAIN_ID:
        raise ValueError("Only the devnet's chain can be forgotten.")
    tokens = Token.objects.filter(chain_id=chain_id)
    sales = Sale.objects.filter(token__in=tokens)
    for model in (Purchase, Claim, SaleRefund):
        model.objects.filter(sale__in=sales).delete()
    PurchaseVoucher.objects.filter(sale__in=sales).delete()
    SaleEligibility.objects.filter(sale__in=sales).delete()
    ChainEvent.objects.filter(chain_id=chain_id).delete()
    WatchedContract.objects.filter(chain_id=chain_id).delete()
    ScanCursor.objects.filter(chain_id=chain_id).delete()
    ChainTransaction.objects.filter(intent__chain_id=chain_id).delete()
    intents = ChainIntent.objects.filter(chain_id=chain_id)
    intents.update(depends_on=None)
    intents.delete()
    SignerNonce.objects.filter(chain_id=chain_id).delete()
    allocations = TokenAllocation.objects.filter(token__in=tokens)
    allocations.update(vesting_address="", released=0)
    # What was delivered or vesting on the old chain is to deliver or deploy again on the new one: claimable when
    # free or paid for (a payout already made is not redone), awaiting payment when the payment was disputed.
    sent = allocations.filter(kind=AllocationKind.INVESTOR, state__in=[AllocationState.DEPLOYING,
                                                                       AllocationState.DELIVERED])
    sent.filter(paid_for()).update(state=AllocationState.CLAIMABLE)
    sent.exclude(paid_for()).update(state=AllocationState.UNPAID)
    allocations.exclude(kind=AllocationKind.INVESTOR).exclude(state=AllocationState.CANCELLED).update(
        state=AllocationState.PLANNED)
    sales.update(state=SaleState.DRAFT, address="", deploy_block=None, accepted_total=None, tokens_for_sale=None,
                 merkle_root="")
    tokens.update(deploy_status=DeployStatus.DRAFT, address="", deploy_block=None)


def load_token_demo(*, company: Company, owner: User, chain_empty: bool) -> Token:
    mei = Actor(user=owner)
    if chain_empty:
        chain_forget(settings.CHAIN_ID)
    token = Token.objects.filter(company=company, symbol="LUMEN").first()
    if token is None:
        token = services.token_create(
            actor=mei, company=company, name="Lumen", symbol="LUMEN", decimals=18,
            supply_cap=to_base_units(100_000_000, 18), admin_address=lumen_admin_address(),
            investor_pool=to_base_units(5_000_000, 18),
        )
    if token.deploy_status == DeployStatus.DRAFT:
        # Journey 4: the seed investors hold token warrants attached to their shares and SAFEs (pro-rata of the
        # investor pool); they convert when the token launches.
        for investor in Stakeholder.objects.filter(company=company, relationship="investor").order_by("pk"):
            if not TokenWarrant.objects.filter(stakeholder=investor).exists():
                warrants.warrant_issue(actor=mei, company=company, stakeholder=investor, kind=WarrantKind.PRO_RATA)
    sale = token.sales.order_by("pk").first()
    if sale is None or sale.state == SaleState.DRAFT:
        # The test dollar first; its confirmation creates the sale and asks for its deployment. One that failed
        # (the devnet was down, say) is asked for again, as sale_deploy re-arms failed steps.
        coin = intent_enqueue(chain_id=token.chain_id, purpose=STABLECOIN_PURPOSE, obj=token, role=SignerRole.DEPLOYER)
        intent_rearm(coin)
        if coin.state == IntentState.CONFIRMED and coin.contract_address:
            demo_sale_deploy(token_id=token.pk, stablecoin=coin.contract_address)  # its hook did not deploy it
        intents_kick()
    return token


@transaction.atomic
def demo_sale_deploy(*, token_id: int, stablecoin: str) -> Sale:
    """The devnet's test dollar is at `stablecoin`: LUMEN's public sale, paid in it and by card, is created (or,
    after the chain was emptied, pointed at the new one) and its deployment asked for, on behalf of the owner."""
    token = Token.objects.select_related("company").get(pk=token_id)
    owner = Membership.objects.filter(company=token.company, role=Role.OWNER).order_by("pk").first()
    mei = Actor(user=owner.user if owner is not None else None)
    now = timezone.now()
    terms = {
        "payment_asset": "erc20", "payment_token_address": stablecoin, "payment_symbol": "TUSD",
        "payment_decimals": USD, "price": to_base_units("0.25", USD), "soft_cap": to_base_units(50_000, USD),
        "hard_cap": to_base_units(500_000, USD), "min_per_investor": to_base_units(100, USD),
        "max_per_investor": to_base_units(50_000, USD), "accepts_card": True,
        "starts_at": now + timedelta(minutes=1), "ends_at": now + timedelta(days=30),
    }
    sale = token.sales.order_by("pk").first()
    if sale is None:
        sale = services.sale_create(
            actor=mei, token=token, name="LUMEN public sale", treasury_address=lumen_admin_address(),
            allocation_mode="fcfs", eligibility_mode="allowlist", exemption="reg_s", jurisdictions=[], **terms)
    elif sale.state == SaleState.DRAFT:
        sale = services.sale_update(actor=mei, sale=sale, **terms)  # (a demo from before the test dollar was ether)
    else:
        return sale  # deployed already (a confirmation seen twice)
    return services.sale_deploy(actor=mei, sale=sale)

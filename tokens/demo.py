"""Demo data for journeys 4 and 5: Lumen's LUMEN token and its public sale, deployed by the worker (idempotent).

`make run` keeps the devnet's chain in `.local/devnet`. When that folder is missing the devnet starts from an
empty chain, so `demo_load --chain-empty` first forgets everything the database knew about the devnet (intents,
events, purchases, addresses) and then asks for LUMEN's deployment again, with the sale opening a minute later.
Forgetting a chain is refused for any chain but the devnet's.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from companies.models import Company
from compliance.audit import Actor
from equity.models import Stakeholder
from tokens import services, warrants
from tokens.chain.keys import dev_account
from tokens.choices import AllocationKind, AllocationState, DeployStatus, SaleState, WarrantKind
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
ETH = 18


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


def load_token_demo(*, company: Company, owner: User, chain_empty: bool) -> Sale:
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
    sale = token.sales.order_by("pk").first()
    now = timezone.now()
    terms = {
        "starts_at": now + timedelta(minutes=1), "ends_at": now + timedelta(days=30),
    }
    if sale is None:
        sale = services.sale_create(
            actor=mei, token=token, name="LUMEN public sale", payment_asset="eth",
            price=to_base_units("0.0005", ETH), soft_cap=to_base_units(50, ETH), hard_cap=to_base_units(500, ETH),
            min_per_investor=to_base_units("0.1", ETH), max_per_investor=to_base_units(50, ETH),
            treasury_address=lumen_admin_address(), allocation_mode="fcfs", eligibility_mode="allowlist",
            exemption="reg_s", jurisdictions=[], **terms,
        )
    if token.deploy_status == DeployStatus.DRAFT:
        # Journey 4: the seed investors hold token warrants attached to their shares and SAFEs (pro-rata of the
        # investor pool); they convert when the token launches.
        for investor in Stakeholder.objects.filter(company=company, relationship="investor").order_by("pk"):
            if not TokenWarrant.objects.filter(stakeholder=investor).exists():
                warrants.warrant_issue(actor=mei, company=company, stakeholder=investor, kind=WarrantKind.PRO_RATA)
    if sale.state == SaleState.DRAFT:
        if sale.starts_at <= now:
            sale = services.sale_update(actor=mei, sale=sale, **terms)
        sale = services.sale_deploy(actor=mei, sale=sale)
    return sale

"""Reads of the token pages: a company's tokens and sales, a sale's totals from its purchases, and where one
investor stands in a sale (what they may still buy, and why not when they may not).

Totals come from `Purchase` rows with `removed=False`: a reorganised-away purchase never counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext

from accounts.models import User, Wallet
from companies.models import Company
from compliance import eligibility
from compliance.selectors import investment_limit_for
from tokens.choices import PaymentAsset, SaleState
from tokens.models import Purchase, Sale, Token
from tokens.projections import sale_standing
from tokens.units import UnitsError, to_base_units

# A sale is public once its contracts exist: before that it is the founder's draft.
PUBLIC_STATES = (SaleState.SCHEDULED, SaleState.LIVE, SaleState.PAUSED, SaleState.SUCCEEDED, SaleState.FAILED,
                 SaleState.FINALIZED)
RECENT_PURCHASES = 20
REG_CF_NEEDS_STABLECOIN = "reg_cf_needs_stablecoin"  # the code tokens.eligibility gives the same refusal


def token_list(*, company: Company) -> QuerySet[Token]:
    return Token.objects.filter(company=company).prefetch_related("sales").order_by("created_at", "pk")


def sale_get(*, company: Company, pk: int) -> Sale:
    """A sale of this company (any state), or 404: another company's sale is never found through this one."""
    return get_object_or_404(Sale.objects.select_related("token", "token__company"), token__company=company, pk=pk)


def sale_list_public(*, company: Company) -> QuerySet[Sale]:
    return Sale.objects.filter(token__company=company, state__in=PUBLIC_STATES).select_related("token")


def sale_get_public(*, slug: str, pk: int) -> Sale:
    return get_object_or_404(Sale.objects.select_related("token", "token__company"), token__company__slug=slug,
                             pk=pk, state__in=PUBLIC_STATES)


@dataclass(frozen=True)
class SaleTotals:
    raised: int  # payment base units
    tokens: int  # token base units
    buyers: int  # distinct wallets
    purchases: int
    hard_cap: int
    soft_cap: int

    @property
    def room(self) -> int:
        return max(self.hard_cap - self.raised, 0)

    @property
    def percent(self) -> int:
        """Raised against the hard cap, 0-100, for the progress bar."""
        return min(100, self.raised * 100 // self.hard_cap) if self.hard_cap else 0

    @property
    def soft_cap_percent(self) -> int:
        return min(100, self.soft_cap * 100 // self.hard_cap) if self.hard_cap else 0

    @property
    def soft_cap_reached(self) -> bool:
        return self.raised >= self.soft_cap


def sale_totals(sale: Sale) -> SaleTotals:
    """The sale's standing (`projections.sale_standing`, the one sum of its purchases) against its caps."""
    return SaleTotals(**sale_standing(sale), hard_cap=int(sale.hard_cap), soft_cap=int(sale.soft_cap))


def sale_purchase_list_recent(sale: Sale, limit: int = RECENT_PURCHASES) -> list[Purchase]:
    return list(Purchase.objects.filter(sale=sale, removed=False).order_by("-block_number", "-pk")[:limit])


def wallet_list_verified(*, user: User) -> QuerySet[Wallet]:
    """The investor's active wallets on the platform's chain: the only ones a sale accepts purchases from."""
    return Wallet.objects.active().filter(user=user, chain_id=settings.CHAIN_ID).order_by("created_at", "pk")


def investor_paid(*, sale: Sale, user: User, wallets: list[str]) -> int:
    """What the investor has paid into the sale: purchases to any of their wallets (the contract's per-investor
    maximum counts per investor, across wallets) or attributed to them."""
    lowered = [address.lower() for address in wallets]
    total = (Purchase.objects.filter(sale=sale, removed=False)
             .annotate(wallet_lower=Lower("wallet"))
             .filter(Q(wallet_lower__in=lowered) | Q(investor=user))
             .aggregate(total=Sum("amount"))["total"])
    return int(total or 0)


@dataclass(frozen=True)
class InvestorPanel:
    """Where a signed-in investor stands in a sale. Amounts in the payment asset's base units."""

    wallets: list[Wallet]
    eligibility: eligibility.Eligibility
    paid: int
    max_left: int  # per-investor maximum less what they paid
    room: int  # left under the hard cap
    reg_cf_left: int | None  # the Regulation Crowdfunding limit left, in payment units (stablecoin sales only)
    reg_cf_usd: Decimal | None  # the same limit in dollars, when one applies
    reg_cf_unconverted: bool  # a dollar limit applies to an ether sale: it cannot be converted, so no purchase
    minimum: int

    @property
    def may_buy(self) -> int:
        candidates = [self.max_left, self.room]
        if self.reg_cf_left is not None:
            candidates.append(self.reg_cf_left)
        return max(min(candidates), 0)

    @property
    def minimum_left(self) -> int:
        """The smallest purchase the contract takes now: the minimum counts against the total bought."""
        return max(self.minimum - self.paid, 0)


def investor_panel(*, sale: Sale, user: User, totals: SaleTotals, now: datetime | None = None) -> InvestorPanel:
    from payments.services import investor_profile

    now = now or timezone.now()
    wallets = list(wallet_list_verified(user=user))
    limit = investment_limit_for(user=user, now=now) if sale.exemption == eligibility.REG_CF else None
    decision = eligibility.offering_eligibility(
        investor=investor_profile(user), now=now, limit=limit,
        offering=eligibility.Offering(exemption=sale.exemption, open_to=frozenset(sale.jurisdictions)))
    paid = investor_paid(sale=sale, user=user, wallets=[wallet.address for wallet in wallets])
    reg_cf_usd = limit.remaining if limit is not None else None
    reg_cf_left: int | None = None
    unconverted = False
    if reg_cf_usd is not None:
        if sale.payment_asset == PaymentAsset.ERC20:
            # A dollar stablecoin: one unit is one dollar. Whole cents always fit a stablecoin's decimals (≥ 2).
            try:
                reg_cf_left = to_base_units(max(reg_cf_usd, Decimal(0)), sale.payment_decimals)
            except UnitsError:
                reg_cf_left = int(max(reg_cf_usd, Decimal(0)).scaleb(sale.payment_decimals))
        else:
            # A dollar limit and an ether price need an exchange rate the platform does not use; the sale's
            # eligibility (tokens.eligibility) keeps such investors off the allowlist, and the panel says why.
            unconverted = True
            if decision.eligible:
                decision = eligibility.Eligibility(eligible=False, code=REG_CF_NEEDS_STABLECOIN, message=gettext(
                    "This sale is priced in ether and your Regulation Crowdfunding limit is in dollars: without an "
                    "exchange rate the platform cannot keep you within it, so only accredited investors may buy "
                    "in it."))
    return InvestorPanel(
        wallets=wallets, eligibility=decision, paid=paid, max_left=max(int(sale.max_per_investor) - paid, 0),
        room=totals.room, reg_cf_left=reg_cf_left, reg_cf_usd=reg_cf_usd, reg_cf_unconverted=unconverted,
        minimum=int(sale.min_per_investor))

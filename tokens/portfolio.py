"""The investor's portfolio, token side (and shares valued beside it): what the payments portfolio page shows under
its own tables and the API's portfolio endpoint returns.

- Purchases per sale, from the scanner's projections of the investor's wallets (or purchases tagged with them):
  paid, tokens bought, claimed, still claimable once the sale is finalized, refunded, refundable if it failed.
- Allocations: converted warrants to claim with a verified wallet, delivered ones, and vesting ones with their
  vested, released and releasable amounts.
- On-chain balances of each token in the investor's verified wallets, from the token's Transfer events.
- Values: tokens at the last sale's price (in that sale's payment asset), shares at the last priced round's price
  per share. History: every chain event of the investor's purchases, claims, refunds and deliveries, with its
  transaction hash and block number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from accounts.models import User, Wallet
from companies.models import Company
from equity import selectors as equity_selectors
from equity.choices import RoundState
from equity.models import Round, Stakeholder
from tokens import allocations as allocation_reads
from tokens.captable import transfer_balances
from tokens.choices import AllocationState, ChainEventName, SaleState
from tokens.hybrid import VestingStatus
from tokens.models import ChainEvent, ChainIntent, Claim, Purchase, Sale, SaleRefund, Token, TokenAllocation
from tokens.warrants import holder_is


@dataclass
class SaleHolding:
    sale: Sale
    paid: int = 0  # payment base units
    tokens: int = 0  # bought, token base units
    claimed: int = 0
    refunded: int = 0  # payment base units

    @property
    def claimable(self) -> int:
        """Bought and not yet claimed, once the sale is finalized (first come, first served: what was bought;
        a pro-rata sale's contract may allocate less, and refunds the rest)."""
        return max(0, self.tokens - self.claimed) if self.sale.state == SaleState.FINALIZED else 0

    @property
    def refundable(self) -> int:
        return max(0, self.paid - self.refunded) if self.sale.state == SaleState.FAILED else 0

    @property
    def value(self) -> int:
        """The tokens at the sale's price, in payment base units."""
        return token_value(self.tokens, self.sale)


@dataclass
class AllocationHolding:
    allocation: TokenAllocation
    vesting: VestingStatus | None
    value: int | None  # at the last sale price, payment base units
    sale: Sale | None

    @property
    def can_claim(self) -> bool:
        return self.allocation.state == AllocationState.CLAIMABLE

    @property
    def can_pay_by_card(self) -> bool:
        """Waiting for its exercise price, which is at least the smallest card charge."""
        from payments.warrant_exercises import card_payable

        return self.allocation.state == AllocationState.UNPAID and card_payable(self.allocation)


@dataclass
class BalanceHolding:
    token: Token
    wallet: str
    balance: int
    value: int | None
    sale: Sale | None


@dataclass
class ShareHolding:
    company: Company
    stakeholder: Stakeholder
    fully_diluted: int
    outstanding: int
    price: Decimal | None  # of the last priced round
    round: Round | None

    @property
    def value(self) -> Decimal | None:
        return None if self.price is None else (self.price * self.fully_diluted).quantize(Decimal("0.01"))


@dataclass
class HistoryLine:
    when: datetime
    what: str
    token: Token
    amount: int  # token base units, or payment base units for payments and refunds
    in_payment: Sale | None  # the sale whose payment asset `amount` is in, when it is money
    tx_hash: str
    block_number: int | None


@dataclass
class TokenPortfolio:
    sales: list[SaleHolding] = field(default_factory=list)
    allocations: list[AllocationHolding] = field(default_factory=list)
    balances: list[BalanceHolding] = field(default_factory=list)
    shares: list[ShareHolding] = field(default_factory=list)
    history: list[HistoryLine] = field(default_factory=list)
    wallets: list[Wallet] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.sales or self.allocations or self.balances)


def token_value(tokens: int, sale: Sale | None) -> int:
    """`tokens` base units at the sale's price (per whole token), in payment base units, rounded down."""
    if sale is None:
        return 0
    return tokens * int(sale.price) // 10 ** sale.token.decimals


def last_sale(token: Token) -> Sale | None:
    """The token's latest deployed sale: its price values the token."""
    return (Sale.objects.filter(token=token).exclude(state__in=[SaleState.DRAFT, SaleState.DEPLOYING])
            .select_related("token").order_by("-starts_at", "-pk").first())


def last_round(company: Company) -> Round | None:
    return (Round.objects.filter(company=company, state=RoundState.CLOSED, price_per_share__isnull=False)
            .order_by("-closed_on", "-pk").first())


def _mine(model: type[Purchase] | type[Claim] | type[SaleRefund], user: User, addresses: Iterable[str]) -> Q:
    condition = Q(investor=user)
    for address in addresses:
        condition |= Q(wallet__iexact=address)
    return condition


def token_portfolio(*, user: User, now: datetime | None = None) -> TokenPortfolio:
    now = now or timezone.now()
    portfolio = TokenPortfolio()
    portfolio.wallets = list(Wallet.objects.active().filter(user=user).order_by("pk"))
    addresses = [w.address for w in portfolio.wallets]
    sales_cache: dict[int, Sale | None] = {}

    def sale_of(token: Token) -> Sale | None:
        if token.pk not in sales_cache:
            sales_cache[token.pk] = last_sale(token)
        return sales_cache[token.pk]

    # Purchases, claims and refunds per sale.
    by_sale: dict[int, SaleHolding] = {}
    for model in (Purchase, Claim, SaleRefund):
        rows = (model.objects.filter(_mine(model, user, addresses), removed=False)
                .select_related("sale__token", "event").order_by("block_number", "pk"))
        for row in rows:
            holding = by_sale.setdefault(row.sale_id, SaleHolding(sale=row.sale))
            token = row.sale.token
            if isinstance(row, Purchase):
                holding.paid += int(row.amount)
                holding.tokens += int(row.tokens)
                portfolio.history.append(HistoryLine(row.event.created_at, "purchase", token, int(row.amount),
                                                     row.sale, row.tx_hash, row.block_number))
            elif isinstance(row, Claim):
                holding.claimed += int(row.tokens)
                portfolio.history.append(HistoryLine(row.event.created_at, "claim", token, int(row.tokens), None,
                                                     row.tx_hash, row.block_number))
            else:
                holding.refunded += int(row.amount)
                portfolio.history.append(HistoryLine(row.event.created_at, "refund", token, int(row.amount),
                                                     row.sale, row.tx_hash, row.block_number))
    portfolio.sales = sorted(by_sale.values(), key=lambda h: (h.sale.starts_at, h.sale.pk))

    # Allocations: the investor's own (converted warrants), and those of the stakeholders they are.
    allocations = (TokenAllocation.objects.filter(holder_is(user)).exclude(state=AllocationState.CANCELLED)
                   .select_related("token__company", "warrant").order_by("token", "pk"))
    for allocation in allocations:
        sale = sale_of(allocation.token)
        vesting = allocation_reads.allocation_vesting(allocation, at=now)
        value = token_value(int(allocation.amount), sale) if sale else None
        portfolio.allocations.append(AllocationHolding(allocation, vesting, value, sale))
        delivered = ChainIntent.objects.filter(
            chain_id=allocation.token.chain_id, purpose__in=["allocation.distribute", "allocation.fund"],
            object_key__startswith=f"tokenallocation:{allocation.pk}:", state="confirmed").first()
        if delivered is not None:
            portfolio.history.append(HistoryLine(
                delivered.confirmed_at or delivered.updated_at,
                "delivery" if allocation.kind == "investor" else "vesting funded", allocation.token,
                int(allocation.amount), None, delivered.tx_hash, delivered.block_number))

    # On-chain balances of every token in the investor's wallets.
    if addresses:
        lower = {a.lower(): a for a in addresses}
        received = ChainEvent.objects.filter(name=ChainEventName.TRANSFER, removed=False, token__isnull=False,
                                             args__to__in=addresses).values("token")
        for token in Token.objects.filter(pk__in=received).exclude(address="").order_by("pk"):
            for address, balance in transfer_balances(token).items():
                if address in lower and balance:
                    sale = sale_of(token)
                    portfolio.balances.append(BalanceHolding(token, lower[address], balance,
                                                             token_value(balance, sale) if sale else None, sale))

    # Shares (and options, warrants) at the last priced round's price.
    today = timezone.localdate()
    for stakeholder in Stakeholder.objects.filter(user=user).select_related("company").order_by("company", "pk"):
        holdings = equity_selectors.stakeholder_holdings(stakeholder=stakeholder, as_of=today)
        if not holdings.total.fully_diluted:
            continue
        round = last_round(stakeholder.company)
        portfolio.shares.append(ShareHolding(
            stakeholder.company, stakeholder, holdings.total.fully_diluted, holdings.total.outstanding,
            round.price_per_share if round else None, round))
    portfolio.history.sort(key=lambda line: (line.block_number or 0, line.when), reverse=True)
    return portfolio

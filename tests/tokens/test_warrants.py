"""Token warrants: the pure conversion arithmetic (exact, and a property that pro-rata warrants never take more
than the pool), issuing, converting at launch with Lumen's seed cap table, and claiming with a verified wallet."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import Wallet
from compliance.audit import Actor
from compliance.models import AuditEvent
from equity import services as equity_services
from tests.equity.lumen import lumen_after_seed
from tests.factories import MembershipFactory, UserFactory
from tokens import hybrid, services, warrants
from tokens.choices import AllocationState, DeployStatus, WarrantState
from tokens.models import ChainIntent, Token, TokenAllocation, TokenWarrant

UNIT = 10**18
POOL = 10_000_000 * UNIT
TOKEN_ADDRESS = "0x" + "7a" * 20


# --- pure ------------------------------------------------------------------------------------------------------


def test_pro_rata_tokens_are_ownership_times_pool_rounded_down() -> None:
    assert hybrid.pro_rata_tokens(Fraction(2, 11), POOL) == 1_818_181_818_181_818_181_818_181
    assert hybrid.pro_rata_tokens(Fraction(1, 3), 10) == 3
    assert hybrid.pro_rata_tokens(Fraction(0), POOL) == 0
    assert hybrid.pro_rata_tokens(Fraction(1), POOL) == POOL
    with pytest.raises(ValueError, match="between 0 and 1"):
        hybrid.pro_rata_tokens(Fraction(3, 2), POOL)


def test_fixed_and_pro_rata_warrants_convert_by_key() -> None:
    terms = [hybrid.WarrantTerms("1", "Seed Fund", hybrid.WarrantType.PRO_RATA),
             hybrid.WarrantTerms("2", "Hannah Lee", hybrid.WarrantType.FIXED, 250_000 * UNIT),
             hybrid.WarrantTerms("3", "Nobody", hybrid.WarrantType.PRO_RATA)]
    assert hybrid.warrant_tokens(terms, {"Seed Fund": Fraction(2, 11), "Mei Chen": Fraction(8, 11)}, POOL) == {
        "1": 1_818_181_818_181_818_181_818_181, "2": 250_000 * UNIT, "3": 0}
    with pytest.raises(ValueError, match="count twice"):
        hybrid.warrant_tokens([terms[0], hybrid.WarrantTerms("4", "Seed Fund", hybrid.WarrantType.PRO_RATA)],
                              {"Seed Fund": Fraction(1, 2)}, POOL)
    with pytest.raises(ValueError, match="positive"):
        hybrid.WarrantTerms("5", "X", hybrid.WarrantType.FIXED, 0)


@given(counts=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=30),
       pool=st.integers(min_value=0, max_value=2**200), holders=st.data())
def test_pro_rata_conversions_never_exceed_the_pool(counts: list[int], pool: int, holders: Any) -> None:
    total = sum(counts) or 1
    ownership = {f"h{i}": Fraction(count, total) for i, count in enumerate(counts)}
    chosen = holders.draw(st.sets(st.sampled_from(sorted(ownership))))
    terms = [hybrid.WarrantTerms(name, name, hybrid.WarrantType.PRO_RATA) for name in sorted(chosen)]
    tokens = hybrid.warrant_tokens(terms, ownership, pool)
    assert sum(tokens.values()) <= pool
    for name in chosen:  # each is within one base unit of its exact share
        assert 0 <= ownership[name] * pool - tokens[name] < 1
    if chosen == set(ownership) and sum(counts):  # everybody holds one: at most one unit lost per holder
        assert pool - sum(tokens.values()) < len(counts)


# --- the database side ---------------------------------------------------------------------------------------


@pytest.fixture
def lumen(db: Any) -> Any:
    owner = MembershipFactory(role="owner")
    lumen = lumen_after_seed(owner)
    lumen.owner = owner
    lumen.fund_user = UserFactory(email="deals@seedfund.example")
    lumen.fund.user = lumen.fund_user
    lumen.fund.save(update_fields=["user"])
    lumen.token = services.token_create(actor=lumen.actor, company=lumen.company, name="Lumen", symbol="LUMEN",
                                        supply_cap=100_000_000 * UNIT, admin_address="0x" + "ad" * 20,
                                        investor_pool=POOL)
    return lumen


def launch(token: Token, ceiling: int = POOL + 1_000_000 * UNIT) -> Token:
    """The token as deployment leaves it (the outbox's part, done here directly)."""
    Token.objects.filter(pk=token.pk).update(deploy_status=DeployStatus.DEPLOYED, address=TOKEN_ADDRESS,
                                             distributor_ceiling=ceiling, deploy_block=1)
    token.refresh_from_db()
    return token


def wallet_of(user: Any, address: str, chain_id: int = 31337) -> Wallet:
    return Wallet.objects.create(user=user, address=address, chain_id=chain_id, message="signed", signature="0x00",
                                 verified_at=timezone.now())


def test_warrants_issue_to_the_company_stakeholders_only(lumen: Any) -> None:
    fixed = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah,
                                   kind="fixed", token_amount=250_000 * UNIT)
    assert (fixed.kind, fixed.token_amount, fixed.state, fixed.price_per_token) == (
        "fixed", 250_000 * UNIT, WarrantState.OUTSTANDING, None)
    other = MembershipFactory(role="owner")
    stranger = equity_services.stakeholder_create(actor=Actor(user=other.user), company=other.company, name="Zed")
    before = TokenWarrant.objects.count()
    with pytest.raises(ValidationError, match="not on the company's cap table"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=stranger, kind="pro_rata")
    with pytest.raises(PermissionDenied):  # the other company's founder cannot issue Lumen's warrants
        warrants.warrant_issue(actor=Actor(user=other.user), company=lumen.company, stakeholder=lumen.fund,
                               kind="pro_rata")
    with pytest.raises(ValidationError, match="above zero"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                               token_amount=0)
    with pytest.raises(ValidationError, match="leave the number empty"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata",
                               token_amount=5)
    with pytest.raises(ValidationError, match="negative"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                               token_amount=5, price_per_token=Decimal("-1"))
    assert TokenWarrant.objects.count() == before
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    with pytest.raises(ValidationError, match="count the same ownership twice"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    assert AuditEvent.objects.filter(action="tokens.warrant_issue").count() == 2


def test_a_warrant_attached_to_an_investment_goes_to_its_investor(lumen: Any) -> None:
    round = equity_services.round_create(actor=lumen.actor, company=lumen.company, name="Seed 2", kind="safe",
                                         target_amount=Decimal(100_000), minimum_amount=Decimal(10_000),
                                         maximum_amount=Decimal(200_000), instrument="post_money_safe",
                                         valuation_cap=Decimal(10_000_000), jurisdictions=["US"],
                                         closes_on=timezone.localdate() + timedelta(days=30))
    round = equity_services.round_open(actor=lumen.actor, round=round)
    investment = equity_services.investment_record(actor=lumen.actor, round=round, stakeholder=lumen.hannah,
                                                   amount=Decimal(50_000), received_on=timezone.localdate())
    warrant = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah,
                                     investment=investment, kind="fixed", token_amount=UNIT)
    assert warrant.investment == investment
    with pytest.raises(ValidationError, match="goes to its investor"):
        warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund,
                               investment=investment, kind="fixed", token_amount=UNIT)


def test_conversion_at_launch_gives_exact_pro_rata_and_fixed_allocations(lumen: Any) -> None:
    pro_rata = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund,
                                      kind="pro_rata")
    fixed = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah,
                                   kind="fixed", token_amount=250_000 * UNIT)
    nothing = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah,
                                     kind="pro_rata")  # Hannah's SAFE is not converted: she owns nothing yet
    priced = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.ada,
                                    kind="fixed", token_amount=UNIT, price_per_token=Decimal("0.10"))
    # Before launch: what converting now would give, from the cap table (Seed Fund 2,000,000 of 11,000,000).
    assert warrants.warrant_tokens_now(company=lumen.company, pool=POOL)[pro_rata.pk] == 1_818_181_818_181_818_181_818_181
    with pytest.raises(ValidationError, match="deploy the token first"):
        warrants.warrants_convert(actor=lumen.actor, token=lumen.token)
    assert not TokenAllocation.objects.exists()
    launch(lumen.token)
    result = warrants.warrants_convert(actor=lumen.actor, token=lumen.token)
    by_warrant = {a.warrant_id: a for a in result.allocations}
    assert by_warrant[pro_rata.pk].amount == 1_818_181_818_181_818_181_818_181
    assert by_warrant[pro_rata.pk].user == lumen.fund_user
    assert by_warrant[fixed.pk].amount == 250_000 * UNIT
    assert {a.state for a in result.allocations if a.warrant_id != priced.pk} == {AllocationState.CLAIMABLE}
    assert {a.kind for a in result.allocations} == {"investor"}
    assert [w.pk for w in result.nothing] == [nothing.pk]
    # The priced warrant converts too, into tokens that wait for its exercise price: 1 token at $0.10.
    assert [w.pk for w in result.waiting] == [priced.pk]
    assert (by_warrant[priced.pk].state, by_warrant[priced.pk].exercise_price) == (AllocationState.UNPAID,
                                                                                   Decimal("0.10"))
    assert by_warrant[fixed.pk].exercise_price is None
    assert TokenWarrant.objects.filter(state=WarrantState.CONVERTED).count() == 4
    again = warrants.warrants_convert(actor=lumen.actor, token=lumen.token)
    assert again.allocations == []
    assert TokenAllocation.objects.count() == 3


def test_the_exercise_price_is_rounded_up_to_the_cent_exactly() -> None:
    price = warrants.exercise_price
    assert price(tokens=UNIT, decimals=18, price_per_token=Decimal("0.10")) == Decimal("0.10")
    assert price(tokens=UNIT // 3, decimals=18, price_per_token=Decimal("0.10")) == Decimal("0.04")  # 0.0333…
    assert price(tokens=1, decimals=18, price_per_token=Decimal("1")) == Decimal("0.01")  # never free by rounding
    # Beyond a Decimal context's 28 digits: 10^30 base units at 0.0000000001 a token are exactly $100.
    assert price(tokens=10**30, decimals=18, price_per_token=Decimal("0.0000000001")) == Decimal("100.00")
    assert price(tokens=10**30 + 1, decimals=18, price_per_token=Decimal("0.0000000001")) == Decimal("100.01")
    huge = price(tokens=2**255, decimals=0, price_per_token=Decimal("0.01"))  # 2**255 cents: 77 digits, exactly
    assert str(huge) == f"{2**255 // 100}.{2**255 % 100:02d}"
    assert price(tokens=UNIT, decimals=18, price_per_token=Decimal(0)) is None
    assert price(tokens=UNIT, decimals=18, price_per_token=None) is None


def test_an_unpaid_priced_warrant_cannot_be_claimed(lumen: Any) -> None:
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                           token_amount=5 * UNIT, price_per_token=Decimal("2.5"))
    launch(lumen.token)
    allocation = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]
    assert allocation.exercise_price == Decimal("12.50")
    with pytest.raises(ValidationError, match=r"Pay the exercise price \(\$12.50\) first"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation,
                                  wallet=wallet_of(lumen.fund_user, "0x" + "11" * 20))
    assert not ChainIntent.objects.filter(purpose="allocation.distribute").exists()


def test_the_holder_claims_with_a_verified_wallet_and_nobody_else_can(lumen: Any) -> None:
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    launch(lumen.token)
    allocation = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]
    mine = wallet_of(lumen.fund_user, "0x" + "11" * 20)
    someone = UserFactory()
    theirs = wallet_of(someone, "0x" + "22" * 20)
    with pytest.raises(ValidationError, match="your own verified wallets"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=theirs)
    with pytest.raises(PermissionDenied):
        warrants.allocation_claim(actor=Actor(user=someone), allocation=allocation, wallet=theirs)
    removed = wallet_of(lumen.fund_user, "0x" + "33" * 20)
    Wallet.objects.filter(pk=removed.pk).update(removed_at=timezone.now())
    with pytest.raises(ValidationError, match="your own verified wallets"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=removed)
    elsewhere = wallet_of(lumen.fund_user, "0x" + "44" * 20, chain_id=1)
    with pytest.raises(ValidationError, match="another chain"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=elsewhere)
    allocation.refresh_from_db()
    assert (allocation.state, allocation.beneficiary_address) == (AllocationState.CLAIMABLE, "")
    assert not ChainIntent.objects.filter(purpose="allocation.distribute").exists()

    warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=mine)
    allocation.refresh_from_db()
    assert (allocation.state, allocation.beneficiary_address) == (AllocationState.DEPLOYING, mine.address)
    intent = ChainIntent.objects.get(purpose="allocation.distribute")
    assert (intent.object_key, intent.role, intent.params) == (
        f"tokenallocation:{allocation.pk}:1", "distributor",
        {"to": mine.address, "amount": "1818181818181818181818181"})
    with pytest.raises(ValidationError, match="not waiting to be claimed"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=mine)
    warrants.allocation_delivered(allocation.pk)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.DELIVERED


def test_a_claim_beyond_the_distributor_ceiling_is_refused_in_words(lumen: Any) -> None:
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="fixed",
                           token_amount=5 * UNIT)
    launch(lumen.token, ceiling=4 * UNIT)
    allocation = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]
    mine = wallet_of(lumen.fund_user, "0x" + "11" * 20)
    with pytest.raises(ValidationError, match="raise the distributor ceiling"):
        warrants.allocation_claim(actor=Actor(user=lumen.fund_user), allocation=allocation, wallet=mine)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.CLAIMABLE


def test_conversion_is_refused_to_another_company_founder(lumen: Any) -> None:
    launch(lumen.token)
    other = MembershipFactory(role="owner")
    with pytest.raises(PermissionDenied):
        warrants.warrants_convert(actor=Actor(user=other.user), token=lumen.token)


def test_ownership_is_read_on_the_conversion_day(lumen: Any) -> None:
    warrant = warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund,
                                     kind="pro_rata")
    # Mei's founder shares are issued only after today: they are not yet on the cap table of today.
    later = timezone.localdate() + timedelta(days=30)
    equity_services.stock_issue(actor=lumen.actor, stakeholder=lumen.mei, share_class=lumen.common,
                                quantity=1_000_000, effective_date=later, price_per_share=Decimal("0.00001"))
    assert warrants.warrant_tokens_now(company=lumen.company, pool=POOL)[warrant.pk] == POOL * 2 // 11
    assert warrants.warrant_tokens_now(company=lumen.company, pool=POOL, as_of=later)[warrant.pk] == POOL * 2 // 12


def test_the_portfolio_offers_the_claim_and_claims_with_the_chosen_wallet(lumen: Any, client_for: Any) -> None:
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    launch(lumen.token)
    allocation = warrants.warrants_convert(actor=lumen.actor, token=lumen.token).allocations[0]
    mine = wallet_of(lumen.fund_user, "0x" + "11" * 20)
    page = client_for(lumen.fund_user).get("/portfolio/")
    html = page.content.decode()
    assert "Claim with wallet" in html
    assert "1,818,181.8181 LUMEN" in html
    assert "2,000,000" in html  # the Seed Fund's shares beside its tokens
    stranger = UserFactory()
    theirs = wallet_of(stranger, "0x" + "22" * 20)
    refused = client_for(stranger).post(f"/portfolio/tokens/{allocation.pk}/claim/", {"wallet": theirs.pk})
    assert refused.status_code == 404
    foreign = client_for(lumen.fund_user).post(f"/portfolio/tokens/{allocation.pk}/claim/", {"wallet": theirs.pk})
    assert foreign.status_code == 404
    assert not ChainIntent.objects.filter(purpose="allocation.distribute").exists()
    claimed = client_for(lumen.fund_user).post(f"/portfolio/tokens/{allocation.pk}/claim/", {"wallet": mine.pk})
    assert claimed.status_code == 302
    assert ChainIntent.objects.get(purpose="allocation.distribute").params["to"] == mine.address

"""Vesting allocations: the schedule's arithmetic (exact at the cliff, midway and the end, as OpenZeppelin's
VestingWalletCliff computes it), planning refused with a clear error and nothing written, and on the devnet a
vesting wallet deployed and funded through the outbox, its vested amount matching ours, a release read back from
its ERC20Released event, and a converted warrant delivered to its holder's wallet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3

from compliance.audit import Actor
from tests.contracts.support import Chain, dev_accounts
from tests.factories import MembershipFactory, UserFactory
from tests.tokens.factories import founder_actor, outbox_settle, sale_for, token_for
from tests.tokens.test_warrants import POOL, UNIT, launch, lumen, wallet_of  # noqa: F401
from tokens import allocations, hybrid, services, warrants
from tokens.chain import client, scanner
from tokens.chain.vesting import released_on_chain
from tokens.choices import AllocationState, ContractKind, IntentState
from tokens.models import ChainIntent, TokenAllocation, WatchedContract

YEAR = 365 * 86400
START = 1_767_225_600  # 2026-01-01T00:00:00Z
FOUR_YEARS = hybrid.VestingTerms(start=START, duration=4 * YEAR, cliff=YEAR)
TOTAL = 4_800_000 * UNIT
on_the_database = pytest.mark.django_db


# --- the schedule --------------------------------------------------------------------------------------------


def test_nothing_vests_before_the_cliff_then_a_quarter_at_it() -> None:
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START) == 0
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + YEAR - 1) == 0
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + YEAR) == 1_200_000 * UNIT


def test_midway_is_half_and_the_end_is_everything() -> None:
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + 2 * YEAR) == 2_400_000 * UNIT
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + 4 * YEAR - 1) == TOTAL - TOTAL // (4 * YEAR) - 1
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + 4 * YEAR) == TOTAL
    assert hybrid.vested_amount(TOTAL, FOUR_YEARS, START + 40 * YEAR) == TOTAL
    # One second after the cliff: total × (cliff + 1) / duration, rounded down.
    assert hybrid.vested_amount(7, FOUR_YEARS, START + YEAR + 1) == 7 * (YEAR + 1) // (4 * YEAR) == 1


def test_released_and_releasable() -> None:
    status = hybrid.vesting_status(TOTAL, FOUR_YEARS, START + 2 * YEAR, released=1_000_000 * UNIT)
    assert (status.vested, status.released, status.releasable, status.unvested) == (
        2_400_000 * UNIT, 1_000_000 * UNIT, 1_400_000 * UNIT, 2_400_000 * UNIT)
    with pytest.raises(ValueError, match="cannot release more"):
        hybrid.vesting_status(TOTAL, FOUR_YEARS, START, released=TOTAL + 1)
    with pytest.raises(ValueError, match="cliff"):
        hybrid.VestingTerms(start=START, duration=YEAR, cliff=YEAR + 1)
    with pytest.raises(ValueError, match="duration"):
        hybrid.VestingTerms(start=START, duration=0)


@given(total=st.integers(0, 2**128), start=st.integers(0, 2**40), duration=st.integers(1, 2**32),
       cliff_share=st.fractions(0, 1), a=st.integers(0, 2**41), b=st.integers(0, 2**41))
def test_vesting_never_decreases_and_never_exceeds_the_total(total: int, start: int, duration: int, cliff_share: Any,
                                                           a: int, b: int) -> None:
    terms = hybrid.VestingTerms(start=start, duration=duration, cliff=int(duration * cliff_share))
    early, late = sorted((a, b))
    assert 0 <= hybrid.vested_amount(total, terms, early) <= hybrid.vested_amount(total, terms, late) <= total


# --- planning ---------------------------------------------------------------------------------------------------


def plan(lumen: Any, **overrides: Any) -> TokenAllocation:  # noqa: F811
    fields: dict[str, Any] = {
        "kind": "team", "label": "Mei's team tokens", "stakeholder": lumen.mei,
        "beneficiary_address": "0x" + "c0" * 20, "amount": TOTAL,
        "vesting_start": datetime(2026, 1, 1, tzinfo=UTC), "cliff": timedelta(days=365),
        "duration": timedelta(days=4 * 365), **overrides}
    return allocations.allocation_create(actor=lumen.actor, token=lumen.token, **fields)


def test_an_allocation_is_planned_with_its_schedule(lumen: Any) -> None:  # noqa: F811
    allocation = plan(lumen)
    assert (allocation.state, allocation.user, allocation.beneficiary_address) == (
        AllocationState.PLANNED, None, Web3.to_checksum_address("0x" + "c0" * 20))
    status = allocations.allocation_vesting(allocation, at=datetime(2028, 1, 1, tzinfo=UTC))
    assert status is not None
    assert (status.vested, status.released) == (2_400_000 * UNIT, 0)  # 2026 → 2028 is 730 days, half of 1,460


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"kind": "investor"}, "kind", "come from token warrants"),
    ({"amount": 0}, "amount", "above zero"),
    ({"amount": 100_000_000 * UNIT}, "amount", "supply cap leaves"),
    ({"cliff": timedelta(days=5 * 365)}, "cliff", "between zero and the vesting duration"),
    ({"duration": timedelta(0), "cliff": timedelta(0)}, "duration", "more than zero"),
    ({"beneficiary_address": "0x1234"}, "beneficiary_address", "not an Ethereum address"),
    ({"label": "  "}, "label", "Say who"),
    ({"vesting_start": datetime(2026, 1, 1)}, "vesting_start", "time zone"),  # noqa: DTZ001
])
def test_bad_input_is_refused_in_words_and_nothing_is_written(lumen: Any, overrides: dict[str, Any],  # noqa: F811
                                                               field: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        plan(lumen, **overrides)
    assert field in caught.value.message_dict
    assert message in " ".join(caught.value.message_dict[field])
    assert not TokenAllocation.objects.exists()


def test_another_company_cannot_plan_or_deploy_lumen_allocations(lumen: Any) -> None:  # noqa: F811
    other = MembershipFactory(role="owner")
    with pytest.raises(PermissionDenied):
        allocations.allocation_create(actor=Actor(user=other.user), token=lumen.token, kind="team", label="x",
                                      beneficiary_address="0x" + "c0" * 20, amount=UNIT,
                                      vesting_start=datetime(2026, 1, 1, tzinfo=UTC), cliff=timedelta(0),
                                      duration=timedelta(days=1))
    plan(lumen)
    with pytest.raises(PermissionDenied):
        allocations.allocations_deploy(actor=Actor(user=other.user), token=lumen.token)


def test_deploying_waits_for_the_token_and_writes_two_intents_per_allocation(lumen: Any) -> None:  # noqa: F811
    allocation = plan(lumen)
    with pytest.raises(ValidationError, match="deploy the token first"):
        allocations.allocations_deploy(actor=lumen.actor, token=lumen.token)
    launch(lumen.token)
    allocations.allocations_deploy(actor=lumen.actor, token=lumen.token)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.DEPLOYING
    deploy, fund = ChainIntent.objects.order_by("pk")
    assert (deploy.purpose, deploy.role, deploy.object_key, deploy.params) == (
        "vesting.deploy", "deployer", f"tokenallocation:{allocation.pk}:1",
        {"beneficiary": allocation.beneficiary_address, "start": START, "duration": 4 * YEAR, "cliff": YEAR})
    assert (fund.purpose, fund.role, fund.depends_on, fund.params) == (
        "allocation.fund", "distributor", deploy, {"amount": str(TOTAL)})
    with pytest.raises(ValidationError, match="No planned allocation"):
        allocations.allocations_deploy(actor=lumen.actor, token=lumen.token)


# --- on the devnet ---------------------------------------------------------------------------------------------


@on_the_database
def test_a_vesting_wallet_is_deployed_funded_and_vests_as_computed(devnet: Web3) -> None:
    founder = founder_actor()
    chain = Chain(devnet)
    beneficiary = dev_accounts().investors[0].address
    token = token_for(founder, investor_pool=0)
    now = chain.now()
    allocation = allocations.allocation_create(
        actor=founder, token=token, kind="team", label="Team", beneficiary_address=beneficiary, amount=TOTAL,
        vesting_start=datetime.fromtimestamp(now, tz=UTC), cliff=timedelta(seconds=YEAR),
        duration=timedelta(seconds=4 * YEAR))
    services.sale_deploy(actor=founder, sale=sale_for(founder, token))
    outbox_settle(devnet)
    token.refresh_from_db()
    assert token.distributor_ceiling == TOTAL  # deployment's ceiling: the pool (0) plus the allocations
    allocations.allocations_deploy(actor=founder, token=token)
    outbox_settle(devnet)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.VESTING
    assert set(ChainIntent.objects.filter(purpose__in=["vesting.deploy", "allocation.fund"])
               .values_list("state", flat=True)) == {IntentState.CONFIRMED}
    watched = WatchedContract.objects.get(kind=ContractKind.VESTING)
    assert (watched.address, watched.allocation_id, watched.token_id) == (
        allocation.vesting_address, allocation.pk, token.pk)
    erc20 = client.contract("TrancheToken", token.address, w3=devnet).functions
    wallet = client.contract("TrancheVesting", allocation.vesting_address, w3=devnet)
    assert erc20.balanceOf(allocation.vesting_address).call() == TOTAL
    assert wallet.functions.owner().call() == beneficiary
    vested = wallet.get_function_by_signature("vestedAmount(address,uint64)")
    terms = allocations.vesting_terms(allocation)
    for moment in (terms.start, terms.start + YEAR - 1, terms.start + YEAR, terms.start + 2 * YEAR,
                   terms.start + 4 * YEAR, terms.start + 5 * YEAR):
        assert vested(token.address, moment).call() == hybrid.vested_amount(TOTAL, terms, moment), moment

    chain.travel_to(terms.start + 2 * YEAR)
    release = wallet.get_function_by_signature("release(address)")
    receipt = chain.send(release(token.address), dev_accounts().outsider.address)  # anyone may release
    released = erc20.balanceOf(beneficiary).call()
    block_time = devnet.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert released == hybrid.vested_amount(TOTAL, terms, block_time)
    assert released_on_chain(allocation) == released
    scanner.chain_scan(token.chain_id)
    status = allocations.allocation_vesting(allocation, at=datetime.fromtimestamp(block_time, tz=UTC))
    assert status is not None
    assert (status.released, status.releasable) == (released, 0)


@on_the_database
def test_a_converted_warrant_is_delivered_to_the_holder_wallet(devnet: Web3) -> None:
    founder = founder_actor()
    company = founder.user.memberships.get().company  # type: ignore[union-attr]
    from equity import services as equity_services

    holder = UserFactory()
    common = equity_services.share_class_create(actor=founder, company=company, name="Common", kind="common",
                                                authorized_shares=10_000_000)
    fund = equity_services.stakeholder_create(actor=founder, company=company, name="Seed Fund", user=holder)
    mei = equity_services.stakeholder_create(actor=founder, company=company, name="Mei Chen")
    for who, shares in ((fund, 1_000_000), (mei, 3_000_000)):
        equity_services.stock_issue(actor=founder, stakeholder=who, share_class=common, quantity=shares,
                                    effective_date=datetime(2025, 3, 3, tzinfo=UTC).date())
    token = token_for(founder, investor_pool=1_000_000 * UNIT)
    warrants.warrant_issue(actor=founder, company=company, stakeholder=fund, kind="pro_rata")
    services.sale_deploy(actor=founder, sale=sale_for(founder, token))
    outbox_settle(devnet)
    token.refresh_from_db()
    allocation = warrants.warrants_convert(actor=founder, token=token).allocations[0]
    assert allocation.amount == 250_000 * UNIT  # a quarter of the company, a quarter of the pool
    address = dev_accounts().investors[1].address
    wallet = wallet_of(holder, address)
    warrants.allocation_claim(actor=Actor(user=holder), allocation=allocation, wallet=wallet)
    outbox_settle(devnet)
    allocation.refresh_from_db()
    assert allocation.state == AllocationState.DELIVERED
    erc20 = client.contract("TrancheToken", token.address, w3=devnet).functions
    assert erc20.balanceOf(address).call() == 250_000 * UNIT

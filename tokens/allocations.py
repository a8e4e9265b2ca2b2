"""Team, advisor and treasury allocations: each vests through its own `TrancheVesting` (OpenZeppelin's
`VestingWallet` with a cliff) deployed for its beneficiary, funded by the platform's distributor.

`allocations_deploy` writes two outbox intents per planned allocation: `vesting.deploy` (the contract, by the
deployer key) and `allocation.fund` after it (`token.distribute(vesting wallet, amount)`, by the distributor key).
Their confirmation hooks (`tokens/chain/vesting.py`) record the wallet's address, watch it for `ERC20Released`
events, and mark the allocation vesting. Vested, released and releasable amounts are computed from the schedule
(`tokens.hybrid.vested_amount`, as the contract computes them) and the released events the scanner stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from compliance.audit import Actor
from compliance.services import audit_record
from equity.models import Stakeholder
from tokens import hybrid
from tokens.choices import (
    AllocationKind,
    AllocationState,
    ChainEventName,
    ContractKind,
    DeployStatus,
    SignerRole,
)
from tokens.intents import intent_enqueue, intents_kick
from tokens.models import ChainEvent, ChainIntent, Token, TokenAllocation, WatchedContract
from tokens.services import checksum, require_editor
from tokens.warrants import check_within_ceiling

VESTING_KINDS = (AllocationKind.TEAM, AllocationKind.ADVISOR, AllocationKind.TREASURY)
DEPLOY, FUND = "vesting.deploy", "allocation.fund"


def vesting_terms(allocation: TokenAllocation) -> hybrid.VestingTerms:
    if allocation.vesting_start is None or allocation.duration is None:
        raise ValueError(f"allocation {allocation.pk} has no vesting schedule")
    return hybrid.VestingTerms(start=int(allocation.vesting_start.timestamp()),
                               duration=int(allocation.duration.total_seconds()),
                               cliff=int((allocation.cliff or timedelta(0)).total_seconds()))


@transaction.atomic
def allocation_create(
    *, actor: Actor, token: Token, kind: str, label: str, stakeholder: Stakeholder | None = None,
    beneficiary_address: str, amount: int, vesting_start: datetime, cliff: timedelta, duration: timedelta,
) -> TokenAllocation:
    """Plan a vesting allocation of `amount` base units for `beneficiary_address`: nothing before
    `vesting_start + cliff`, then linear until `vesting_start + duration`."""
    token = Token.objects.select_for_update().select_related("company").get(pk=token.pk)
    require_editor(actor, token.company)
    if kind not in VESTING_KINDS:
        raise ValidationError({"kind": _("Team, advisor and treasury allocations vest; investors' come from "
                                         "token warrants.")})
    if stakeholder is not None and stakeholder.company_id != token.company_id:
        raise ValidationError({"stakeholder": _("This stakeholder is not on the company's cap table.")})
    if not label.strip():
        raise ValidationError({"label": _("Say who or what the allocation is for.")})
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationError({"amount": _("Allocate a number of tokens above zero.")})
    if timezone.is_naive(vesting_start):
        raise ValidationError({"vesting_start": _("Give the vesting start with its time zone.")})
    try:
        hybrid.VestingTerms(start=int(vesting_start.timestamp()), duration=int(duration.total_seconds()),
                            cliff=int(cliff.total_seconds()))
    except ValueError as error:
        field = "cliff" if "cliff" in str(error) else "duration" if "duration" in str(error) else "vesting_start"
        raise ValidationError({field: str(error).capitalize() + "."}) from error
    taken = (TokenAllocation.objects.filter(token=token, kind__in=VESTING_KINDS)
             .exclude(state=AllocationState.CANCELLED).aggregate(n=Sum("amount"))["n"] or 0)
    room = int(token.supply_cap) - int(token.investor_pool) - int(taken)
    if amount > room:
        raise ValidationError({"amount": _(
            "The supply cap leaves %(room)s base units beside the investor pool and the other allocations.")
            % {"room": f"{max(room, 0):,}"}})
    allocation = TokenAllocation(
        token=token, kind=kind, label=label.strip(), stakeholder=stakeholder,
        user=stakeholder.user if stakeholder is not None else None,
        beneficiary_address=checksum(beneficiary_address, "beneficiary_address"), amount=amount,
        vesting_start=vesting_start, cliff=cliff, duration=duration, state=AllocationState.PLANNED)
    allocation.full_clean()
    allocation.save()
    audit_record(actor=actor, action="tokens.allocation_create", target=allocation, company_id=token.company_id,
                 changes={"kind": kind, "label": allocation.label, "beneficiary": allocation.beneficiary_address,
                          "amount": str(amount), "vesting_start": vesting_start.isoformat(),
                          "cliff_seconds": int(cliff.total_seconds()),
                          "duration_seconds": int(duration.total_seconds())})
    return allocation


def _attempt(chain_id: int, purpose: str, allocation: TokenAllocation) -> str:
    """`tokenallocation:7:2`: numbered, so that deploying again after a failure is a new intent."""
    prefix = f"tokenallocation:{allocation.pk}:"
    count = ChainIntent.objects.filter(chain_id=chain_id, purpose=purpose, object_key__startswith=prefix).count()
    return f"{prefix}{count + 1}"


@transaction.atomic
def allocations_deploy(*, actor: Actor, token: Token) -> list[TokenAllocation]:
    """Deploy and fund a vesting wallet for every planned allocation of the (launched) token."""
    token = Token.objects.select_for_update().select_related("company").get(pk=token.pk)
    require_editor(actor, token.company)
    if token.deploy_status != DeployStatus.DEPLOYED or not token.address:
        raise ValidationError(_("Vesting wallets are funded by the token: deploy the token first."))
    planned = list(TokenAllocation.objects.select_for_update().filter(
        token=token, kind__in=VESTING_KINDS, state=AllocationState.PLANNED).order_by("pk"))
    if not planned:
        raise ValidationError(_("No planned allocation is waiting for its vesting wallet."))
    check_within_ceiling(token, sum(int(a.amount) for a in planned))
    for allocation in planned:
        terms = vesting_terms(allocation)
        deployed = None
        if not allocation.vesting_address:  # a wallet deployed by an attempt whose funding failed is reused
            deployed = intent_enqueue(
                chain_id=token.chain_id, purpose=DEPLOY, obj=_attempt(token.chain_id, DEPLOY, allocation),
                role=SignerRole.DEPLOYER, params={"beneficiary": allocation.beneficiary_address, "start": terms.start,
                                                  "duration": terms.duration, "cliff": terms.cliff})
        intent_enqueue(chain_id=token.chain_id, purpose=FUND, obj=_attempt(token.chain_id, FUND, allocation),
                       role=SignerRole.DISTRIBUTOR, params={"amount": str(allocation.amount)}, depends_on=deployed)
        allocation.state = AllocationState.DEPLOYING
        allocation.save(update_fields=["state"])
    audit_record(actor=actor, action="tokens.allocations_deploy", target=token, company_id=token.company_id,
                 changes={"allocations": [a.pk for a in planned]})
    intents_kick()
    return planned


# --- what the chain confirmed (called by tokens/chain/vesting.py's hooks, in the intent's transaction) ---------


def allocation_vesting_deployed(allocation_id: int, *, address: str, block: int) -> None:
    allocation = TokenAllocation.objects.select_for_update().select_related("token").get(pk=allocation_id)
    allocation.vesting_address = address
    allocation.save(update_fields=["vesting_address"])
    WatchedContract.objects.get_or_create(
        chain_id=allocation.token.chain_id, address__iexact=address,
        defaults={"address": address, "kind": ContractKind.VESTING, "start_block": block,
                  "token": allocation.token, "allocation": allocation})


def allocation_funded(allocation_id: int) -> None:
    TokenAllocation.objects.filter(pk=allocation_id, state=AllocationState.DEPLOYING).update(
        state=AllocationState.VESTING)


def allocation_deploy_failed(allocation_id: int) -> None:
    """A vesting wallet's deployment or funding failed for good: planned again, for the founder to retry."""
    TokenAllocation.objects.filter(pk=allocation_id, state=AllocationState.DEPLOYING,
                                   kind__in=VESTING_KINDS).update(state=AllocationState.PLANNED)


# --- reads ---------------------------------------------------------------------------------------------------------


def released_from_events(allocation: TokenAllocation) -> int:
    """What the vesting wallet released of the token, from the `ERC20Released` events the scanner stored."""
    if not allocation.vesting_address:
        return 0
    events = ChainEvent.objects.filter(chain_id=allocation.token.chain_id, name=ChainEventName.ERC20_RELEASED,
                                       address__iexact=allocation.vesting_address, removed=False)
    total = 0
    for args in events.values_list("args", flat=True):
        if str(args.get("token", "")).lower() == allocation.token.address.lower():
            total += int(args.get("amount", 0))
    return total


def allocation_vesting(allocation: TokenAllocation, *, at: datetime | None = None,
                       released: int | None = None) -> hybrid.VestingStatus | None:
    """Vested, released and releasable at `at` (now) for a vesting allocation; None for others. `released`
    defaults to the events stored (pass `tokens.chain.vesting.released_on_chain` to ask the node instead)."""
    if allocation.vesting_start is None or allocation.duration is None:
        return None
    moment = int((at or timezone.now()).timestamp())
    if released is None:
        released = released_from_events(allocation)
    return hybrid.vesting_status(int(allocation.amount), vesting_terms(allocation), moment,
                                 min(released, int(allocation.amount)))

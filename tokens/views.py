"""Token pages: the founder's wizard (token, sale, review), Deploy and its live progress, the company's token
overview; the public sale page with the investor's purchase panel; and two small devnet helpers the page's
development wallet needs (a JSON-RPC relay and a faucet)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_countries import countries
from eth_utils.address import is_address, to_checksum_address

from accounts.requests import AuthenticatedRequest
from companies.choices import CAN_EDIT
from companies.models import Company, Membership
from companies.permissions import company_membership_required
from compliance.audit import Actor
from config.forms import form_add_service_errors
from contracts import load_artifact
from tokens import selectors, services
from tokens.chain import minter
from tokens.choices import DeployStatus, IntentState, PaymentAsset, SaleState
from tokens.forms import SaleForm, TokenForm
from tokens.models import Sale, Token
from tokens.units import format_amount, tokens_for

logger = logging.getLogger(__name__)


def _steps() -> list[tuple[str, Any]]:
    return [("token", gettext_lazy("Token")), ("sale", gettext_lazy("Sale")), ("review", gettext_lazy("Review"))]


def page_context(membership: Membership, **extra: Any) -> dict[str, Any]:
    return {"company": membership.company, "membership": membership, "can_edit": membership.role in CAN_EDIT,
            "steps": _steps(), **extra}


def token_or_404(company: Company, pk: int) -> Token:
    token = Token.objects.filter(company=company, pk=pk).first()
    if token is None:
        raise Http404
    return token


def _verified_address(request: AuthenticatedRequest) -> str:
    wallet = selectors.wallet_list_verified(user=request.user).first()
    return wallet.address if wallet is not None else ""


# --- the founder's pages ------------------------------------------------------------------------------------


@login_required
def overview(request: AuthenticatedRequest, slug: str) -> HttpResponse:
    """The company's tokens, each with its sales and where they stand."""
    membership = company_membership_required(user=request.user, slug=slug)
    return render(request, "tokens/overview.html", page_context(
        membership, tokens=selectors.token_list(company=membership.company)))


@login_required
def token_edit(request: AuthenticatedRequest, slug: str, pk: int | None = None) -> HttpResponse:
    """Step 1: the token. A new one is created as a draft; a draft is changed in place; then on to its sale."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    token = token_or_404(company, pk) if pk is not None else None
    if token is not None and token.deploy_status != DeployStatus.DRAFT:
        messages.error(request, _("A deployed token cannot be changed."))
        return redirect("tokens:overview", slug=company.slug)
    initial = TokenForm.initial_from(token) if token else {"admin_address": _verified_address(request)}
    form = TokenForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            if token is None:
                token = services.token_create(actor=actor, company=company, **form.service_fields())
            else:
                token = services.token_update(actor=actor, token=token, **form.service_fields())
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            draft = token.sales.filter(state=SaleState.DRAFT).order_by("-pk").first()
            if draft is not None:
                return redirect("tokens:sale_edit", slug=company.slug, pk=draft.pk)
            return redirect("tokens:sale_new", slug=company.slug, token_pk=token.pk)
    draft_sale = token.sales.filter(state=SaleState.DRAFT).order_by("-pk").first() if token else None
    return render(request, "tokens/token_edit.html", page_context(
        membership, form=form, token=token, sale=draft_sale, step="token"), status=400 if form.errors else 200)


@login_required
def sale_edit(request: AuthenticatedRequest, slug: str, pk: int | None = None,
              token_pk: int | None = None) -> HttpResponse:
    """Step 2: the sale's terms: a new sale of the token `token_pk`, or the draft sale `pk`."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    company = membership.company
    sale: Sale | None = None
    if pk is not None:
        sale = selectors.sale_get(company=company, pk=pk)
        token = sale.token
        if sale.state != SaleState.DRAFT:
            messages.error(request, _("Only a draft sale can be changed."))
            return redirect("tokens:sale_review", slug=company.slug, pk=sale.pk)
    elif token_pk is not None:
        token = token_or_404(company, token_pk)
    else:
        raise Http404
    if sale is not None:
        initial = SaleForm.initial_from(sale)
    else:
        now = timezone.localtime().replace(second=0, microsecond=0)
        initial = {"treasury_address": token.admin_address or _verified_address(request),
                   "starts_at": now + timedelta(days=1), "ends_at": now + timedelta(days=31)}
    form = SaleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        try:
            if sale is None:
                sale = services.sale_create(actor=actor, token=token, **form.service_fields())
            else:
                sale = services.sale_update(actor=actor, sale=sale, **form.service_fields())
        except ValidationError as error:
            form_add_service_errors(form, error)
        else:
            return redirect("tokens:sale_review", slug=company.slug, pk=sale.pk)
    return render(request, "tokens/sale_edit.html", page_context(
        membership, form=form, token=token, sale=sale, step="sale"), status=400 if form.errors else 200)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    return f"{local:%Y-%m-%d %H:%M} {timezone.get_current_timezone_name()}"


def _days(delta: Any) -> str:
    days = delta.days
    if days and not delta.seconds:
        return _("%(days)s days") % {"days": days}
    hours = int(delta.total_seconds() // 3600)
    return _("%(hours)s hours") % {"hours": hours}


def sale_terms_in_words(sale: Sale) -> list[tuple[str, str]]:
    """Every term of the sale as a founder (and a lawyer) reads it: "0.001 ETH per LUMEN"."""
    token = sale.token

    def pay(amount: Any) -> str:  # Uint256Field values are ints at run time
        return format_amount(int(amount), sale.payment_decimals, sale.payment_symbol)

    def tokens(amount: Any) -> str:
        return format_amount(int(amount), token.decimals, token.symbol, places=4)

    names = dict(countries)
    open_to = ", ".join(str(names.get(code, code)) for code in sale.jurisdictions) or _(
        "Everywhere the exemption allows")
    payment = _("Ether (ETH)") if sale.payment_asset == PaymentAsset.ETH else _(
        "%(symbol)s, the stablecoin at %(address)s (%(decimals)s decimals)") % {
        "symbol": sale.payment_symbol, "address": sale.payment_token_address, "decimals": sale.payment_decimals}
    hard_tokens = tokens_for(int(sale.hard_cap), price=int(sale.price), token_decimals=token.decimals)
    return [
        (_("Token"), _("%(name)s (%(symbol)s): at most %(cap)s will ever exist, %(decimals)s decimals") % {
            "name": token.name, "symbol": token.symbol, "cap": tokens(token.supply_cap), "decimals": token.decimals}),
        (_("Company's admin address"), token.admin_address),
        (_("Transfers unlock"), _when(token.lockup_end) or _("No lock-up: buyers can transfer at once")),
        (_("Investor token pool"), tokens(token.investor_pool)),
        (_("Paid in"), payment),
        (_("Price"), _("%(price)s per %(symbol)s") % {"price": pay(sale.price), "symbol": token.symbol}),
        (_("Hard cap"), _("%(cap)s: sells at most %(tokens)s") % {"cap": pay(sale.hard_cap),
                                                                  "tokens": tokens(hard_tokens)}),
        (_("Soft cap"), _("%(cap)s: below it, every buyer can take their money back") % {"cap": pay(sale.soft_cap)}),
        (_("Per investor"), _("from %(minimum)s to %(maximum)s") % {"minimum": pay(sale.min_per_investor),
                                                                    "maximum": pay(sale.max_per_investor)}),
        (_("Opens"), _when(sale.starts_at)),
        (_("Closes"), _when(sale.ends_at)),
        (_("Time to finalize"), _("%(time)s after the close; after that anyone may turn on refunds") % {
            "time": _days(sale.finalize_grace)}),
        (_("Claim period"), _("%(time)s after finalizing") % {"time": _days(sale.claim_period)}),
        (_("Treasury"), sale.treasury_address),
        (_("Allocation"), str(sale.get_allocation_mode_display())),
        (_("Who may buy"), str(sale.get_eligibility_mode_display())),
        (_("Exemption"), str(sale.get_exemption_display())),
        (_("Open to residents of"), open_to),
        (_("Card payments"), _("Accepted") if sale.accepts_card else _("Not accepted")),
    ]


@login_required
def sale_review(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """Step 3: every term in words, and Deploy (for a draft); afterwards the sale's page for the team."""
    membership = company_membership_required(user=request.user, slug=slug)
    sale = selectors.sale_get(company=membership.company, pk=pk)
    deployed = sale.state not in (SaleState.DRAFT, SaleState.DEPLOYING)
    totals = selectors.sale_totals(sale) if deployed else None
    return render(request, "tokens/sale_review.html", page_context(
        membership, sale=sale, token=sale.token, terms=sale_terms_in_words(sale), step="review", totals=totals,
        pending=services.sale_action_pending(sale) if deployed else None,
        finalize_refusal=services.sale_finalize_refusal(sale, raised=totals.raised) if totals else None))


SALE_ACTION_DONE = {
    "finalize": gettext_lazy("Finalizing: the transaction is on its way. Buyers can claim once it confirms."),
    "pause": gettext_lazy("Pausing purchases: the transaction is on its way."),
    "resume": gettext_lazy("Resuming purchases: the transaction is on its way."),
}


@login_required
@require_POST
def sale_action(request: AuthenticatedRequest, slug: str, pk: int, action: str) -> HttpResponse:
    """Finalize, pause or resume a deployed sale: one outbox intent each; the page shows it until it confirms."""
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    sale = selectors.sale_get(company=membership.company, pk=pk)
    actor = Actor.from_request(request)
    try:
        if action == "finalize":
            services.sale_finalize(actor=actor, sale=sale)
        else:
            services.sale_pause(actor=actor, sale=sale, paused=action == "pause")
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, SALE_ACTION_DONE[action])
    return redirect("tokens:sale_review", slug=membership.company.slug, pk=sale.pk)


@login_required
@require_POST
def sale_deploy(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    membership = company_membership_required(user=request.user, slug=slug, roles=CAN_EDIT)
    sale = selectors.sale_get(company=membership.company, pk=pk)
    try:
        services.sale_deploy(actor=Actor.from_request(request), sale=sale)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("tokens:sale_review", slug=membership.company.slug, pk=sale.pk)
    return redirect("tokens:sale_deployment", slug=membership.company.slug, pk=sale.pk)


INTENT_LABELS = {
    "token.deploy": gettext_lazy("Deploy the token contract"),
    "sale.deploy": gettext_lazy("Deploy the sale contract"),
    "sale.grant_minter": gettext_lazy("Let the sale mint the tokens it sells"),
    "token.grant_distributor": gettext_lazy("Let the platform deliver allocations and converted warrants"),
    "token.distributor_ceiling": gettext_lazy("Cap what the platform may deliver at the pool and allocations"),
    "token.handover_admin": gettext_lazy("Give the token's admin role to the company's address"),
    "token.renounce_admin": gettext_lazy("The platform gives up the token's admin role"),
}


@login_required
def sale_deployment(request: AuthenticatedRequest, slug: str, pk: int) -> HttpResponse:
    """The deployment's transactions as steps, refreshed every 2 seconds until all are confirmed or one failed."""
    membership = company_membership_required(user=request.user, slug=slug)
    sale = selectors.sale_get(company=membership.company, pk=pk)
    # The deployment's own steps: later intents of the sale (finalize, pause) have their own pages.
    intents = [intent for intent in services.sale_intents(sale) if intent.purpose in INTENT_LABELS]
    failed = any(intent.state == IntentState.FAILED for intent in intents)
    steps_done = sum(intent.state == IntentState.CONFIRMED for intent in intents)
    steps = len(intents)
    # A later sale of a launched token: the company's address grants the minter role, the last step.
    grant, granted = None, False
    if sale.minter_by_company and intents:
        granted = sale.state != SaleState.DEPLOYING and sale.state != SaleState.DRAFT
        grant = minter.minter_grant_call(sale) if sale.address and not granted else None
        steps += 1
        steps_done += granted
    done = bool(intents) and steps_done == steps
    context = page_context(membership, sale=sale, token=sale.token, done=done, failed=failed,
                           polling=bool(intents) and not done and not failed, steps_done=steps_done, steps=steps,
                           grant=grant, granted=granted,
                           intents=[(INTENT_LABELS[intent.purpose], intent) for intent in intents])
    template = "tokens/_deployment_steps.html" if request.htmx else "tokens/sale_deployment.html"
    return render(request, template, context)


# --- the public sale page ------------------------------------------------------------------------------------

PAGE_FUNCTIONS = {"buy", "buyWithProof", "buyWithVoucher", "claim", "refund", "allocationOf", "contributionOf"}


def _sale_abi() -> list[dict[str, Any]]:
    """What the page's script needs of TrancheSale's ABI: the functions it calls and every custom error, so a
    revert is decoded into the contract's error name and arguments."""
    return [entry for entry in load_artifact("TrancheSale").abi
            if entry["type"] == "error" or (entry["type"] == "function" and entry["name"] in PAGE_FUNCTIONS)]


def revert_messages() -> dict[str, str]:
    """The contract's custom errors in sentences; {name} is filled by the script from the error's arguments."""
    return {
        "NotAllowlisted": _("This wallet is not on the allowlist."),
        "SaleEnded": _("The sale has ended."),
        "SaleNotStarted": _("The sale has not started yet: it opens {start}."),
        "InvestorMaximumExceeded": _(
            "That would bring your total to {total}, above the maximum per investor of {maximum}."),
        "InvestorMinimumNotMet": _("Your total would be {total}, below the minimum per investor of {minimum}."),
        "HardCapExceeded": _("That would bring the sale to {total}, above its hard cap of {hardCap}: buy less."),
        "IncorrectPayment": _("The wallet sent {sent} instead of {expected}."),
        "SaleNotActive": _("The sale no longer takes purchases."),
        "EnforcedPause": _("The sale is paused."),
        "VoucherExpired": _("Your purchase voucher has expired: reload the page for a new one."),
        "InvalidVoucherSignature": _("The purchase voucher is not valid for this sale."),
        "VoucherWalletMismatch": _("The purchase voucher is for another wallet."),
        "InvalidMerkleProof": _("This wallet is not on the sale's list of approved wallets."),
        "WrongEligibilityMode": _("This kind of purchase is not how this sale checks buyers."),
        "MissingInvestorId": _("The purchase voucher names no investor."),
        "NotFinalized": _("The sale has not been finalized yet."),
        "AlreadySettled": _("This wallet has already claimed."),
        "NothingToSettle": _("This wallet has nothing to claim."),
        "ClaimPeriodOver": _("The claim period is over."),
        "NotInRefundMode": _("The sale is not refunding."),
        "ZeroAmount": _("Enter an amount above zero."),
        "_rejected": _("You declined the transaction in your wallet."),
        "_funds": _("This wallet does not hold enough to pay for this and its gas."),
        "_unknown": _("The transaction was refused ({name})."),
        "_failed": _("The transaction could not be sent."),
        # What the panel says along the way.
        "_no_provider": _("No browser wallet was found. Install one such as MetaMask, or use the development wallet."),
        "_connecting": _("Asking your wallet for its address…"),
        "_wrong_chain": _("Your wallet is on another network: switch it to chain {chainId} and try again."),
        "_not_linked": _("This wallet is not linked to your account: link it on the Wallets page first."),
        "_no_account": _("Your wallet did not share an account."),
        "_amount": _("Enter an amount, for example 0.5."),
        "_too_precise": _("That amount has more decimal places than {symbol} allows."),
        "_approving": _("Confirm the approval in your wallet: it lets the sale take {amount}."),
        "_confirm": _("Confirm the transaction in your wallet."),
        "_sent": _("Purchase sent — waiting for the block."),
        "_mined": _("In block {block}. Your purchase appears in the list as soon as the platform reads it."),
        "_claim_sent": _("Sent — waiting for the block."),
        "_claim_mined": _("Done, in block {block}."),
        "_faucet_done": _("The test money arrived."),
        "_balance": _("Balance: {balance}"),
        "_allocation": _("The contract says this wallet paid {paid} for {tokens}; refundable: {refund}."),
    }


def _sale_phase(sale: Sale, now: datetime) -> str:
    """What the sale page says about time: upcoming, open, closed (not yet settled), or the settled state."""
    if sale.state in (SaleState.SCHEDULED, SaleState.LIVE):
        if now < sale.starts_at:
            return "upcoming"
        return "open" if now < sale.ends_at else "closed"
    return str(sale.state)


def _public_context(request: HttpRequest, sale: Sale) -> dict[str, Any]:
    now = timezone.now()
    totals = selectors.sale_totals(sale)
    user = request.user if request.user.is_authenticated else None
    panel = selectors.investor_panel(sale=sale, user=user, totals=totals, now=now) if user is not None else None
    phase = _sale_phase(sale, now)
    return {
        "company": sale.token.company, "sale": sale, "token": sale.token, "totals": totals, "now": now,
        "phase": phase, "purchases": selectors.sale_purchase_list_recent(sale), "panel": panel,
        "polling": sale.state not in (SaleState.FINALIZED, SaleState.FAILED),
        "time_zone": timezone.get_current_timezone_name(),
        "tokens_per_unit": tokens_for(10**sale.payment_decimals, price=int(sale.price), token_decimals=sale.token.decimals),
    }


def sale_public(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The sale as anyone sees it once deployed, live; a signed-in investor also gets the purchase panel."""
    sale = selectors.sale_get_public(slug=slug, pk=pk)
    context = _public_context(request, sale)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "tokens/_sale_live.html", context)
    context.update({
        "chain_id": settings.CHAIN_ID, "dev_wallet": settings.CHAIN_ID == settings.DEVNET_CHAIN_ID,
        "sale_abi": _sale_abi(), "revert_messages": revert_messages(),
        "wallet_addresses": [wallet.address for wallet in context["panel"].wallets] if context["panel"] else [],
    })
    return render(request, "tokens/sale_public.html", context)


@login_required
def sale_purchase_terms(request: AuthenticatedRequest, slug: str, pk: int) -> JsonResponse:
    """What a purchase from one of the investor's verified wallets must carry: nothing more (allowlist), a merkle
    proof, or a signed voucher. Only for an eligible investor's own wallet."""
    sale = selectors.sale_get_public(slug=slug, pk=pk)
    wallet = request.GET.get("wallet", "")
    verified = {address.lower(): address for address in
                selectors.wallet_list_verified(user=request.user).values_list("address", flat=True)}
    if wallet.lower() not in verified:
        return JsonResponse({"detail": _("Link this wallet to your account first (Wallets).")}, status=403)
    panel = selectors.investor_panel(sale=sale, user=request.user, totals=selectors.sale_totals(sale))
    if not panel.eligibility.eligible:
        return JsonResponse({"detail": _(panel.eligibility.message)}, status=403)  # noqa: INT001
    address = verified[wallet.lower()]
    mode = sale.eligibility_mode
    from tokens import eligibility as sale_eligibility

    try:
        if mode == "merkle":
            return JsonResponse({"mode": mode, "proof": sale_eligibility.merkle_proof(sale, address)})
        if mode == "voucher":
            voucher = sale_eligibility.voucher_for(sale=sale, investor=request.user, wallet=address)
            return JsonResponse({"mode": mode, "signature": voucher["signature"], "voucher": {
                "investorId": voucher["investor_id"], "wallet": voucher["wallet"],
                "maxAmount": voucher["max_amount"], "expiry": voucher["expiry"]}})
    except ValidationError as error:  # NotEligible: the sentence says why
        return JsonResponse({"detail": " ".join(error.messages)}, status=403)
    return JsonResponse({"mode": mode})


# --- the development wallet's helpers (devnet only) ----------------------------------------------------------


def _devnet_only() -> None:
    if settings.CHAIN_ID != settings.DEVNET_CHAIN_ID:
        raise Http404


@csrf_exempt  # a relay of signed transactions and public reads: the session grants nothing a forged request could use
@require_POST
def chain_rpc(request: HttpRequest) -> JsonResponse:
    """POST /chain/rpc: the development wallet's node, same-origin (the devnet sends no CORS headers). Signed-in
    users only, one call per request, the methods of `tokens.chain.relay.METHODS`; the devnet only."""
    from tokens.chain.relay import rpc_relay

    _devnet_only()
    if not request.user.is_authenticated:
        return JsonResponse({"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": "Sign in first."}},
                            status=403)
    try:
        call = json.loads(request.body)
    except ValueError:
        call = None
    if not isinstance(call, dict) or not isinstance(call.get("method"), str) \
            or not isinstance(call.get("params", []), list):
        return JsonResponse({"jsonrpc": "2.0", "id": None,
                             "error": {"code": -32600, "message": "One JSON-RPC call per request."}}, status=400)
    try:
        answer = rpc_relay(call.get("id"), call["method"], call.get("params", []))
    except OSError:
        logger.warning("chain relay: the node did not answer", exc_info=True)
        answer = {"jsonrpc": "2.0", "id": call.get("id"), "error": {"code": -32603, "message": "The node is down."}}
    return JsonResponse(answer)


FAUCET_EVERY = 3600  # seconds: one faucet payment per wallet per hour
FAUCET_DOLLARS = 10_000  # whole units of a sale's test dollar, with the ether


@login_required
@require_POST
def faucet(request: AuthenticatedRequest) -> JsonResponse:
    """Ten test ether for a development wallet, and 10,000 of the sale's test dollar when the page's sale is paid
    in one anyone may mint; once per wallet per hour; the devnet only."""
    from tokens.chain.faucet import FAUCET_WEI, faucet_mint, faucet_send

    _devnet_only()
    address = request.POST.get("address", "")
    if not is_address(address):
        return JsonResponse({"detail": _("That is not a wallet address.")}, status=400)
    sale_id = request.POST.get("sale", "")
    sale = (Sale.objects.filter(pk=int(sale_id), payment_asset=PaymentAsset.ERC20,
                                token__chain_id=settings.CHAIN_ID).first()
            if sale_id.isascii() and sale_id.isdigit() and len(sale_id) < 12 else None)
    key = f"tokens:faucet:{address.lower()}"
    if not cache.add(key, 1, timeout=FAUCET_EVERY):
        return JsonResponse({"detail": _("This wallet received test money less than an hour ago.")}, status=429)
    try:
        tx_hash = faucet_send(address)
    except Exception:  # the node is down or refused: let the person try again at once
        logger.warning("faucet: sending failed", exc_info=True)
        cache.delete(key)
        return JsonResponse({"detail": _("The devnet did not take the transaction; try again.")}, status=502)
    ether = format_amount(FAUCET_WEI, 18, "ETH")
    detail = _("%(ether)s are on their way to %(address)s.") % {"ether": ether, "address": address}
    if sale is not None:
        try:  # the ether went: whatever happens to the dollars, this wallet has had its turn
            minted = faucet_mint(address, coin=sale.payment_token_address, whole=FAUCET_DOLLARS)
        except Exception:  # noqa: BLE001 - logged; the ether is on its way all the same
            logger.warning("faucet: minting the test dollar failed", exc_info=True)
            minted = None
        if minted is not None:
            tx_hash, dollars = minted
            detail = _("%(ether)s and %(dollars)s are on their way to %(address)s.") % {
                "ether": ether, "dollars": format_amount(dollars, sale.payment_decimals, sale.payment_symbol),
                "address": address}
    return JsonResponse({"tx_hash": tx_hash, "address": to_checksum_address(address), "detail": detail})

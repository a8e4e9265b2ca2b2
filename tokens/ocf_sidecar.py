"""The tokens of an OCF package: Open Cap Format has no token objects, so the company's export carries its tokens,
their sales (terms), token warrants and allocations in a sidecar file of the package, `tranche-tokens.json`,
beside the OCF files and not listed in the manifest (other OCF tools ignore it). The import reads it back in the
same transaction as the cap table, so export → import → export gives the same sidecar.

Stakeholders are named by their OCF ids (the package's own), a warrant's SAFE or stock by its OCF security id.
Amounts are strings of base units, times ISO 8601 in UTC, durations whole seconds. What happened on-chain
(intents, events, purchases) is not carried: a deployed token or sale keeps its address and deployment block, and
the scanner reads its history again from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from companies.models import Company
from compliance.audit import Actor
from compliance.services import audit_record
from equity.models import Stakeholder
from tokens.choices import ContractKind
from tokens.models import Sale, Token, TokenAllocation, TokenWarrant, WatchedContract

SIDECAR_NAME = "tranche-tokens.json"
FILE_TYPE = "TRANCHE_TOKENS_FILE"
VERSION = 1

TOKEN_FIELDS = ("name", "symbol", "decimals", "supply_cap", "admin_address", "lockup_end", "investor_pool",
                "distributor_ceiling", "chain_id", "address", "deploy_status", "deploy_block")
SALE_FIELDS = ("name", "state", "payment_asset", "payment_token_address", "payment_symbol", "payment_decimals",
               "price", "soft_cap", "hard_cap", "min_per_investor", "max_per_investor", "starts_at", "ends_at",
               "finalize_grace", "claim_period", "treasury_address", "allocation_mode", "shard_count",
               "eligibility_mode", "merkle_root", "exemption", "jurisdictions", "accepts_card", "address",
               "deploy_block", "minter_by_company", "accepted_total", "tokens_for_sale")
WARRANT_FIELDS = ("kind", "token_amount", "price_per_token", "currency", "state", "converted_at")
ALLOCATION_FIELDS = ("kind", "label", "beneficiary_address", "amount", "vesting_start", "cliff", "duration",
                     "vesting_address", "released", "exercise_price", "exercise_payment_key", "exercise_payout",
                     "state")
UINT_FIELDS = {"supply_cap", "investor_pool", "distributor_ceiling", "price", "soft_cap", "hard_cap",
               "min_per_investor", "max_per_investor", "accepted_total", "tokens_for_sale", "token_amount", "amount",
               "released"}
TIME_FIELDS = {"lockup_end", "starts_at", "ends_at", "converted_at", "vesting_start"}
DURATION_FIELDS = {"finalize_grace", "claim_period", "cliff", "duration"}


def _out(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in UINT_FIELDS:
        return str(int(value))
    if name in TIME_FIELDS:
        return value.isoformat().replace("+00:00", "Z")
    if name in DURATION_FIELDS:
        return int(value.total_seconds())
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _in(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in UINT_FIELDS:
        if not isinstance(value, str) or not value.isdigit():
            raise ValueError(_("a whole number of base units, as a string"))
        return int(value)
    if name in TIME_FIELDS:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            raise ValueError(_("a time with its time zone"))
        return moment
    if name in DURATION_FIELDS:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(_("whole seconds"))
        return timedelta(seconds=value)
    if name in ("price_per_token", "exercise_price"):
        return Decimal(str(value))
    return value


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: _out(name, getattr(obj, name)) for name in names}


def token_id(token: Token) -> str:
    return f"token-{token.symbol.lower()}"


def tokens_sidecar(*, company: Company, stakeholder_ids: Mapping[str, str]) -> dict[str, Any] | None:
    """The sidecar of the company's tokens, or None when it has none (no token, warrant or allocation)."""
    tokens = list(Token.objects.filter(company=company).order_by("symbol", "pk"))
    warrants = list(TokenWarrant.objects.filter(company=company)
                    .select_related("stakeholder", "investment__security").order_by("created_at", "pk"))
    if not tokens and not warrants:
        return None
    warrant_ids = {warrant.pk: f"token-warrant-{n}" for n, warrant in enumerate(warrants, start=1)}
    items_tokens: list[dict[str, Any]] = []
    allocations: list[dict[str, Any]] = []
    for token in tokens:
        sales = [_fields(sale, SALE_FIELDS) for sale in Sale.objects.filter(token=token).order_by("starts_at", "pk")]
        items_tokens.append({"id": token_id(token), **_fields(token, TOKEN_FIELDS), "sales": sales})
        for allocation in TokenAllocation.objects.filter(token=token).select_related("stakeholder").order_by("pk"):
            allocations.append({
                "id": f"token-allocation-{len(allocations) + 1}", "token_id": token_id(token),
                "stakeholder_id": stakeholder_ids[allocation.stakeholder.name] if allocation.stakeholder else None,
                "warrant_id": warrant_ids.get(allocation.warrant_id) if allocation.warrant_id else None,
                **_fields(allocation, ALLOCATION_FIELDS)})
    items_warrants = []
    for warrant in warrants:
        security = warrant.security_ref
        if warrant.investment is not None and warrant.investment.security is not None:
            security = warrant.investment.security.security_ref
        items_warrants.append({"id": warrant_ids[warrant.pk], "stakeholder_id": stakeholder_ids[warrant.stakeholder.name],
                               "security_id": security or None, **_fields(warrant, WARRANT_FIELDS)})
    return {
        "file_type": FILE_TYPE, "version": VERSION,
        "comments": ["Tranche's tokens of this company: OCF has no token objects. Stakeholders by their OCF ids, "
                     "amounts in base units."],
        "tokens": items_tokens, "warrants": items_warrants, "allocations": allocations,
    }


class _Errors:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, field: str | None, message: str) -> None:
        self.messages.append(f"{SIDECAR_NAME}, {where}" + (f", field {field}" if field else "") + f": {message}")

    def build(self, where: str, model: type[Any], values: dict[str, Any], names: tuple[str, ...],
              item: Mapping[str, Any], *, exclude: list[str] | None = None) -> Any | None:
        """A model instance from the item's fields, checked with full_clean; None (and errors noted) if not."""
        for name in names:
            if name not in item:
                continue
            try:
                values[name] = _in(name, item[name])
            except (ValueError, InvalidOperation) as error:
                self.add(where, name, _("expected %(what)s.") % {"what": error} if str(error) else _("invalid."))
                return None
        instance = model(**values)
        try:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=True)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                for message in messages:
                    self.add(where, None if field == "__all__" else field, message)
            return None
        return instance


def tokens_sidecar_import(*, actor: Actor, company: Company, document: Any,
                          stakeholder_names: Mapping[str, str]) -> dict[str, int]:
    """Write the sidecar's tokens, sales, warrants and allocations into `company` (run inside the OCF import's
    transaction, after its stakeholders exist). `stakeholder_names` maps the package's OCF stakeholder ids to
    names. Raises ValidationError naming the item and field of every problem, before writing anything."""
    errors = _Errors()
    if not isinstance(document, dict) or document.get("file_type") != FILE_TYPE:
        raise ValidationError([f"{SIDECAR_NAME}: not a Tranche tokens file (file_type {FILE_TYPE})."])
    if document.get("version") != VERSION:
        raise ValidationError([f"{SIDECAR_NAME}: version {document.get('version')!r} is not one Tranche reads "
                               f"({VERSION})."])
    people = {s.name: s for s in Stakeholder.objects.filter(company=company)}

    def stakeholder(where: str, ocf_id: Any, required: bool) -> tuple[bool, Stakeholder | None]:
        """(found, the stakeholder): (True, None) for an allocation of nobody on the cap table (treasury)."""
        if ocf_id is None and not required:
            return True, None
        name = stakeholder_names.get(ocf_id) if isinstance(ocf_id, str) else None
        if name is None or name not in people:
            errors.add(where, "stakeholder_id", _("%(id)r is not a stakeholder of the package.") % {"id": ocf_id})
            return False, None
        return True, people[name]

    def each(key: str) -> list[dict[str, Any]]:
        items = document.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            errors.add(key, None, _("expected a list of objects."))
            return []
        return items

    sales_planned: list[tuple[Sale, Token]] = []
    tokens: dict[str, Token] = {}
    for item in each("tokens"):
        where = str(item.get("id", "token"))
        if item.get("address") and Token.objects.filter(chain_id=item.get("chain_id") or 0,
                                                        address__iexact=item["address"]).exists():
            errors.add(where, "address", _("a token at this address is already on the platform (in another "
                                           "company): a token has one issuer."))
            continue
        token = errors.build(where, Token, {"company": company, "created_by": actor.user}, TOKEN_FIELDS, item,
                             exclude=["company", "created_by"])
        if token is None:
            continue
        if Token.objects.filter(company=company, symbol__iexact=token.symbol).exists():
            errors.add(where, "symbol", _("the company already has a token %(symbol)s.") % {"symbol": token.symbol})
        tokens[where] = token
        sales = item.get("sales", [])
        for n, sale_item in enumerate(sales if isinstance(sales, list) else [], start=1):
            sale_where = f"{where}, sale {n}"
            if sale_item.get("address") and Sale.objects.filter(address__iexact=sale_item["address"]).exists():
                errors.add(sale_where, "address", _("a sale at this address is already on the platform."))
                continue
            sale = errors.build(sale_where, Sale, {"token": token, "created_by": actor.user}, SALE_FIELDS, sale_item,
                                exclude=["token", "created_by"])
            if sale is not None:
                sales_planned.append((sale, token))
    warrants: dict[str, TokenWarrant] = {}
    for item in each("warrants"):
        where = str(item.get("id", "warrant"))
        found, holder = stakeholder(where, item.get("stakeholder_id"), required=True)
        if not found:
            continue
        warrant = errors.build(where, TokenWarrant, {"company": company, "stakeholder": holder,
                                                     "security_ref": item.get("security_id") or "",
                                                     "created_by": actor.user}, WARRANT_FIELDS, item,
                               exclude=["company", "stakeholder", "created_by"])
        if warrant is not None:
            warrants[where] = warrant
    allocations: list[tuple[TokenAllocation, str, str | None]] = []
    for item in each("allocations"):
        where = str(item.get("id", "allocation"))
        token_key = item.get("token_id")
        if token_key not in tokens:
            errors.add(where, "token_id", _("%(id)r is not a token of this file.") % {"id": token_key})
            continue
        found, holder = stakeholder(where, item.get("stakeholder_id"), required=False)
        if not found:
            continue
        warrant_key = item.get("warrant_id")
        if warrant_key is not None and warrant_key not in warrants:
            errors.add(where, "warrant_id", _("%(id)r is not a warrant of this file.") % {"id": warrant_key})
            continue
        allocation = errors.build(where, TokenAllocation, {"token": tokens[token_key], "stakeholder": holder,
                                                           "user": holder.user if holder else None},
                                  ALLOCATION_FIELDS, item, exclude=["token", "stakeholder", "user", "warrant"])
        if allocation is not None:
            allocations.append((allocation, token_key, warrant_key))
    if errors.messages:
        raise ValidationError(errors.messages)
    for token in tokens.values():
        token.save()
        _watch(token.chain_id, token.address, ContractKind.TOKEN, token.deploy_block, token=token)
    for sale, token in sales_planned:
        _save_sale(sale, token)
    for warrant in warrants.values():
        warrant.save()
    for allocation, token_key, warrant_key in allocations:
        allocation.token = tokens[token_key]
        allocation.warrant = warrants[warrant_key] if warrant_key else None
        if allocation.exercise_payment_key and not allocation.exercise_payout:
            from payments.warrant_exercises import RECORDED

            # Paid for where the file came from: that money is not held here, so nothing is paid out from here.
            allocation.exercise_payout = RECORDED
        allocation.save()
        _watch(allocation.token.chain_id, allocation.vesting_address, ContractKind.VESTING,
               allocation.token.deploy_block, token=allocation.token, allocation=allocation)
    counts = {"tokens": len(tokens), "sales": len(sales_planned), "warrants": len(warrants), "allocations": len(allocations)}
    audit_record(actor=actor, action="tokens.ocf_sidecar_import", target=company, company_id=company.pk,
                 changes=counts)
    return counts


def _save_sale(sale: Sale, token: Token) -> None:
    sale.token = token
    sale.save()
    _watch(token.chain_id, sale.address, ContractKind.SALE, sale.deploy_block, token=None, sale=sale)


def _watch(chain_id: int, address: str, kind: str, block: int | None, **links: Any) -> None:
    """A deployed contract of the package is read again by the scanner from its deployment block."""
    if not address or block is None:
        return
    WatchedContract.objects.get_or_create(chain_id=chain_id, address__iexact=address,
                                          defaults={"address": address, "kind": kind, "start_block": block, **links})


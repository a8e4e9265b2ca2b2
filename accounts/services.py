from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import wallets
from accounts.models import User, Wallet, WalletNonce
from compliance.audit import Actor
from compliance.services import audit_record, model_changes


@transaction.atomic
def user_update_profile(*, actor: Actor, user: User, full_name: str, preferred_language: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    changes = model_changes(user, {"full_name": full_name.strip(), "preferred_language": preferred_language})
    if changes:
        user.full_clean()
        user.save(update_fields=list(changes))
        audit_record(actor=actor, action="user.update_profile", target=user, changes=changes)
    return user


@transaction.atomic
def api_token_rotate(*, actor: Actor, user: User) -> Token:
    """Replace the user's API token with a new one; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    audit_record(actor=actor, action="user.api_token_rotate", target=user)
    return token


@transaction.atomic
def api_token_revoke(*, actor: Actor, user: User) -> None:
    if Token.objects.filter(user=user).delete()[0]:
        audit_record(actor=actor, action="user.api_token_revoke", target=user)


# A person signs within minutes of asking; a nonce older than this is refused and a new one must be asked for.
WALLET_NONCE_LIFETIME = timedelta(minutes=10)
# What the wallet shows above the message's fields. EIP-4361 allows only ASCII here, so it is not translated.
WALLET_LINK_STATEMENT = "Link this wallet to my Tranche account."
# Unused, unexpired nonces a person may hold at once: enough for several tabs, not a way to fill the table.
WALLET_NONCES_OPEN_MAX = 20


@transaction.atomic
def wallet_nonce_issue(
    *, actor: Actor, user: User, address: str, domain: str, scheme: str, chain_id: int | None = None
) -> tuple[WalletNonce, str]:
    """A one-time nonce for linking `address`, and the EIP-4361 message for the wallet to sign.

    `domain` (host[:port]) and `scheme` come from the request, whose host Django has already checked against
    ALLOWED_HOSTS; the message is only good on that site.
    """
    chain_id = settings.CHAIN_ID if chain_id is None else chain_id
    if chain_id != settings.CHAIN_ID:
        raise ValidationError({"chain_id": _("Tranche uses chain %(ours)s, not %(theirs)s. Switch your wallet's "
                                             "network and try again.") % {"ours": settings.CHAIN_ID, "theirs": chain_id}})
    try:
        address = wallets.address_checksum(address)
    except wallets.SiweError as error:
        raise ValidationError({"address": str(error)}) from error
    now = timezone.now()
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time counts this user's nonces
    WalletNonce.objects.filter(user=user, expires_at__lte=now, used_at__isnull=True).delete()
    if WalletNonce.objects.filter(user=user, used_at__isnull=True).count() >= WALLET_NONCES_OPEN_MAX:
        raise ValidationError(_("Too many wallet links were started at once. Wait a few minutes and try again."))
    nonce = WalletNonce.objects.create(
        user=user, nonce=secrets.token_hex(16), address=address, chain_id=chain_id,
        issued_at=now, expires_at=now + WALLET_NONCE_LIFETIME,
    )
    message = wallets.SiweMessage(
        scheme=scheme, domain=domain, address=address, uri=f"{scheme}://{domain}/",
        statement=WALLET_LINK_STATEMENT,
        chain_id=chain_id, nonce=nonce.nonce, issued_at=now, expiration_time=nonce.expires_at,
    )
    audit_record(actor=actor, action="wallet.nonce_issue", target=nonce,
                 changes={"address": address, "chain_id": chain_id})
    return nonce, message.text()


@transaction.atomic
def wallet_link(
    *, actor: Actor, user: User, message: str, signature: str, domain: str, scheme: str, label: str = ""
) -> Wallet:
    """Link the address that signed `message` to `user`, once the message, its nonce and signature all check out.

    Refusals raise ValidationError and change nothing: the nonce stays unused, no wallet is written.
    """
    # EIP-4361 lines end in LF; an HTML form posts every line break as CRLF, so the signed text is the LF one.
    message = message.replace("\r\n", "\n")
    now = timezone.now()
    try:
        parsed = wallets.message_parse(message)
        wallets.message_check(parsed, domain=domain, scheme=scheme, chain_id=settings.CHAIN_ID, now=now)
        signer = wallets.signer_recover(message, signature)
    except wallets.SiweError as error:
        raise ValidationError(str(error)) from error
    if signer.lower() != parsed.address.lower():
        raise ValidationError(_("The signature was not made by %(address)s. Sign with the wallet the message "
                                "names.") % {"address": parsed.address})

    nonce = WalletNonce.objects.select_for_update().filter(nonce=parsed.nonce, user=user).first()
    if nonce is None:
        raise ValidationError(_("This message was not issued to you by Tranche. Start again to get a new one."))
    if nonce.used_at is not None:
        raise ValidationError(_("This message has already been used. Start again to sign a new one."))
    if nonce.expires_at <= now:
        raise ValidationError(_("This message has expired. Start again to sign a new one."))
    if nonce.address.lower() != parsed.address.lower() or nonce.chain_id != parsed.chain_id:
        raise ValidationError(_("This message was issued for another wallet. Start again to sign a new one."))

    address = wallets.address_checksum(parsed.address)
    taken = Wallet.objects.active().select_for_update().filter(chain_id=parsed.chain_id, address__iexact=address)
    for wallet in taken:
        if wallet.user_id == user.pk:
            raise ValidationError(_("This wallet is already linked to your account."))
        raise ValidationError(_("This wallet is linked to another account. A wallet can belong to one person only."))

    nonce.used_at = now
    nonce.save(update_fields=["used_at"])
    wallet = Wallet(user=user, address=address, chain_id=parsed.chain_id, label=label.strip(), message=message,
                    signature=signature.strip(), verified_at=now)
    wallet.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            wallet.save()
    except IntegrityError as error:  # another account linked the same address a moment ago
        raise ValidationError(_("This wallet is linked to another account. A wallet can belong to one person "
                                "only.")) from error
    audit_record(actor=actor, action="wallet.link", target=wallet,
                 changes={"address": address, "chain_id": wallet.chain_id, "label": wallet.label})
    _eligibility_follow(wallet)
    return wallet


@transaction.atomic
def wallet_remove(*, actor: Actor, wallet: Wallet) -> Wallet:
    """Unlink a wallet: it stops counting as its owner's, and the address may be linked again (by anyone)."""
    wallet = Wallet.objects.select_for_update().get(pk=wallet.pk)
    if wallet.removed_at is None:
        wallet.removed_at = timezone.now()
        wallet.save(update_fields=["removed_at"])
        audit_record(actor=actor, action="wallet.remove", target=wallet,
                     changes={"address": wallet.address, "chain_id": wallet.chain_id})
        _eligibility_follow(wallet)
    return wallet


def _eligibility_follow(wallet: Wallet) -> None:
    """After commit, the owner's eligibility in token sales follows the wallets they hold (tokens.eligibility)."""
    from tokens.tasks import eligibility_refresh_investor

    transaction.on_commit(lambda: eligibility_refresh_investor.delay(wallet.user_id))

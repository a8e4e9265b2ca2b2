"""Tokens and sales made through the services, as a founder makes them, approved investors with a verified
wallet, and a way to wait for the outbox."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.models import User, Wallet
from compliance.audit import Actor
from tests.factories import MembershipFactory, UserFactory, kyc_approved
from tokens import services
from tokens.choices import IntentState
from tokens.models import ChainIntent, Sale, Token

ETH = 10**18
COMPANY_ADDRESS = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"  # devnet account 5: none of the platform keys
TREASURY_ADDRESS = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"  # devnet account 6


def approved_investor(name: str, address: str, **kyc: Any) -> User:
    """An investor whose KYC is approved and whose wallet `address` is linked and verified on the devnet's chain
    (the signature's check is tested with the wallet page)."""
    user = UserFactory(full_name=name)
    kyc_approved(user, **kyc)
    Wallet.objects.create(user=user, address=address, chain_id=31337, message="-", signature="-",
                          verified_at=timezone.now())
    return user


def founder_actor() -> Actor:
    return Actor(user=MembershipFactory(role="owner").user)


def token_for(actor: Actor, **overrides: Any) -> Token:
    company = actor.user.memberships.get().company  # type: ignore[union-attr]
    fields = {"name": "Lumen", "symbol": "LUMEN", "supply_cap": 100_000_000 * ETH, "admin_address": COMPANY_ADDRESS,
              "investor_pool": 1_000_000 * ETH, **overrides}
    return services.token_create(actor=actor, company=company, **fields)


def sale_for(actor: Actor, token: Token, **overrides: Any) -> Sale:
    now = timezone.now()
    fields = {
        "name": "LUMEN public sale", "payment_asset": "eth", "price": ETH // 1000, "soft_cap": 10 * ETH,
        "hard_cap": 100 * ETH, "min_per_investor": ETH // 10, "max_per_investor": 20 * ETH,
        "starts_at": now + timedelta(days=1), "ends_at": now + timedelta(days=30),
        "treasury_address": TREASURY_ADDRESS, "allocation_mode": "fcfs", "eligibility_mode": "allowlist",
        "exemption": "reg_s", **overrides,
    }
    return services.sale_create(actor=actor, token=token, **fields)


def outbox_settle(w3: Any, *, timeout: float = 60, **work: Any) -> int:
    """Run the outbox until no intent is pending, signed or mined, mining an empty block whenever nothing moved
    (confirmations need blocks on top). Returns how many intents moved; fails after `timeout` seconds."""
    from tokens.chain import client, outbox

    moved = 0
    deadline = time.monotonic() + timeout
    unfinished = [IntentState.PENDING, IntentState.SIGNED, IntentState.MINED]
    while ChainIntent.objects.filter(state__in=unfinished).exists():
        assert time.monotonic() < deadline, list(ChainIntent.objects.filter(state__in=unfinished))
        step = outbox.outbox_work(**work)
        moved += step
        if not step:
            client.rpc("evm_mine", w3=w3)
    return moved

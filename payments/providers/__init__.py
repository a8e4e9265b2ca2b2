"""The configured payment provider and escrow agent (`PAYMENTS_PROVIDER`: "sandbox" or "stripe")."""

from __future__ import annotations

from django.conf import settings

from payments.providers.base import EscrowAgent, PaymentProvider


def payment_provider(name: str | None = None) -> PaymentProvider:
    name = name or settings.PAYMENTS_PROVIDER
    if name == "sandbox":
        from payments.providers.sandbox import SandboxProvider

        return SandboxProvider()
    if name == "stripe":
        from payments.providers.stripe import StripeProvider

        return StripeProvider(api_key=settings.STRIPE_SECRET_KEY, webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
                              api_base=settings.STRIPE_API_BASE or None,
                              localstripe=bool(settings.STRIPE_API_BASE))
    raise ValueError(f"unknown payment provider {name!r}")


def escrow_agent(name: str | None = None) -> EscrowAgent:
    name = name or settings.PAYMENTS_PROVIDER
    if name == "sandbox":
        from payments.providers.sandbox import SandboxEscrow

        return SandboxEscrow()
    if name == "stripe":
        from payments.providers.stripe import StripeEscrow

        return StripeEscrow(api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE or None)
    raise ValueError(f"unknown escrow agent {name!r}")

"""Payment and escrow providers (Stripe and a local sandbox), webhooks, refunds, disputes."""

"""The platform's signing keys, one per role, from settings (never from the database).

CHAIN_KEY_<ROLE> (hex) or CHAIN_KEYSTORE_<ROLE> (an encrypted JSON keystore opened with CHAIN_KEYSTORE_PASSWORD).
On the devnet's chain id a role with neither falls back to the dev mnemonic's account for the role, so
`make run` and the tests work with no configuration; on any other chain a missing key is an error.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from eth_account import Account
from eth_account.signers.local import LocalAccount

from devnet.accounts import DEFAULT_MNEMONIC

DEV_ACCOUNT_INDEX = {"deployer": 0, "eligibility": 1, "voucher": 2, "distributor": 3, "faucet": 4}


def dev_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@functools.cache
def signer(role: str, chain_id: int | None = None) -> LocalAccount:
    """The account that signs for `role` (deployer, eligibility, voucher, distributor; `faucet` on the devnet)."""
    chain_id = settings.CHAIN_ID if chain_id is None else chain_id
    key = settings.CHAIN_KEYS.get(role, "")
    if key:
        return Account.from_key(key)
    keystore = settings.CHAIN_KEYSTORES.get(role, "")
    if keystore:
        encrypted = json.loads(Path(keystore).read_text())
        return Account.from_key(Account.decrypt(encrypted, settings.CHAIN_KEYSTORE_PASSWORD))
    if chain_id == settings.DEVNET_CHAIN_ID and role in DEV_ACCOUNT_INDEX:
        return dev_account(DEV_ACCOUNT_INDEX[role])
    raise ImproperlyConfigured(f"No key for the {role} role on chain {chain_id}: set CHAIN_KEY_{role.upper()} "
                               f"or CHAIN_KEYSTORE_{role.upper()}.")


def address(role: str, chain_id: int | None = None) -> str:
    return str(signer(role, chain_id).address)

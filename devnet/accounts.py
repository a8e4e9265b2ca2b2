"""Development accounts derived from a BIP-39 mnemonic, the same ones anvil and hardhat derive."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"


@dataclass(frozen=True)
class DevAccount:
    address: bytes
    key: LocalAccount


def derive_accounts(mnemonic: str, count: int) -> list[DevAccount]:
    Account.enable_unaudited_hdwallet_features()
    accounts = []
    for index in range(count):
        local = Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")
        accounts.append(DevAccount(address=bytes.fromhex(local.address[2:]), key=local))
    return accounts

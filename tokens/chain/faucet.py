"""Test ether for the development wallet, from the devnet's faucet key (never on another chain)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from eth_utils.address import to_checksum_address

from tokens.chain import client, keys

FAUCET_WEI = 10 * 10**18


class FaucetUnavailable(Exception):
    pass


def faucet_send(address: str, *, amount: int = FAUCET_WEI) -> str:
    """Send `amount` wei to `address`; returns the transaction hash (not waiting for the block)."""
    if settings.CHAIN_ID != settings.DEVNET_CHAIN_ID:
        raise FaucetUnavailable("The faucet exists on the devnet only.")
    account = keys.signer("faucet")
    w3 = client.web3()
    transaction: dict[str, Any] = {
        "to": to_checksum_address(address), "value": amount, "gas": 21_000, "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": settings.CHAIN_ID,
    }
    signed = account.sign_transaction(transaction)
    return "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()

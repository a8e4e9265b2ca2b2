"""Test money for the development wallet, from the devnet's faucet key (never on another chain): ether for gas and
ether sales, and the test dollar of a sale paid in the devnet's `MockStablecoin` (anyone may mint it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from eth_utils.address import to_checksum_address

from tokens.chain import client, keys

FAUCET_WEI = 10 * 10**18


class FaucetUnavailable(Exception):
    pass


def _send(to: str, *, value: int = 0, data: bytes = b"", gas: int = 21_000) -> str:
    if settings.CHAIN_ID != settings.DEVNET_CHAIN_ID:
        raise FaucetUnavailable("The faucet exists on the devnet only.")
    account = keys.signer("faucet")
    w3 = client.web3()
    transaction: dict[str, Any] = {
        "to": to_checksum_address(to), "value": value, "data": data, "gas": gas, "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"), "chainId": settings.CHAIN_ID,
    }
    signed = account.sign_transaction(transaction)
    return "0x" + bytes(w3.eth.send_raw_transaction(signed.raw_transaction)).hex()


def faucet_send(address: str, *, amount: int = FAUCET_WEI) -> str:
    """Send `amount` wei to `address`; returns the transaction hash (not waiting for the block)."""
    return _send(address, value=amount)


def faucet_mint(address: str, *, coin: str, amount: int) -> str:
    """Mint `amount` base units of the devnet's test dollar at `coin` to `address`; returns the transaction hash."""
    from tokens.chain.builders import calldata

    return _send(coin, data=calldata("MockStablecoin", coin, "mint", to_checksum_address(address), amount),
                 gas=100_000)

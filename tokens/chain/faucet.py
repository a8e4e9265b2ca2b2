"""Test money for the development wallet, from the devnet's faucet key (never on another chain): ether for gas and
ether sales, and the test dollar of a sale paid in the devnet's `MockStablecoin` (anyone may mint it)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from eth_utils.address import to_checksum_address
from web3.exceptions import ContractLogicError

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


def faucet_mint(address: str, *, coin: str, whole: int) -> tuple[str, int] | None:
    """Mint `whole` units of the test dollar at `coin` (at its own decimals) to `address`: (transaction hash, base
    units), or None when `coin` is no test dollar anyone may mint (the call would revert)."""
    from tokens.chain.builders import calldata

    w3 = client.web3()
    coin = to_checksum_address(coin)
    try:
        answer = bytes(w3.eth.call({"to": coin, "data": calldata("MockStablecoin", coin, "decimals")}))
        if len(answer) != 32:
            return None  # no contract there, or not an ERC-20
        decimals = int.from_bytes(answer, "big")
        amount = whole * 10**decimals
        data = calldata("MockStablecoin", coin, "mint", to_checksum_address(address), amount)
        w3.eth.call({"from": keys.address("faucet"), "to": coin, "data": data})
    except (ContractLogicError, ValueError):
        return None
    return _send(coin, data=data, gas=100_000), amount

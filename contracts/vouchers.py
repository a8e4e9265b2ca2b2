"""EIP-712 purchase vouchers for TrancheSale's voucher eligibility mode.

The platform's voucher signer (an account holding the sale's VOUCHER_SIGNER_ROLE) signs the typed data below;
the investor's wallet passes voucher and signature to `buyWithVoucher`. The domain binds a voucher to one sale
contract on one chain, so it cannot be replayed on another sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

VOUCHER_FIELDS = [
    {"name": "investorId", "type": "bytes32"},
    {"name": "wallet", "type": "address"},
    {"name": "maxAmount", "type": "uint256"},
    {"name": "expiry", "type": "uint64"},
]


@dataclass(frozen=True)
class Voucher:
    investor_id: bytes  # 32 bytes; the platform's stable id of the investor (not personal data)
    wallet: str
    max_amount: int
    expiry: int  # unix seconds, inclusive

    def as_tuple(self) -> tuple[bytes, str, int, int]:
        """The `Voucher` struct argument as web3 expects it."""
        return (self.investor_id, to_checksum_address(self.wallet), self.max_amount, self.expiry)


def voucher_typed_data(voucher: Voucher, *, sale_address: str, chain_id: int) -> dict[str, Any]:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Voucher": VOUCHER_FIELDS,
        },
        "primaryType": "Voucher",
        "domain": {
            "name": "TrancheSale",
            "version": "1",
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(sale_address),
        },
        "message": {
            "investorId": voucher.investor_id,
            "wallet": to_checksum_address(voucher.wallet),
            "maxAmount": voucher.max_amount,
            "expiry": voucher.expiry,
        },
    }


def sign_voucher(voucher: Voucher, *, sale_address: str, chain_id: int, private_key: bytes | str) -> bytes:
    """65-byte signature (r, s, v) of the voucher for one sale on one chain."""
    message = encode_typed_data(
        full_message=voucher_typed_data(voucher, sale_address=sale_address, chain_id=chain_id)
    )
    signature: bytes = Account.sign_message(message, private_key).signature
    return signature


def voucher_digest(voucher: Voucher, *, sale_address: str, chain_id: int) -> bytes:
    """The EIP-712 digest the contract recovers the signer from (equals `TrancheSale.hashVoucher`)."""
    message = encode_typed_data(
        full_message=voucher_typed_data(voucher, sale_address=sale_address, chain_id=chain_id)
    )
    return keccak(b"\x19" + message.version + message.header + message.body)

"""Python names for TrancheSale's and TrancheToken's constructor arguments, enums and roles.

`SaleConfig(...).as_tuple()` is the `Config` struct in the order the constructor takes it; a test checks the
order against the ABI, so a change on either side fails there and not in a deployment.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from enum import IntEnum

from eth_utils.crypto import keccak

ETH = "0x" + "00" * 20  # `paymentToken` of a sale paid in ether

DEFAULT_ADMIN_ROLE = bytes(32)
# TrancheToken
MINTER_ROLE = keccak(text="MINTER_ROLE")
DISTRIBUTOR_ROLE = keccak(text="DISTRIBUTOR_ROLE")  # also TrancheSale's role for buyFor
LOCKUP_EXEMPT_ROLE = keccak(text="LOCKUP_EXEMPT_ROLE")
# TrancheSale
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
VOUCHER_SIGNER_ROLE = keccak(text="VOUCHER_SIGNER_ROLE")


class Eligibility(IntEnum):
    ALLOWLIST = 0
    MERKLE = 1
    VOUCHER = 2


class Allocation(IntEnum):
    FIRST_COME_FIRST_SERVED = 0
    PRO_RATA = 1


class SaleState(IntEnum):
    ACTIVE = 0
    FINALIZED = 1
    REFUNDING = 2


class RefundReason(IntEnum):
    SOFT_CAP_MISSED = 0
    NOT_FINALIZED_IN_TIME = 1
    CANCELLED = 2


@dataclass(frozen=True)
class SaleConfig:
    """TrancheSale's constructor argument; see contracts/README.md for each field's meaning and units.

    Fields carry the Solidity names, in the Solidity order, so that they can be checked against the ABI.
    """

    token: str
    paymentToken: str
    treasury: str
    admin: str
    operator: str
    distributor: str
    voucherSigner: str
    price: int
    start: int
    end: int
    finalizeGracePeriod: int
    claimPeriod: int
    softCap: int
    hardCap: int
    minPerInvestor: int
    maxPerInvestor: int
    eligibility: Eligibility
    allocation: Allocation
    shardCount: int
    merkleRoot: bytes

    def as_tuple(self) -> tuple[object, ...]:
        return tuple(int(v) if isinstance(v, IntEnum) else v for v in astuple(self))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

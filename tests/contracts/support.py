"""Helpers of the contract tests: the chain node, dev accounts, deployments and custom-error assertions.

The fixtures in conftest.py hand these out; tests import the enums and constants from here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError
from web3.logs import DISCARD

from contracts import load_artifact
from contracts.sale import MINTER_ROLE, Allocation, Eligibility, SaleConfig
from devnet.testing import anvil_process, node_process

MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337
DEFAULT_CHAIN = "devnet"


def chain_kind() -> str:
    """TRANCHE_TEST_CHAIN: `devnet` (the project's py-evm node) or `anvil`."""
    return os.environ.get("TRANCHE_TEST_CHAIN") or DEFAULT_CHAIN


# ---------------------------------------------------------------------------------------------- the node


def node(kind: str) -> contextlib.AbstractContextManager[str]:
    """Start the node for the session: `devnet` (with TRANCHE_TEST_SCHEDULER, default sequential) or `anvil`."""
    if kind == "anvil":
        return anvil_process()
    if kind == "devnet":
        return node_process(scheduler=os.environ.get("TRANCHE_TEST_SCHEDULER") or "sequential")
    raise pytest.UsageError(f"TRANCHE_TEST_CHAIN must be devnet or anvil, not {kind!r}")


# ---------------------------------------------------------------------------------------------- accounts


def dev_account(index: int) -> LocalAccount:
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")


@dataclass(frozen=True)
class Accounts:
    """The ten funded dev accounts, by the part they play in the tests."""

    platform: LocalAccount  # deploys, holds the sale's OPERATOR_ROLE
    company: LocalAccount  # the token's admin and the sale's admin
    treasury: LocalAccount
    distributor: LocalAccount
    signer: LocalAccount  # signs purchase vouchers
    investors: tuple[LocalAccount, ...]  # five of them
    outsider: LocalAccount  # holds no role and is never eligible


def dev_accounts() -> Accounts:
    derived = [dev_account(i) for i in range(10)]
    return Accounts(
        platform=derived[0],
        company=derived[1],
        treasury=derived[2],
        distributor=derived[3],
        signer=derived[4],
        investors=tuple(derived[5:9]),
        outsider=derived[9],
    )


# ---------------------------------------------------------------------------------------------- the chain


class Chain:
    """Deployment, time travel and revert assertions against the session's node."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def deploy(self, name: str, *args: Any, sender: str) -> Contract:
        artifact = load_artifact(name)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        tx_hash = factory.constructor(*args).transact({"from": sender})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1, f"deploying {name} failed"
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)

    def send(self, function: Any, sender: str, value: int = 0) -> Any:
        """Send a contract call as a transaction; returns the receipt (asserting success)."""
        tx_hash = function.transact({"from": sender, "value": value})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        assert receipt["status"] == 1
        return receipt

    def now(self) -> int:
        timestamp: int = self.w3.eth.get_block("latest")["timestamp"]
        return timestamp

    def travel_to(self, timestamp: int) -> None:
        """Mine an empty block at `timestamp`; later blocks come after it."""
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]

    def balance(self, address: str) -> int:
        return self.w3.eth.get_balance(to_checksum_address(address))


# ---------------------------------------------------------------------------------------------- reverts


def error_selector(abi: list[dict[str, Any]], name: str) -> tuple[bytes, list[str]]:
    for entry in abi:
        if entry.get("type") == "error" and entry["name"] == name:
            types = [_abi_type(i) for i in entry["inputs"]]
            return keccak(text=f"{name}({','.join(types)})")[:4], types
    raise KeyError(f"no custom error {name} in the ABI")


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][len('tuple') :]}"
    return str(param["type"])


class Reverts:
    """`with reverts(contract, "HardCapExceeded", total, cap): ...` asserts that exact custom error."""

    def __call__(self, contract: Contract, name: str, *args: Any) -> contextlib.AbstractContextManager[None]:
        return self._expect(contract.abi, name, args)

    @contextlib.contextmanager
    def _expect(self, abi: list[dict[str, Any]], name: str, args: tuple[Any, ...]) -> Iterator[None]:
        selector, types = error_selector(abi, name)
        with pytest.raises(ContractCustomError) as caught:
            yield
        data = caught.value.data
        raw = bytes.fromhex(str(data).removeprefix("0x"))
        known = {
            error_selector(abi, entry["name"])[0]: entry["name"]
            for entry in abi
            if entry.get("type") == "error"
        }
        assert raw[:4] == selector, f"expected {name}, got {known.get(raw[:4], raw[:4].hex())}"
        if args:
            decoded = decode(types, raw[4:])
            expected = tuple(to_checksum_address(a) if _is_address(a) else a for a in args)
            actual = tuple(to_checksum_address(a) if _is_address(a) else a for a in decoded)
            assert actual == expected, f"{name} arguments {actual} != {expected}"


def _is_address(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("0x") and len(value) == 42


# ---------------------------------------------------------------------------------------------- sales

ZERO_ADDRESS = "0x" + "00" * 20
TOKEN_CAP = 10**9 * 10**18


ETH_TERMS: dict[str, int] = {
    "price": 10**15,  # 0.001 ETH per whole token: 1 wei buys 1,000 token base units
    "softCap": 1 * 10**18,
    "hardCap": 10 * 10**18,
    "minPerInvestor": 10**17,
    "maxPerInvestor": 4 * 10**18,
}
STABLECOIN_TERMS: dict[str, int] = {
    "price": 500_000,  # 0.50 USDC per whole token
    "softCap": 1_000 * 10**6,
    "hardCap": 10_000 * 10**6,
    "minPerInvestor": 100 * 10**6,
    "maxPerInvestor": 4_000 * 10**6,
}
SALE_OPENS_IN = 100
SALE_LENGTH = 1_000
FINALIZE_GRACE = 1_000
CLAIM_PERIOD = 7 * 24 * 3600


@dataclass
class SaleUnderTest:
    """A deployed TrancheSale with its token (and stablecoin), plus helpers to drive it."""

    chain: Chain
    accounts: Accounts
    sale: Contract
    token: Contract
    stablecoin: Contract | None
    config: dict[str, Any]

    @property
    def start(self) -> int:
        return int(self.config["start"])

    @property
    def end(self) -> int:
        return int(self.config["end"])

    def open(self) -> None:
        self.chain.travel_to(self.start)

    def close(self) -> None:
        self.chain.travel_to(self.end)

    def allowlist(self, *wallets: str) -> Any:
        return self.chain.send(
            self.sale.functions.updateAllowlist(list(wallets), True), self.accounts.platform.address
        )

    def _fund(self, payer: str, amount: int) -> int:
        """Give a stablecoin payer the money and the allowance; returns the msg.value to send."""
        if self.stablecoin is None:
            return amount
        self.chain.send(self.stablecoin.functions.mint(payer, amount), payer)
        self.chain.send(self.stablecoin.functions.approve(self.sale.address, amount), payer)
        return 0

    def buy(self, wallet: str, amount: int, *, value: int | None = None, **eligibility: Any) -> Any:
        sent = self._fund(wallet, amount)
        return self.chain.send(
            self._buy_function(None, amount, **eligibility), wallet, sent if value is None else value
        )

    def buy_for(self, beneficiary: str, amount: int, *, sender: str | None = None, **eligibility: Any) -> Any:
        payer = sender or self.accounts.distributor.address
        sent = self._fund(payer, amount)
        return self.chain.send(self._buy_function(beneficiary, amount, **eligibility), payer, sent)

    def _buy_function(
        self,
        beneficiary: str | None,
        amount: int,
        *,
        proof: list[bytes] | None = None,
        voucher: Any = None,
        signature: bytes | None = None,
    ) -> Any:
        f = self.sale.functions
        if voucher is not None:
            if beneficiary is None:
                return f.buyWithVoucher(amount, voucher.as_tuple(), signature)
            return f.buyForWithVoucher(beneficiary, amount, voucher.as_tuple(), signature)
        if proof is not None:
            return (
                f.buyWithProof(amount, proof)
                if beneficiary is None
                else f.buyForWithProof(beneficiary, amount, proof)
            )
        return f.buy(amount) if beneficiary is None else f.buyFor(beneficiary, amount)

    def payment_balance(self, address: str) -> int:
        if self.stablecoin is None:
            return self.chain.balance(address)
        balance: int = self.stablecoin.functions.balanceOf(address).call()
        return balance

    def held(self) -> int:
        """The payment currency the sale holds (in stablecoin mode, with its shard vaults)."""
        held: int = self.sale.functions.paymentHeld().call()
        return held

    def tokens(self, address: str) -> int:
        balance: int = self.token.functions.balanceOf(address).call()
        return balance

    def finalize(self) -> Any:
        return self.chain.send(self.sale.functions.finalize(), self.accounts.platform.address)

    def events(self, receipt: Any, name: str) -> list[dict[str, Any]]:
        return [
            dict(e["args"])
            for e in getattr(self.sale.events, name)().process_receipt(receipt, errors=DISCARD)
        ]


SaleFactory = Callable[..., SaleUnderTest]


def sale_config_tuple(config: dict[str, Any]) -> tuple[object, ...]:
    return SaleConfig(**config).as_tuple()


def deploy_sale(
    chain: Chain, accounts: Accounts, *, stablecoin: bool = False, grant_minter: bool = True, **overrides: Any
) -> SaleUnderTest:
    """Deploy a token (and a stablecoin) and a TrancheSale on them; `overrides` replace Config fields."""
    platform, company = accounts.platform.address, accounts.company.address
    start = chain.now() + SALE_OPENS_IN
    token = chain.deploy(
        "TrancheToken", "Acme Token", "ACME", TOKEN_CAP, company, start + 10**6, sender=platform
    )
    coin = chain.deploy("MockStablecoin", "Test USD", "TUSD", sender=platform) if stablecoin else None
    config: dict[str, Any] = {
        "token": token.address,
        "paymentToken": coin.address if coin is not None else ZERO_ADDRESS,
        "treasury": accounts.treasury.address,
        "admin": company,
        "operator": platform,
        "distributor": accounts.distributor.address,
        "voucherSigner": accounts.signer.address,
        **(STABLECOIN_TERMS if stablecoin else ETH_TERMS),
        "start": start,
        "end": start + SALE_LENGTH,
        "finalizeGracePeriod": FINALIZE_GRACE,
        "claimPeriod": CLAIM_PERIOD,
        "eligibility": Eligibility.ALLOWLIST,
        "allocation": Allocation.FIRST_COME_FIRST_SERVED,
        "shardCount": 1,
        "merkleRoot": bytes(32),
    }
    if overrides.get("allocation") == Allocation.PRO_RATA and "shardCount" not in overrides:
        config["shardCount"] = 8
    config.update(overrides)
    sale = chain.deploy("TrancheSale", sale_config_tuple(config), sender=platform)
    if grant_minter:
        chain.send(token.functions.grantRole(MINTER_ROLE, sale.address), company)
    return SaleUnderTest(chain, accounts, sale, token, coin, config)

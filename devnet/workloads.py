"""Signed transactions of the kinds Tranche puts on chain, built offline for equivalence tests and benchmarks.

A `Workload` owns deterministic keys, tracks their nonces, and encodes calls with the project's compiled
contracts (`contracts/artifacts`): the TrancheToken ERC-20 and TrancheSale in both allocation modes.
`setup_transactions` deploys a token, mints to the holders, and opens one first-come-first-served and
`pro_rata_sales` pro-rata sales with every buyer allowlisted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth._utils.address import generate_contract_address
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import Address
from web3 import Web3

from devnet.state import EMPTY_SHA3, AccountRecord

TOKEN_CAP = 10**12 * 10**18
PRICE = 10**15  # 0.001 ETH per whole token
MIN_PURCHASE = 10**12
MAX_PURCHASE = 10**22
ETH_TRANSFER_GAS = 21_000
TOKEN_TRANSFER_GAS = 90_000
PURCHASE_GAS = 200_000
DEPLOY_GAS = 6_000_000
SHARDS = 64
# A contract that stores its own balance (SELFBALANCE; SSTORE slot 0) whenever it is called: ETH sent to it is
# a credit that the same transaction then reads.
BALANCE_RECORDER_INIT = bytes.fromhex("6447600055006000526005601bf3")


def _contract(name: str) -> Any:
    from contracts import load_artifact  # the compiled artifacts live in the contracts package

    artifact = load_artifact(name)
    return Web3().eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)


def _sale_layout() -> dict[str, int]:
    from contracts import load_artifact

    return {entry["label"]: int(entry["slot"]) for entry in load_artifact("TrancheSale").storage_layout}


@dataclass
class Deployment:
    token: bytes = b""
    fcfs_sale: bytes = b""
    fcfs_sales: list[bytes] = field(default_factory=list)
    pro_rata_sales: list[bytes] = field(default_factory=list)
    stablecoins: list[bytes] = field(default_factory=list)
    balance_recorder: bytes = b""


class Workload:
    def __init__(
        self, accounts: int, *, chain_id: int = 31337, balance: int = 10**24, seed: str = "tranche"
    ) -> None:
        self.chain_id = chain_id
        self.keys: list[LocalAccount] = [
            Account.from_key(keccak(f"{seed}-devnet-{index}".encode())) for index in range(accounts)
        ]
        self.addresses = [bytes.fromhex(key.address[2:]) for key in self.keys]
        self.balance = balance
        self.nonces: dict[int, int] = defaultdict(int)
        self.deployment = Deployment()
        self._token = _contract("TrancheToken")
        self._sale = _contract("TrancheSale")
        self._coin = _contract("MockStablecoin")

    def alloc(self, poor: Sequence[int] = ()) -> list[tuple[bytes, AccountRecord, bytes, dict[int, int]]]:
        """Genesis accounts; `poor` ones get only enough for a couple of transfers."""
        rows: list[tuple[bytes, AccountRecord, bytes, dict[int, int]]] = []
        for index, address in enumerate(self.addresses):
            balance = 2 * ETH_TRANSFER_GAS * 3 * 10**9 + 10**15 if index in poor else self.balance
            rows.append((address, AccountRecord(0, balance, EMPTY_SHA3), b"", {}))
        return rows

    # -- signing ---------------------------------------------------------------------------------------
    def sign(
        self,
        sender: int,
        to: bytes | None,
        *,
        value: int = 0,
        data: bytes = b"",
        gas: int = ETH_TRANSFER_GAS,
        tip: int = 10**9,
        max_fee: int = 100 * 10**9,
        legacy: bool = False,
        access_list: Sequence[tuple[bytes, Sequence[int]]] = (),
    ) -> bytes:
        nonce = self.nonces[sender]
        self.nonces[sender] += 1
        fields: dict[str, Any] = {
            "nonce": nonce,
            "gas": gas,
            "value": value,
            "data": data,
            "chainId": self.chain_id,
        }
        if to is not None:
            fields["to"] = Web3.to_checksum_address(to)
        if legacy:
            fields["gasPrice"] = max_fee
        else:
            fields["type"] = 2
            fields["maxFeePerGas"] = max_fee
            fields["maxPriorityFeePerGas"] = tip
            if access_list:
                fields["accessList"] = [
                    {
                        "address": Web3.to_checksum_address(address),
                        "storageKeys": ["0x" + slot.to_bytes(32, "big").hex() for slot in slots],
                    }
                    for address, slots in access_list
                ]
        return bytes(self.keys[sender].sign_transaction(fields).raw_transaction)

    def next_contract_address(self, sender: int) -> bytes:
        return bytes(generate_contract_address(Address(self.addresses[sender]), self.nonces[sender]))

    # -- calls -----------------------------------------------------------------------------------------
    def eth_transfer(self, sender: int, to: bytes, value: int, **options: Any) -> bytes:
        return self.sign(sender, to, value=value, **options)

    def token_transfer(self, sender: int, to: bytes, amount: int, **options: Any) -> bytes:
        data = bytes.fromhex(self._token.encode_abi("transfer", [Web3.to_checksum_address(to), amount])[2:])
        options.setdefault("gas", TOKEN_TRANSFER_GAS)
        return self.sign(sender, self.deployment.token, data=data, **options)

    def purchase(
        self, sender: int, sale: bytes, amount: int, *, value: int | None = None, **options: Any
    ) -> bytes:
        data = bytes.fromhex(self._sale.encode_abi("buy", [amount])[2:])
        options.setdefault("gas", PURCHASE_GAS)
        return self.sign(sender, sale, value=amount if value is None else value, data=data, **options)

    def deploy_stablecoin(self, sender: int, **options: Any) -> tuple[bytes, bytes]:
        address = self.next_contract_address(sender)
        data = bytes.fromhex(self._coin.constructor("Test USD", "TUSD").data_in_transaction[2:])
        options.setdefault("gas", DEPLOY_GAS)
        return self.sign(sender, None, data=data, **options), address

    def deploy_balance_recorder(self, sender: int, **options: Any) -> tuple[bytes, bytes]:
        address = self.next_contract_address(sender)
        options.setdefault("gas", 200_000)
        return self.sign(sender, None, data=BALANCE_RECORDER_INIT, **options), address

    def fcfs_access_list(self, buyer: int, sale: bytes) -> list[tuple[bytes, list[int]]]:
        """The storage a first-come-first-served purchase writes: the buyer's position and the running total."""
        layout = _sale_layout()
        address = self.addresses[buyer]
        position = int.from_bytes(
            keccak(address.rjust(32, b"\x00") + layout["_positions"].to_bytes(32, "big")), "big"
        )
        return [(sale, [position, layout["_runningTotal"]])]

    def pro_rata_access_list(self, buyer: int, sale: bytes) -> list[tuple[bytes, list[int]]]:
        """The storage a pro-rata purchase writes: the buyer's position and its shard accumulator."""
        layout = _sale_layout()
        address = self.addresses[buyer]
        position = int.from_bytes(
            keccak(address.rjust(32, b"\x00") + layout["_positions"].to_bytes(32, "big")), "big"
        )
        shard = int.from_bytes(address, "big") % SHARDS
        accumulator = int.from_bytes(
            keccak(shard.to_bytes(32, "big") + layout["_shards"].to_bytes(32, "big")), "big"
        )
        return [(sale, [position, accumulator])]

    # -- the contracts every workload needs ----------------------------------------------------------------
    def setup_transactions(
        self,
        *,
        deployer: int,
        holders: Sequence[int],
        buyers: Sequence[int],
        sale_start: int,
        pro_rata_sales: int = 1,
        fcfs_sales: int = 1,
        tokens_per_holder: int = 10**24,
    ) -> list[list[bytes]]:
        """Blocks that deploy the token and the sales, mint to holders and allowlist buyers."""
        admin = Web3.to_checksum_address(self.addresses[deployer])
        blocks: list[list[bytes]] = []
        token = self.next_contract_address(deployer)
        data = self._token.constructor("Tranche Test", "TT", TOKEN_CAP, admin, 1).data_in_transaction
        first = [self.sign(deployer, None, data=bytes.fromhex(data[2:]), gas=DEPLOY_GAS)]
        self.deployment.token = token
        minter = keccak(b"MINTER_ROLE")
        grant = self._token.encode_abi("grantRole", [minter, admin])
        first.append(self.sign(deployer, token, data=bytes.fromhex(grant[2:]), gas=200_000))
        sales = []
        for index in range(fcfs_sales + pro_rata_sales):
            pro_rata = index >= fcfs_sales
            address = self.next_contract_address(deployer)
            config = (
                Web3.to_checksum_address(token),
                "0x" + "00" * 20,
                admin,
                admin,
                admin,
                "0x" + "00" * 20,
                "0x" + "00" * 20,
                PRICE,
                sale_start,
                sale_start + 10**8,
                1000,
                5000,
                10**18,
                10**40 if pro_rata else 10**27,
                MIN_PURCHASE,
                MAX_PURCHASE,
                0,
                1 if pro_rata else 0,
                SHARDS if pro_rata else 1,
                bytes(32),
            )
            data = self._sale.constructor(config).data_in_transaction
            first.append(self.sign(deployer, None, data=bytes.fromhex(data[2:]), gas=DEPLOY_GAS))
            sales.append(address)
            grant = self._token.encode_abi("grantRole", [minter, Web3.to_checksum_address(address)])
            first.append(self.sign(deployer, token, data=bytes.fromhex(grant[2:]), gas=200_000))
        recorder, self.deployment.balance_recorder = self.deploy_balance_recorder(deployer)
        first.append(recorder)
        self.deployment.fcfs_sales = sales[:fcfs_sales]
        self.deployment.fcfs_sale = sales[0]
        self.deployment.pro_rata_sales = sales[fcfs_sales:]
        blocks.append(first)
        mints = []
        for holder in holders:
            call = self._token.encode_abi(
                "mint", [Web3.to_checksum_address(self.addresses[holder]), tokens_per_holder]
            )
            mints.append(self.sign(deployer, token, data=bytes.fromhex(call[2:]), gas=120_000))
        allow = []
        wallets = [Web3.to_checksum_address(self.addresses[buyer]) for buyer in buyers]
        for sale in sales:
            for start in range(0, len(wallets), 200):
                call = self._sale.encode_abi("updateAllowlist", [wallets[start : start + 200], True])
                allow.append(self.sign(deployer, sale, data=bytes.fromhex(call[2:]), gas=6_000_000))
        for start in range(0, len(mints) + len(allow), 400):
            blocks.append((mints + allow)[start : start + 400])
        return blocks

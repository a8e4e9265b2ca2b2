"""The devnet's first invariant: every scheduler commits exactly what sequential execution commits.

Hypothesis generates blocks mixing ETH transfers (some legacy), ERC-20 transfers, purchases in a
first-come-first-served sale and in a pro-rata sale (with and without access lists), contract deployments, ETH
sent to a contract that reads its own balance in the same transaction, reverts (a transfer beyond the balance, a purchase below the minimum or with the wrong payment), senders
that run out of money inside a block, transactions too large for what is left of the block, with no
contention or with heavy contention (a few senders with nonce chains, one shared recipient who also sends,
one holder moving tokens out again and again). Each block goes to four chains fed the same
transactions: stock py-evm (`devnet.reference`), and the devnet with the sequential, block-stm and sharded
schedulers (3 workers: the coordinator and two processes, parallel forced even for small blocks). State root, receipts and logs must be equal.

`DEVNET_EQUIVALENCE_PROFILE=long` runs thousands of blocks instead of a few hundred.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devnet.chain import Block, Chain, ChainConfig, TransactionRejected
from devnet.reference import ReferenceChain
from devnet.scheduler.parallel import ParallelScheduler
from devnet.workloads import Workload

LONG = os.environ.get("DEVNET_EQUIVALENCE_PROFILE") == "long"
EXAMPLES = 1500 if LONG else 110
GENESIS = 1_700_000_000

DEPLOYER = 0
HOLDERS = list(range(1, 21))
BUYERS = list(range(21, 45))
SENDERS = list(range(45, 60))
POOR = list(range(60, 100))
SHARED_RECIPIENT = 45  # also a sender: credits to it conflict with its own transactions


@dataclass
class Harness:
    workload: Workload
    reference: ReferenceChain
    chains: dict[str, Chain]
    timestamp: int = GENESIS + 10
    unused_poor: list[int] = field(default_factory=lambda: list(POOR))
    fresh: int = 0
    blocks: int = 0
    parallel_blocks: dict[str, int] = field(default_factory=dict)
    executors: dict[str, Counter[int | None]] = field(default_factory=dict)  # included transactions by executor

    def fresh_address(self) -> bytes:
        self.fresh += 1
        return (0xDE0000 + self.fresh).to_bytes(20, "big")

    def submit(self, sender: int, raw: bytes) -> None:
        accepted = []
        for name, chain in self.chains.items():
            try:
                chain.add_raw_transaction(raw)
                accepted.append(name)
            except TransactionRejected:
                pass
        assert accepted in ([], list(self.chains)), f"pools disagree: {accepted}"
        if not accepted:
            self.workload.nonces[sender] -= 1  # never sent: the next one reuses the nonce

    def mine_and_compare(self) -> None:
        self.timestamp += 1
        blocks: dict[str, Block] = {}
        for name, chain in self.chains.items():
            blocks[name] = chain.mine(timestamp=self.timestamp)
            last = chain.metrics.last()
            assert last is not None
            if last.scheduler != "sequential":
                self.parallel_blocks[name] = self.parallel_blocks.get(name, 0) + 1
                assert chain.last_execution is not None
                self.executors.setdefault(name, Counter()).update(chain.last_execution.worker_of)
        sequential = self.chains["sequential"]
        assert sequential.last_context is not None
        root, receipts = self.reference.execute_block(sequential.last_candidates, sequential.last_context)
        expected = blocks["sequential"]
        assert expected.header.state_root == root, "sequential devnet differs from stock py-evm"
        assert [(r.tx_hash, r.success, r.cumulative_gas_used) for r in receipts] == [
            (r.tx_hash, r.status == 1, r.cumulative_gas_used) for r in expected.receipts
        ]
        assert [r.logs for r in receipts] == [
            tuple(
                (log.address, tuple(int.from_bytes(t, "big") for t in log.topics), log.data) for log in r.logs
            )
            for r in expected.receipts
        ]
        for name, block in blocks.items():
            assert block.header.state_root == expected.header.state_root, f"{name}: state root differs"
            assert [receipt_key(r) for r in block.receipts] == [receipt_key(r) for r in expected.receipts], (
                name
            )
            assert block.hash == expected.hash, f"{name}: block differs"
        self.blocks += 1


def receipt_key(receipt: Any) -> tuple[Any, ...]:
    logs = tuple((log.address, log.topics, log.data, log.log_index) for log in receipt.logs)
    return (
        receipt.tx_hash,
        receipt.status,
        receipt.gas_used,
        receipt.cumulative_gas_used,
        receipt.contract_address,
        logs,
    )


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    workload = Workload(len(POOR) + POOR[0], seed="equivalence")
    alloc = workload.alloc(poor=POOR)
    chains = {}
    for name in ("sequential", "block-stm", "sharded"):
        config = ChainConfig(gas_limit=30_000_000, genesis_timestamp=GENESIS, alloc=alloc)
        chain = Chain(config, scheduler=name, workers=3)
        if isinstance(chain.scheduler, ParallelScheduler):
            # Force the parallel path even for the small blocks hypothesis makes.
            chain.scheduler.min_transactions = 2
            chain.scheduler.max_sender_share = 1.0
            chain.scheduler.max_conflict_ratio = 2.0
        chains[name] = chain
    harness = Harness(workload, ReferenceChain(alloc), chains)
    for block in workload.setup_transactions(
        deployer=DEPLOYER, holders=HOLDERS, buyers=BUYERS, sale_start=GENESIS, pro_rata_sales=1
    ):
        for raw in block:
            harness.submit(DEPLOYER, raw)
        harness.mine_and_compare()
    yield harness
    for chain in chains.values():
        chain.close()


operation = st.tuples(
    st.sampled_from(
        [
            "eth",
            "eth",
            "legacy",
            "token",
            "token",
            "fcfs",
            "prorata",
            "prorata-listed",
            "deploy",
            "revert",
            "poor",
            "hog",
            "selfbalance",
        ]
    ),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=5),
)
block_plan = st.tuples(st.sampled_from(["none", "heavy"]), st.lists(operation, min_size=1, max_size=40))


def submit_operation(harness: Harness, contention: str, kind: str, draw: int, tip: int) -> None:
    workload = harness.workload
    deployment = workload.deployment
    heavy = contention == "heavy"
    fee: dict[str, Any] = {"tip": tip * 10**9}

    def pick(group: list[int]) -> int:
        return group[draw % (3 if heavy else len(group))]

    def recipient() -> bytes:
        if heavy:
            return workload.addresses[SHARED_RECIPIENT if draw % 2 else pick(SENDERS)]
        return harness.fresh_address()

    if kind in ("eth", "legacy"):
        sender = pick(SENDERS)
        raw = workload.eth_transfer(sender, recipient(), 1 + draw, legacy=kind == "legacy", **fee)
    elif kind == "token":
        sender = HOLDERS[0] if heavy else pick(HOLDERS)
        to = workload.addresses[pick(HOLDERS)] if heavy else harness.fresh_address()
        raw = workload.token_transfer(sender, to, 1 + draw, **fee)
    elif kind == "revert":
        sender = pick(HOLDERS)
        raw = workload.token_transfer(sender, recipient(), 10**40, **fee)  # beyond any balance
    elif kind in ("fcfs", "prorata", "prorata-listed"):
        sender = pick(BUYERS)
        sale = deployment.fcfs_sale if kind == "fcfs" else deployment.pro_rata_sales[0]
        amount = 10**15 + draw
        if draw % 7 == 0:
            amount = 10  # below the minimum: InvestorMinimumNotMet
        access = workload.pro_rata_access_list(sender, sale) if kind == "prorata-listed" else ()
        value = amount + 1 if draw % 11 == 0 else amount  # wrong payment: IncorrectPayment
        raw = workload.purchase(sender, sale, amount, value=value, access_list=access, **fee)
    elif kind == "deploy":
        sender = pick(SENDERS)
        raw, _ = workload.deploy_stablecoin(sender, **fee)
    elif kind == "selfbalance":
        sender = pick(SENDERS)
        raw = workload.eth_transfer(sender, deployment.balance_recorder, 1 + draw, gas=60_000, **fee)
    elif kind == "hog":
        sender = pick(SENDERS)
        raw = workload.eth_transfer(sender, recipient(), 1, gas=9_000_000, **fee)  # a few fill the block
    else:  # "poor": two transfers that each need most of the balance; the second fails in the block
        if not harness.unused_poor:
            return
        sender = harness.unused_poor.pop()
        for _ in range(2):
            harness.submit(
                sender, workload.eth_transfer(sender, recipient(), 10**15 - 10**14, max_fee=3 * 10**9)
            )
        return
    harness.submit(sender, raw)


@settings(
    max_examples=EXAMPLES,
    derandomize=not LONG,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(plans=st.lists(block_plan, min_size=1, max_size=3))
def test_every_scheduler_commits_what_sequential_execution_commits(
    harness: Harness, plans: list[Any]
) -> None:
    for contention, operations in plans:
        for kind, draw, tip in operations:
            submit_operation(harness, contention, kind, draw, tip)
        harness.mine_and_compare()


def test_the_parallel_schedulers_really_ran_in_parallel(harness: Harness) -> None:
    """Runs after the property (file order): most blocks went through the workers, not the fallback."""
    assert harness.blocks >= 100
    for name in ("block-stm", "sharded"):
        assert harness.parallel_blocks.get(name, 0) >= harness.blocks // 2, harness.parallel_blocks
        # The coordinator's own share (0) and both worker processes (1, 2) executed transactions that were
        # accepted; None counts re-executions and cross-group transactions.
        executors = harness.executors[name]
        assert all(executors[slot] > 0 for slot in (0, 1, 2)), executors

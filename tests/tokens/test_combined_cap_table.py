"""The combined cap table of Lumen after its seed and its token launch: shares, options, SAFEs, token warrants,
allocations and on-chain balances per stakeholder, company and token ownership side by side, exact."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from equity import selectors as equity_selectors
from tests.tokens.test_warrants import POOL, TOKEN_ADDRESS, UNIT, launch, lumen, wallet_of  # noqa: F401
from tokens import allocations, warrants
from tokens.captable import combined_cap_table, combined_csv_rows, transfer_balances
from tokens.models import ChainEvent

ZERO = "0x" + "00" * 20
FUND_WALLET = "0x" + "11" * 20
BUYER = "0x" + "99" * 20
MEI_WALLET = "0x" + "c0" * 20
LOG = count(1)


def transfer(token: Any, source: str, to: str, value: int, *, removed: bool = False, address: str = TOKEN_ADDRESS) \
        -> ChainEvent:
    n = next(LOG)
    return ChainEvent.objects.create(
        chain_id=token.chain_id, tx_hash="0x" + f"{n:064x}", log_index=0, block_number=10 + n,
        block_hash="0x" + f"{n:064x}", address=address, name="Transfer", token=token, removed=removed,
        args={"from": source, "to": to, "value": str(value)})


@pytest.fixture
def launched(lumen: Any) -> Any:  # noqa: F811
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.fund, kind="pro_rata")
    warrants.warrant_issue(actor=lumen.actor, company=lumen.company, stakeholder=lumen.hannah, kind="fixed",
                           token_amount=100_000 * UNIT)
    lumen.team = allocations.allocation_create(
        actor=lumen.actor, token=lumen.token, kind="team", label="Mei's team tokens", stakeholder=lumen.mei,
        beneficiary_address=MEI_WALLET, amount=5_000_000 * UNIT, vesting_start=timezone.now(),
        cliff=timedelta(days=365), duration=timedelta(days=4 * 365))
    launch(lumen.token)
    return lumen


def test_before_conversion_warrants_show_what_they_would_give(launched: Any) -> None:
    table = combined_cap_table(launched.company)
    rows = {row.holder: row for row in table.rows}
    fund, hannah, mei = rows["Seed Fund"], rows["Hannah Lee"], rows["Mei Chen"]
    assert (fund.shares, fund.options, fund.company_fully_diluted, fund.company_percent) == (
        2_000_000, 0, 2_000_000, Decimal("18.18"))
    assert (fund.token_warrants, fund.token_warrant_tokens) == (1, 1_818_181_818_181_818_181_818_181)
    assert fund.token_fully_diluted == 1_818_181_818_181_818_181_818_181
    assert fund.token_percent == Decimal("1.8181")  # of the 100,000,000-token supply cap
    assert (hannah.safes, hannah.safe_count, hannah.shares, hannah.token_warrant_tokens) == (
        Decimal(250_000), 1, 0, 100_000 * UNIT)
    assert (mei.shares, mei.company_percent, mei.allocations) == (8_000_000, Decimal("72.73"), {
        "planned": 5_000_000 * UNIT})
    assert mei.token_fully_diluted == 5_000_000 * UNIT
    assert rows["Ada Okonkwo"].options == 150_000
    assert rows["Option pool (available)"].options == 850_000
    assert table.rows[-1].holder == "Option pool (available)"
    # The company side is the equity engine's own numbers.
    engine = equity_selectors.cap_table(company=launched.company, as_of=timezone.localdate())
    assert {r.key: r.fully_diluted_percent for r in engine.by_stakeholder} == {
        r.holder: r.company_percent for r in table.rows if r.company_fully_diluted}
    assert (table.total.company_fully_diluted, table.total.company_percent) == (11_000_000, Decimal(100))
    assert table.total.token_fully_diluted == 1_818_181_818_181_818_181_818_181 + 100_000 * UNIT + 5_000_000 * UNIT


def test_after_conversion_and_delivery_balances_come_from_transfer_events(launched: Any) -> None:
    warrants.warrant_issue(actor=launched.actor, company=launched.company, stakeholder=launched.ada, kind="fixed",
                           token_amount=1_000 * UNIT, price_per_token=Decimal("0.10"))
    converted = warrants.warrants_convert(actor=launched.actor, token=launched.token)
    wallet_of(launched.fund_user, FUND_WALLET)
    fund_allocation = next(a for a in converted.allocations if a.stakeholder_id == launched.fund.pk)
    transfer(launched.token, ZERO, FUND_WALLET, int(fund_allocation.amount))
    transfer(launched.token, ZERO, BUYER, 7 * UNIT)  # a sale's buyer, on no one's cap table
    transfer(launched.token, FUND_WALLET, BUYER, 3 * UNIT)
    transfer(launched.token, ZERO, FUND_WALLET, 10**30, removed=True)  # orphaned by a reorganisation
    transfer(launched.token, ZERO, FUND_WALLET, 10**30, address="0x" + "ee" * 20)  # another token
    type(fund_allocation).objects.filter(pk=fund_allocation.pk).update(state="delivered")
    assert transfer_balances(launched.token) == {FUND_WALLET: int(fund_allocation.amount) - 3 * UNIT,
                                                 BUYER: 10 * UNIT}
    table = combined_cap_table(launched.company)
    fund = next(row for row in table.rows if row.holder == "Seed Fund")
    assert fund.token_warrants == 0
    assert fund.allocations == {"delivered": 1_818_181_818_181_818_181_818_181}
    assert fund.balance == 1_818_181_818_181_818_181_818_181 - 3 * UNIT
    assert fund.token_fully_diluted == fund.balance  # delivered tokens are counted once, in the wallet
    hannah = next(row for row in table.rows if row.holder == "Hannah Lee")
    assert hannah.allocations == {"claimable": 100_000 * UNIT}
    assert hannah.token_fully_diluted == 100_000 * UNIT
    ada = next(row for row in table.rows if row.holder == "Ada Okonkwo")
    assert ada.allocations == {"unpaid": 1_000 * UNIT}  # a priced warrant waiting for its exercise price
    assert ada.token_fully_diluted == 1_000 * UNIT  # fully diluted: counted like the warrant it was
    assert table.unattributed_balance == 10 * UNIT
    lines = list(csv.reader(io.StringIO("\n".join(",".join(line) for line in combined_csv_rows(table)))))
    assert lines[0][:3] == ["stakeholder", "shares", "options"]
    ada_line = next(line for line in lines if line[0] == "Ada Okonkwo")
    assert ada_line[lines[0].index("allocations_unpaid")] == str(1_000 * UNIT)
    assert len(lines[-1]) == len(lines[0])
    fund_line = next(line for line in lines if line[0] == "Seed Fund")
    assert fund_line[1] == "2000000"
    assert fund_line[-3:] == [str(fund.balance), str(fund.balance), "1.8181"]
    assert lines[-1][0] == "Other token holders"


def test_a_company_without_a_token_shows_the_company_side_only(lumen: Any) -> None:  # noqa: F811
    lumen.token.delete()
    table = combined_cap_table(lumen.company)
    assert table.token is None
    assert {row.holder for row in table.rows} == {"Mei Chen", "Seed Fund", "Ada Okonkwo", "Hannah Lee",
                                                  "Option pool (available)"}
    assert all(row.token_fully_diluted == 0 and row.token_percent == 0 for row in table.rows)


def test_the_cap_table_page_shows_the_combined_view_and_its_csv(launched: Any, client_for: Any) -> None:
    client = client_for(launched.owner.user)
    page = client.get(f"/companies/{launched.company.slug}/cap-table/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="combined-cap-table"' in html
    assert "1,818,181.8181" in html  # the Seed Fund's tokens if converting now, to 4 places (the header names LUMEN)
    download = client.get(f"/companies/{launched.company.slug}/cap-table/combined.csv")
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    assert "Seed Fund,2000000,0,0,0.00,2000000,18.18,1,1818181818181818181818181" in download.content.decode()

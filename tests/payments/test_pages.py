"""The investing pages, in the order an investor and a founder use them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from equity.choices import InvestmentState
from equity.models import Investment
from payments.models import Commitment, Document
from tests.payments.conftest import approved_investor, open_reg_cf_round

pytestmark = pytest.mark.django_db(transaction=True)


def test_sam_commits_signs_pays_and_finds_it_in_his_portfolio(client_for) -> None:
    lumen, round = open_reg_cf_round()
    sam = approved_investor()
    client = client_for(sam)
    assert "Nothing yet" in client.get("/portfolio/").content.decode()  # nothing at all: the empty portfolio
    page = client.get(f"/invest/{round.pk}/").content.decode()
    assert "$7,500.00" in page  # his Regulation Crowdfunding limit, before he commits
    refused = client.post(f"/invest/{round.pk}/", {"amount": "8000", "method": "card"})
    assert refused.status_code == 200
    assert "above what your Regulation Crowdfunding investment limit leaves you" in refused.content.decode()
    assert not Commitment.objects.exists()
    response = client.post(f"/invest/{round.pk}/", {"amount": "5000", "method": "card"})
    commitment = Commitment.objects.get()
    assert response["Location"] == f"/portfolio/commitments/{commitment.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert "Sign the subscription agreement" in page
    preview = client.get(f"/portfolio/commitments/{commitment.pk}/agreement.pdf")
    assert preview["Content-Type"] == "application/pdf"
    unsigned_pay = client.post(f"/portfolio/commitments/{commitment.pk}/pay/", {"number": "4242424242424242"})
    assert unsigned_pay.status_code == 400
    client.post(f"/portfolio/commitments/{commitment.pk}/sign/", {"signed_name": "Sam Rivera", "consent": "on"})
    commitment.refresh_from_db()
    assert commitment.signed_name == "Sam Rivera"
    assert commitment.agreement_sha256 == __import__("hashlib").sha256(preview.content).hexdigest()
    declined = client.post(f"/portfolio/commitments/{commitment.pk}/pay/", {"number": "4000 0000 0000 9995"})
    assert "insufficient funds" in declined.content.decode()
    client.post(f"/portfolio/commitments/{commitment.pk}/pay/", {"number": "4242 4242 4242 4242"})
    assert Investment.objects.get().state == InvestmentState.FUNDED
    assert set(Document.objects.values_list("kind", flat=True)) == {"agreement", "receipt"}
    receipt = client.get(f"/commitments/{commitment.pk}/documents/receipt.pdf")
    assert receipt.status_code == 200
    assert client_for(approved_investor("Eve Other")).get(
        f"/commitments/{commitment.pk}/documents/receipt.pdf").status_code == 404
    portfolio = client.get("/portfolio/").content.decode()
    assert commitment.reference in portfolio
    assert "Funded" in portfolio
    # The founder sees it, with totals, a chart and a CSV.
    founder = client_for(lumen.owner.user)
    page = founder.get(f"/companies/{lumen.company.slug}/rounds/{round.pk}/commitments/").content.decode()
    assert "Sam Rivera" in page
    assert "$5,000.00" in page
    assert '"running": "Running total"' in page  # the chart's legend comes translated from the page
    rows = list(csv.reader(io.StringIO(founder.get(
        f"/companies/{lumen.company.slug}/rounds/{round.pk}/commitments.csv?state=funded").content.decode())))
    assert rows[1][1:5] == ["Sam Rivera", sam.email, "5000.00", "USD"]
    assert founder.get(f"/commitments/{commitment.pk}/documents/agreement.pdf").status_code == 200


def test_cancelling_from_the_portfolio_refunds(client_for) -> None:
    _, round = open_reg_cf_round()
    sam = approved_investor()
    client = client_for(sam)
    client.post(f"/invest/{round.pk}/", {"amount": "700", "method": "card"})
    commitment = Commitment.objects.get()
    client.post(f"/portfolio/commitments/{commitment.pk}/sign/", {"signed_name": "Sam Rivera", "consent": "on"})
    client.post(f"/portfolio/commitments/{commitment.pk}/pay/", {"number": "4242424242424242"})
    client.post(f"/portfolio/commitments/{commitment.pk}/cancel/")
    assert Investment.objects.get().state == InvestmentState.REFUNDED
    assert Investment.objects.get().amount == Decimal(700)
    other = approved_investor("Eve Other")
    assert client_for(other).post(f"/portfolio/commitments/{commitment.pk}/cancel/").status_code == 404


def test_the_founder_announces_a_material_change_and_a_refused_early_close_says_why(client_for) -> None:
    lumen, round = open_reg_cf_round()
    client_for(approved_investor()).post(f"/invest/{round.pk}/", {"amount": "700", "method": "card"})
    founder = client_for(lumen.owner.user)
    base = f"/companies/{lumen.company.slug}/rounds/{round.pk}"
    page = founder.post(f"{base}/material-change/", {"summary": "The valuation cap rises to $10M."}, follow=True)
    assert "1 investors were asked to reconfirm." in page.content.decode()
    assert Commitment.objects.get().reconfirm_by is not None
    page = founder.post(f"{base}/close-early/", {"closes_on": "2020-01-01"}, follow=True)
    assert "must have been open at least 21 days" in page.content.decode()
    page = founder.post(f"{base}/close-early/", {"closes_on": ""}, follow=True)
    assert "This field is required." in page.content.decode()
    viewer = client_for(approved_investor("Eve Other"))
    assert viewer.post(f"{base}/material-change/", {"summary": "Nothing real here."}).status_code == 403

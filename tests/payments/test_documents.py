"""The investment's documents as a reader sees them: each PDF rendered to a PNG that must not be blank, and its
text read back with pdfium. No database: the documents take plain data.

The PNGs land in tests/e2e/artifacts/documents/ (ignored by git) for a person to look at."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from payments.documents import (
    AgreementChanged,
    AgreementData,
    CertificateData,
    CompanyData,
    InvestorData,
    OfficerData,
    PricedTerms,
    ReceiptData,
    SafeCertificateData,
    SafeTerms,
    SignatureData,
    document_sha256,
    number_in_words,
    payment_receipt_pdf,
    safe_certificate_pdf,
    share_certificate_pdf,
    signed_agreement_pdf,
    subscription_agreement_pdf,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "e2e" / "artifacts" / "documents"

LUMEN = CompanyData(legal_name="Lumen Labs, Inc.", jurisdiction="Delaware, United States")
SAM = InvestorData(legal_name="Sam Rivera", email="sam@example.com",
                   address="1420 Oak Street\nColumbus, OH 43215", country="United States")
SEED = PricedTerms(share_class="Series Seed Preferred", price_per_share=Decimal("0.8000"),
                   pre_money_valuation=Decimal("8000000"))
# Journey 2: Sam commits $5,000 to Lumen's Regulation Crowdfunding seed round.
SAM_COMMITS = AgreementData(
    company=LUMEN, round_name="Seed", terms=SEED, exemption="reg_cf", investor=SAM, amount=Decimal("5000"),
    currency="USD", commitment_reference="TR-000123", created_at=datetime(2026, 11, 25, 15, 31, 30, tzinfo=UTC),
    cancellation_cutoff=datetime(2027, 1, 7, 23, 59, tzinfo=UTC), offering_deadline=date(2027, 1, 9),
)
SAM_SIGNS_AT = datetime(2026, 11, 25, 15, 42, 7, tzinfo=UTC)
SAM_PAYS = ReceiptData(
    receipt_number="R-2026-000045", company=LUMEN, round_name="Seed", investor=SAM, amount=Decimal("5000"),
    currency="USD", method="card", method_last4="4242", provider_reference="pi_3QxYzAbCdEf123456",
    paid_at=datetime(2026, 11, 25, 15, 44, 2, tzinfo=UTC), commitment_reference="TR-000123",
)
SAM_HOLDS = CertificateData(
    certificate_number="CS-0012", company=LUMEN, holder_name="Sam Rivera", shares=6250,
    share_class="Series Seed Preferred", issue_date=date(2027, 1, 12), exemption="reg_cf",
    par_value=Decimal("0.00001"),
    officers=(OfficerData("Chief Executive Officer", "Mei Chen"), OfficerData("Secretary")),
)
ANGEL_SAFE = SafeCertificateData(
    certificate_number="SAFE-0003", company=LUMEN, holder_name="Priya Natarajan", purchase_amount=Decimal("25000"),
    currency="USD", terms=SafeTerms("post_money_safe", valuation_cap=Decimal("10000000"), discount=Decimal("0.20"),
                                    pro_rata=True),
    issue_date=date(2026, 6, 3), exemption="reg_d_506b",
)


def read(pdf: bytes, name: str) -> list[str]:
    """Each page's text with whitespace collapsed. Every page is rendered to a PNG, which must carry ink: at
    least 0.5% of its pixels clearly darker than paper."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = pdfium.PdfDocument(pdf)
    texts: list[str] = []
    try:
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=1.5).to_pil()
            image.save(ARTIFACTS / f"{name}-{index + 1}.png")
            ink = sum(image.convert("L").histogram()[:200])
            assert ink / (image.width * image.height) > 0.005, f"page {index + 1} of {name} is blank"
            text_page = page.get_textpage()
            texts.append(" ".join(text_page.get_text_range().split()))
            text_page.close()
            page.close()
    finally:
        document.close()
    return texts


def page_sizes(pdf: bytes) -> list[tuple[float, float]]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document.get_page_size(index) for index in range(len(document))]
    finally:
        document.close()


def signature_for(agreement: AgreementData) -> SignatureData:
    unsigned = subscription_agreement_pdf(agreement)
    return SignatureData(typed_name="Sam Rivera", signed_at=SAM_SIGNS_AT, ip_address="203.0.113.7",
                         agreement_sha256=document_sha256(unsigned))


# --- the subscription agreement ----------------------------------------------------------------------------------


def test_the_agreement_states_the_commitment_and_the_right_to_cancel() -> None:
    pages = read(subscription_agreement_pdf(SAM_COMMITS), "agreement-reg-cf")
    text = " ".join(pages)

    for expected in ("SUBSCRIPTION AGREEMENT", "Lumen Labs, Inc.", "Delaware, United States", "Seed round",
                     "Series Seed Preferred shares", "Price per share $0.80", "$8,000,000.00", "Sam Rivera",
                     "1420 Oak Street Columbus, OH 43215 United States", "sam@example.com",
                     "Subscription amount $5,000.00 (USD)", "TR-000123", "Date 25 November 2026"):
        assert expected in text
    assert "Offering exemption Regulation Crowdfunding" in text
    assert "until 48 hours before the offering deadline of 9 January 2027, that is, until 7 January 2027, 23:59 UTC" \
        in text
    assert "Rule 501 of Regulation Crowdfunding (17 CFR 227.501)" in text
    assert "THE INVESTOR" in text
    assert pages[0].endswith(f"Page 1 of {len(pages)}")


def test_a_regulation_d_agreement_has_no_cancellation_cutoff() -> None:
    agreement = dataclasses.replace(SAM_COMMITS, exemption="reg_d_506b", cancellation_cutoff=None)
    text = " ".join(read(subscription_agreement_pdf(agreement), "agreement-reg-d"))

    assert "private placement under Rule 506(b) of Regulation D" in text
    assert "Sam Rivera" in text
    assert "$5,000.00" in text
    assert "48 hours" not in text
    assert "cancel this investment commitment" not in text
    assert "7 January 2027" not in text
    assert "Regulation Crowdfunding" not in text


@pytest.mark.parametrize(("exemption", "meaning"), [
    ("reg_cf", "the amount an investor who is not accredited may invest in such offerings in any twelve months is "
               "limited"),
    ("reg_d_506b", "it is not advertised to the public, and it may be sold to accredited investors and to no more "
                   "than 35 other purchasers"),
    ("reg_d_506c", "the Company may advertise it, but may sell only to accredited investors whose status it has "
                   "taken reasonable steps to verify"),
    ("reg_s", "it is open only to investors who are not U.S. persons and who are outside the United States"),
])
def test_the_agreement_says_what_the_exemption_means_for_the_investor(exemption: str, meaning: str) -> None:
    cutoff = SAM_COMMITS.cancellation_cutoff if exemption == "reg_cf" else None
    agreement = dataclasses.replace(SAM_COMMITS, exemption=exemption, cancellation_cutoff=cutoff)

    assert meaning in " ".join(read(subscription_agreement_pdf(agreement), f"agreement-{exemption}"))


def test_before_the_close_the_price_is_the_one_the_company_sets() -> None:
    agreement = dataclasses.replace(SAM_COMMITS, terms=PricedTerms(share_class="Series Seed Preferred"))
    text = " ".join(read(subscription_agreement_pdf(agreement), "agreement-no-price"))

    assert "Price per share Set by the Company at the closing" in text
    assert "at the price per Share the Company sets at the closing of the Offering" in text


def test_a_safe_agreement_states_the_instrument_cap_and_discount() -> None:
    agreement = dataclasses.replace(SAM_COMMITS, terms=SafeTerms(
        "post_money_safe", valuation_cap=Decimal("10000000"), discount=Decimal("0.2000"), mfn=True))
    text = " ".join(read(subscription_agreement_pdf(agreement), "agreement-safe"))

    assert "Instrument Post-money SAFE (Simple Agreement for Future Equity)" in text
    assert "Valuation cap $10,000,000.00" in text
    assert "Discount 20%" in text
    assert "a valuation cap of $10,000,000.00 and a discount of 20%" in text
    assert "most-favoured-nation" in text
    assert "Price per share" not in text


def test_a_pre_money_safe_without_cap_says_so() -> None:
    agreement = dataclasses.replace(SAM_COMMITS, terms=SafeTerms("pre_money_safe", discount=Decimal("0.175")))
    text = " ".join(read(subscription_agreement_pdf(agreement), "agreement-pre-money-safe"))

    assert "Pre-money SAFE" in text
    assert "no valuation cap and a discount of 17.5%" in text


def test_the_same_commitment_gives_the_same_bytes_and_another_amount_another_digest() -> None:
    first = subscription_agreement_pdf(SAM_COMMITS)
    again = subscription_agreement_pdf(dataclasses.replace(SAM_COMMITS))
    more = subscription_agreement_pdf(dataclasses.replace(SAM_COMMITS, amount=Decimal("5000.01")))

    assert first == again
    assert document_sha256(first) == document_sha256(again)
    assert document_sha256(more) != document_sha256(first)
    assert b"D:20261125153130+00'00'" in first  # the file is dated from the data, not from the clock


def test_the_creation_date_comes_from_the_data_in_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    same_moment = dataclasses.replace(SAM_COMMITS, created_at=datetime(2026, 11, 25, 10, 31, 30, tzinfo=new_york))

    assert subscription_agreement_pdf(same_moment) == subscription_agreement_pdf(SAM_COMMITS)


def test_the_signed_agreement_is_the_agreement_plus_a_signature_page() -> None:
    unsigned = subscription_agreement_pdf(SAM_COMMITS)
    signature = signature_for(SAM_COMMITS)
    signed = signed_agreement_pdf(SAM_COMMITS, signature)

    unsigned_pages = read(unsigned, "agreement-unsigned")
    signed_pages = read(signed, "agreement-signed")
    assert signed_pages[:-1] == unsigned_pages
    last = signed_pages[-1]
    assert "SIGNATURE PAGE" in last
    assert "Signed by Sam Rivera" in last
    assert "Signed at 25 November 2026, 15:42:07 UTC" in last
    assert "IP address 203.0.113.7" in last
    assert f"Agreement SHA-256 {document_sha256(unsigned)}" in last
    assert last.endswith("Signature page")
    assert signed_agreement_pdf(SAM_COMMITS, signature) == signed


def test_a_signature_over_another_agreement_is_refused() -> None:
    signature = signature_for(SAM_COMMITS)

    with pytest.raises(AgreementChanged):
        signed_agreement_pdf(dataclasses.replace(SAM_COMMITS, amount=Decimal("7500")), signature)
    with pytest.raises(ValueError, match="SHA-256"):
        dataclasses.replace(signature, agreement_sha256="not-a-digest")


def test_names_are_printed_as_given_not_read_as_markup() -> None:
    holdings = InvestorData(legal_name="A & B <Holdings>", email="ops@a-and-b.example",
                            address="O'Brien \"House\" <b>1</b>\n2 Quay & Dock", country="Ireland")
    agreement = dataclasses.replace(SAM_COMMITS, investor=holdings)
    signature = dataclasses.replace(signature_for(agreement), typed_name="A & B <Holdings>")

    agreement_text = " ".join(read(signed_agreement_pdf(agreement, signature), "agreement-escaping"))
    receipt_text = " ".join(read(payment_receipt_pdf(dataclasses.replace(SAM_PAYS, investor=holdings)),
                                 "receipt-escaping"))
    certificate_text = " ".join(read(share_certificate_pdf(dataclasses.replace(
        SAM_HOLDS, holder_name="A & B <Holdings>")), "certificate-escaping"))

    assert "Investor A & B <Holdings>" in agreement_text
    assert "Signed by A & B <Holdings>" in agreement_text
    assert "O'Brien \"House\" <b>1</b> 2 Quay & Dock Ireland" in agreement_text
    assert "Paid by A & B <Holdings>" in receipt_text
    assert "This certifies that A & B <Holdings> is the registered holder" in certificate_text


def test_letters_the_standard_fonts_lack_are_transliterated_not_boxed() -> None:
    agreement = dataclasses.replace(SAM_COMMITS, investor=dataclasses.replace(SAM, legal_name="Łukasz Wiśniewski-Zoë"))
    text = " ".join(read(subscription_agreement_pdf(agreement), "agreement-transliterated"))

    assert "Lukasz Wisniewski-Zoë" in text
    assert "■" not in text


def test_the_agreement_data_refuses_what_it_cannot_state() -> None:
    with pytest.raises(ValueError, match="cancellation cut-off"):
        dataclasses.replace(SAM_COMMITS, cancellation_cutoff=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        dataclasses.replace(SAM_COMMITS, created_at=datetime(2026, 11, 25, 15, 31))  # noqa: DTZ001 - the point
    with pytest.raises(ValueError, match="exemption"):
        dataclasses.replace(SAM_COMMITS, exemption="reg_a")
    with pytest.raises(ValueError, match="positive"):
        dataclasses.replace(SAM_COMMITS, amount=Decimal(0))
    with pytest.raises(ValueError, match="instrument"):
        SafeTerms("convertible_note")


# --- the receipt -------------------------------------------------------------------------------------------------


def test_the_receipt_shows_the_payment_and_the_escrow() -> None:
    pages = read(payment_receipt_pdf(SAM_PAYS), "receipt-card")
    text = " ".join(pages)

    assert len(pages) == 1
    for expected in ("PAYMENT RECEIPT", "Receipt number R-2026-000045", "Paid at 25 November 2026, 15:44:02 UTC",
                     "Amount paid $5,000.00 (USD)", "Payment method Card ending 4242",
                     "Provider reference pi_3QxYzAbCdEf123456", "Paid by Sam Rivera", "sam@example.com",
                     "Lumen Labs, Inc., Seed round, commitment TR-000123"):
        assert expected in text
    assert "The money is held in escrow until the round closes" in text


def test_a_bank_debit_receipt_names_the_account_and_the_escrow_agent() -> None:
    receipt = dataclasses.replace(SAM_PAYS, method="us_bank_account", method_last4="6789",
                                  escrow_agent="North Bank Escrow, N.A.")
    text = " ".join(read(payment_receipt_pdf(receipt), "receipt-bank"))

    assert "Payment method US bank account ending 6789" in text
    assert "held in escrow by North Bank Escrow, N.A. until the round closes" in text


def test_the_receipt_data_refuses_an_unknown_method() -> None:
    with pytest.raises(ValueError, match="payment method"):
        dataclasses.replace(SAM_PAYS, method="paypal")
    with pytest.raises(ValueError, match="last four"):
        dataclasses.replace(SAM_PAYS, method_last4="42")


# --- certificates ------------------------------------------------------------------------------------------------


def test_the_share_certificate_states_the_holding_in_words_and_figures() -> None:
    pdf = share_certificate_pdf(SAM_HOLDS)
    pages = read(pdf, "certificate-shares")
    text = pages[0]

    assert len(pages) == 1
    width, height = page_sizes(pdf)[0]
    assert width > height  # landscape
    for expected in ("CERTIFICATE NO. CS-0012", "SHARES 6,250", "Lumen Labs, Inc.",
                     "Incorporated under the laws of Delaware, United States", "SERIES SEED PREFERRED SHARES",
                     "This certifies that Sam Rivera is the registered holder of",
                     "Six Thousand Two Hundred Fifty (6,250)", "par value $0.00001 per share",
                     "Dated 12 January 2027", "Mei Chen", "Chief Executive Officer", "Secretary"):
        assert expected in text
    assert "RULE 501 OF REGULATION CROWDFUNDING (17 CFR 227.501)" in text
    assert "ONE-YEAR PERIOD" in text


def test_a_regulation_d_certificate_carries_the_restricted_securities_legend() -> None:
    certificate = dataclasses.replace(SAM_HOLDS, exemption="reg_d_506c", par_value=None)
    text = read(share_certificate_pdf(certificate), "certificate-reg-d")[0]

    assert "UNDER RULE 506(c) OF REGULATION D" in text
    assert "RESTRICTED SECURITIES" in text
    assert "227.501" not in text
    assert "par value" not in text


def test_a_long_certificate_still_fits_on_one_page() -> None:
    certificate = dataclasses.replace(
        SAM_HOLDS, company=CompanyData("Interplanetary Holographic Logistics and Research Laboratories, Inc.",
                                       "Delaware, United States"),
        holder_name="The Trustees of the Anne-Marie Fitzgerald-Ocampo Irrevocable Family Trust of 2019",
        shares=987_654_321, share_class="Series A-2 Convertible Participating Preferred")
    pages = read(share_certificate_pdf(certificate), "certificate-long")

    assert len(pages) == 1
    assert "Nine Hundred Eighty-Seven Million Six Hundred Fifty-Four Thousand Three Hundred Twenty-One " \
           "(987,654,321)" in pages[0]


def test_the_safe_certificate_states_amount_cap_discount_and_instrument() -> None:
    pdf = safe_certificate_pdf(ANGEL_SAFE)
    pages = read(pdf, "certificate-safe")
    text = pages[0]

    assert len(pages) == 1
    assert page_sizes(pdf)[0][0] > page_sizes(pdf)[0][1]
    for expected in ("CERTIFICATE NO. SAFE-0003", "PURCHASE AMOUNT $25,000.00", "SAFE CERTIFICATE",
                     "This certifies that Priya Natarajan holds a Post-money SAFE issued by Lumen Labs, Inc.",
                     "a valuation cap of $10,000,000.00 and a discount of 20%", "with a pro rata right",
                     "Dated 3 June 2026", "President", "Secretary", "UNDER RULE 506(b) OF REGULATION D"):
        assert expected in text


def test_certificates_are_deterministic_too() -> None:
    assert share_certificate_pdf(SAM_HOLDS) == share_certificate_pdf(dataclasses.replace(SAM_HOLDS))
    assert share_certificate_pdf(SAM_HOLDS) != share_certificate_pdf(dataclasses.replace(SAM_HOLDS, shares=6251))


def test_a_certificate_is_for_some_shares() -> None:
    with pytest.raises(ValueError, match="positive"):
        dataclasses.replace(SAM_HOLDS, shares=0)


# --- numbers in words --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "words"), [
    (0, "zero"),
    (7, "seven"),
    (13, "thirteen"),
    (20, "twenty"),
    (21, "twenty-one"),
    (99, "ninety-nine"),
    (100, "one hundred"),
    (101, "one hundred one"),
    (110, "one hundred ten"),
    (1_000, "one thousand"),
    (1_250, "one thousand two hundred fifty"),
    (6_250, "six thousand two hundred fifty"),
    (10_005, "ten thousand five"),
    (1_000_001, "one million one"),
    (8_000_000, "eight million"),
    (12_345_678, "twelve million three hundred forty-five thousand six hundred seventy-eight"),
    (1_000_000_000, "one billion"),
    (999_999_999_999_999_999, "nine hundred ninety-nine quadrillion nine hundred ninety-nine trillion nine hundred "
                              "ninety-nine billion nine hundred ninety-nine million nine hundred ninety-nine "
                              "thousand nine hundred ninety-nine"),
])
def test_number_in_words(number: int, words: str) -> None:
    assert number_in_words(number) == words


def test_number_in_words_refuses_what_it_cannot_write() -> None:
    with pytest.raises(ValueError, match="outside"):
        number_in_words(-1)
    with pytest.raises(ValueError, match="outside"):
        number_in_words(10**18)
    with pytest.raises(TypeError):
        number_in_words(True)

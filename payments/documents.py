"""The documents of an investment as PDF bytes: the subscription agreement (before signing, and signed, with a
signature page), the payment receipt, and the certificate of the shares or of the SAFE.

Callers pass frozen dataclasses, not models, so this module never queries anything. The words come from text
templates under `templates/payments/documents/` that a lawyer can edit without touching Python; this module only
lays them out. Their markup, line by line:

    # text           the title; lines right under it (no blank line between) are its subtitle
    ## text          a section heading
    ### text         a line set large and bold, such as the holder's name on a certificate
    | label | value  a row of a two-column table; consecutive rows make one table, even across blank lines
    > text           small print (a certificate's legend)
    [[signatures]]   the document's signature block
    a blank line ends a paragraph; the lines of a paragraph are joined with spaces.

The text is reportlab paragraph markup (`<b>`, `<i>`, `<br/>`); Django escapes every value the template prints,
which is also the escaping reportlab's markup needs.

Determinism: an agreement is generated before signing and its SHA-256 is recorded when the investor signs, so
the same data gives the same bytes: reportlab's invariant mode (no random document id), the creation date taken
from the data, month names not taken from the locale. The bytes stay the same only while reportlab, the
templates and this module stay the same, so keep the PDF that was signed rather than regenerating it later.

Fonts are the PDF standard Times, Helvetica and Courier: nothing to ship, the same on every machine. They print
the Windows-1252 (Western European) characters; any other character is transliterated (Łukasz → Lukasz) rather
than printed as a black box.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import partial
from typing import Any, Literal

from anyascii import anyascii
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.pagesizes import LETTER, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    FrameBreak,
    KeepInFrame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from accounts.templatetags.ui import CURRENCY_SYMBOLS, money
from compliance.choices import Exemption
from equity.choices import SafeInstrument
from payments.providers.base import PaymentMethod

TEMPLATES = "payments/documents"

# --- what callers pass -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompanyData:
    legal_name: str  # "Lumen Labs, Inc."
    jurisdiction: str  # as people read it: "Delaware, United States" (company.get_jurisdiction_display())


@dataclass(frozen=True)
class InvestorData:
    legal_name: str
    email: str
    address: str  # the postal address; lines separated by "\n"
    country: str  # as people read it: "United States"


@dataclass(frozen=True)
class PricedTerms:
    """A priced round: the class of shares sold, and the price once the company has set it."""

    share_class: str  # "Series Seed Preferred"
    price_per_share: Decimal | None = None
    pre_money_valuation: Decimal | None = None


@dataclass(frozen=True)
class SafeTerms:
    instrument: str  # equity.choices.SafeInstrument: "post_money_safe" or "pre_money_safe"
    valuation_cap: Decimal | None = None
    discount: Decimal | None = None  # a fraction: Decimal("0.20") is a 20% discount
    mfn: bool = False
    pro_rata: bool = False

    def __post_init__(self) -> None:
        if self.instrument not in SafeInstrument.values:
            raise ValueError(f"Unknown SAFE instrument {self.instrument!r}.")
        if self.discount is not None and not Decimal(0) <= self.discount < Decimal(1):
            raise ValueError("A discount is a fraction between 0 and 1, such as Decimal('0.20').")


@dataclass(frozen=True)
class AgreementData:
    """A commitment as its subscription agreement states it.

    `created_at` dates the agreement and the PDF file. A Regulation Crowdfunding offering needs
    `cancellation_cutoff`, the moment 48 hours before the offering deadline until which the investor may cancel.
    """

    company: CompanyData
    round_name: str  # "Seed"
    terms: PricedTerms | SafeTerms
    exemption: str  # compliance.choices.Exemption: reg_cf, reg_d_506b, reg_d_506c, reg_s
    investor: InvestorData
    amount: Decimal
    currency: str  # "USD"
    commitment_reference: str  # "TR-000123"
    created_at: datetime
    cancellation_cutoff: datetime | None = None
    offering_deadline: date | None = None

    def __post_init__(self) -> None:
        _check_exemption(self.exemption)
        _check_money(self.amount, self.currency)
        _check_aware(self.created_at, "created_at")
        if self.exemption == Exemption.REG_CF:
            if self.cancellation_cutoff is None:
                raise ValueError("A Regulation Crowdfunding agreement states the cancellation cut-off; pass it.")
            _check_aware(self.cancellation_cutoff, "cancellation_cutoff")


@dataclass(frozen=True)
class SignatureData:
    """How the investor signed: the name they typed, when (aware; printed in UTC), from which IP address, and
    the SHA-256 (hex) of the unsigned agreement PDF they were shown."""

    typed_name: str
    signed_at: datetime
    ip_address: str
    agreement_sha256: str

    def __post_init__(self) -> None:
        _check_aware(self.signed_at, "signed_at")
        if not re.fullmatch(r"[0-9a-f]{64}", self.agreement_sha256):
            raise ValueError("agreement_sha256 is the 64-character lower-case hex SHA-256 of the unsigned PDF.")


@dataclass(frozen=True)
class ReceiptData:
    receipt_number: str
    company: CompanyData
    round_name: str
    investor: InvestorData
    amount: Decimal
    currency: str
    method: str  # payments.providers.base.PaymentMethod: "card" or "us_bank_account"
    method_last4: str  # "4242", or "" when the provider did not say
    provider_reference: str  # the provider's payment id, e.g. Stripe's "pi_..."
    paid_at: datetime  # aware; also dates the PDF file
    commitment_reference: str
    escrow_agent: str = ""  # who holds the money, when it should be named

    def __post_init__(self) -> None:
        _check_money(self.amount, self.currency)
        _check_aware(self.paid_at, "paid_at")
        if self.method not in (PaymentMethod.CARD, PaymentMethod.US_BANK_ACCOUNT):
            raise ValueError(f"Unknown payment method {self.method!r}.")
        if self.method_last4 and not re.fullmatch(r"\d{4}", self.method_last4):
            raise ValueError("method_last4 is the last four digits of the card or account number, or empty.")


@dataclass(frozen=True)
class OfficerData:
    """An officer who signs certificates: the title is printed under the line, the name above it if given."""

    title: str
    name: str = ""


DEFAULT_OFFICERS = (OfficerData("President"), OfficerData("Secretary"))


@dataclass(frozen=True)
class CertificateData:
    """A share certificate. `exemption` chooses the legend: an empty string gives the general legend of
    securities not registered under the Securities Act."""

    certificate_number: str  # "CS-0012"
    company: CompanyData
    holder_name: str
    shares: int
    share_class: str  # "Series Seed Preferred"
    issue_date: date
    exemption: str = ""
    par_value: Decimal | None = None
    currency: str = "USD"  # of the par value
    officers: tuple[OfficerData, OfficerData] = DEFAULT_OFFICERS

    def __post_init__(self) -> None:
        if self.exemption:
            _check_exemption(self.exemption)
        if self.shares <= 0:
            raise ValueError("A certificate is for a positive number of shares.")


@dataclass(frozen=True)
class SafeCertificateData:
    """The certificate of a SAFE: a record of the holder's SAFE and its terms (the SAFE itself is a contract)."""

    certificate_number: str  # "SAFE-0003"
    company: CompanyData
    holder_name: str
    purchase_amount: Decimal
    currency: str
    terms: SafeTerms
    issue_date: date
    exemption: str = ""
    officers: tuple[OfficerData, OfficerData] = DEFAULT_OFFICERS

    def __post_init__(self) -> None:
        if self.exemption:
            _check_exemption(self.exemption)
        _check_money(self.purchase_amount, self.currency)


class AgreementChanged(ValueError):
    """The agreement generated from the data is not the one the signature's SHA-256 names."""


def _check_exemption(exemption: str) -> None:
    if exemption not in Exemption.values:
        raise ValueError(f"Unknown exemption {exemption!r}.")


def _check_money(amount: Decimal, currency: str) -> None:
    if amount <= 0:
        raise ValueError("An amount must be positive.")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ValueError("A currency is an ISO 4217 code such as USD.")


def _check_aware(moment: datetime, name: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware; documents print times in UTC.")


# --- the documents -----------------------------------------------------------------------------------------------


def document_sha256(pdf: bytes) -> str:
    """The digest the platform records for a document (lower-case hex)."""
    return hashlib.sha256(pdf).hexdigest()


def subscription_agreement_pdf(agreement: AgreementData) -> bytes:
    """The agreement as the investor is shown it before signing; the same data gives the same bytes."""
    document = _AgreementDocument(agreement)
    return document.build(signature=None)


def signed_agreement_pdf(agreement: AgreementData, signature: SignatureData) -> bytes:
    """The same agreement followed by a signature page. Raises `AgreementChanged` when the agreement generated
    from `agreement` is not the one whose SHA-256 the investor signed (the data or the template changed)."""
    unsigned = subscription_agreement_pdf(agreement)
    if document_sha256(unsigned) != signature.agreement_sha256:
        raise AgreementChanged(
            "The agreement generated from this data is not the one that was signed; use the stored signed PDF.")
    return _AgreementDocument(agreement).build(signature=signature)


def payment_receipt_pdf(receipt: ReceiptData) -> bytes:
    context = {
        "receipt_number": receipt.receipt_number,
        "company_name": _one_line(receipt.company.legal_name),
        "round_name": _one_line(receipt.round_name),
        "investor_name": _one_line(receipt.investor.legal_name),
        "investor_email": receipt.investor.email,
        "investor_address": _address(receipt.investor.address, receipt.investor.country),
        "amount": money(receipt.amount, receipt.currency),
        "currency": receipt.currency,
        "method": receipt.method,
        "method_last4": receipt.method_last4,
        "provider_reference": receipt.provider_reference,
        "paid_at": _moment(receipt.paid_at, seconds=True),
        "commitment_reference": receipt.commitment_reference,
        "escrow_agent": _one_line(receipt.escrow_agent),
    }
    blocks = _blocks(render_to_string(f"{TEMPLATES}/payment_receipt.txt", context))
    styles = _PageStyles()
    story = _flowables(blocks, styles, signatures=list)  # a receipt has no signature block
    return _build_pages(
        story, created_at=receipt.paid_at,
        footer=f"{_one_line(receipt.company.legal_name)} · Receipt {receipt.receipt_number}",
        title=f"Receipt {receipt.receipt_number}", author=receipt.company.legal_name,
        subject=f"Payment for {receipt.round_name}",
    )


def share_certificate_pdf(certificate: CertificateData) -> bytes:
    context = {
        "company_name": _one_line(certificate.company.legal_name),
        "company_jurisdiction": _one_line(certificate.company.jurisdiction),
        "holder_name": _one_line(certificate.holder_name),
        "shares": f"{certificate.shares:,}",
        "shares_in_words": number_in_words(certificate.shares).title(),
        "share_class": _one_line(certificate.share_class),
        "par_value": _price(certificate.par_value, certificate.currency) if certificate.par_value else "",
        "issue_date": _day(certificate.issue_date),
        "exemption": certificate.exemption,
    }
    text = render_to_string(f"{TEMPLATES}/share_certificate.txt", context)
    return _build_certificate(
        text, certificate.officers, heading="Share Certificate",
        number=certificate.certificate_number, quantity_label="Shares", quantity=f"{certificate.shares:,}",
        issue_date=certificate.issue_date, company=certificate.company.legal_name,
    )


def safe_certificate_pdf(certificate: SafeCertificateData) -> bytes:
    context = {
        "company_name": _one_line(certificate.company.legal_name),
        "company_jurisdiction": _one_line(certificate.company.jurisdiction),
        "holder_name": _one_line(certificate.holder_name),
        "purchase_amount": money(certificate.purchase_amount, certificate.currency),
        "issue_date": _day(certificate.issue_date),
        "exemption": certificate.exemption,
        **_safe_context(certificate.terms, certificate.currency),
    }
    text = render_to_string(f"{TEMPLATES}/safe_certificate.txt", context)
    return _build_certificate(
        text, certificate.officers, heading="SAFE Certificate",
        number=certificate.certificate_number, quantity_label="Purchase amount",
        quantity=money(certificate.purchase_amount, certificate.currency),
        issue_date=certificate.issue_date, company=certificate.company.legal_name,
    )


# --- words and numbers -------------------------------------------------------------------------------------------

_ONES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ("", " thousand", " million", " billion", " trillion", " quadrillion")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def number_in_words(number: int) -> str:
    """A whole number in American English words, as a share certificate writes it: 1250 is "one thousand two
    hundred fifty" (no "and"; tens and units joined by a hyphen, "twenty-five")."""
    if isinstance(number, bool) or not isinstance(number, int):
        raise TypeError("number_in_words takes an int.")
    if not 0 <= number < 1000 ** len(_SCALES):
        raise ValueError(f"{number} is outside what a certificate needs to write out.")
    if number == 0:
        return _ONES[0]
    groups: list[str] = []
    for scale in _SCALES:
        number, group = divmod(number, 1000)
        if group:
            groups.append(_below_thousand(group) + scale)
        if not number:
            break
    return " ".join(reversed(groups))


def _below_thousand(number: int) -> str:
    hundreds, rest = divmod(number, 100)
    words = [f"{_ONES[hundreds]} hundred"] if hundreds else []
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    elif rest:
        words.append(_ONES[rest])
    return " ".join(words)


def _day(value: date) -> str:
    """25 November 2026 (month names fixed here, never from the locale, so the bytes do not depend on it)."""
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def _moment(value: datetime, *, seconds: bool = False) -> str:
    utc = value.astimezone(UTC)
    clock = f"{utc:%H:%M:%S}" if seconds else f"{utc:%H:%M}"
    return f"{_day(utc.date())}, {clock} UTC"


def _price(value: Decimal, currency: str) -> str:
    """A price per share to its last significant digit and at least to the cent: $0.6234, $1.00."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    symbol = CURRENCY_SYMBOLS.get(currency)
    digits = f"{value:,.{places}f}"
    return f"{symbol}{digits}" if symbol else f"{currency} {digits}"


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).normalize():f}%"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _address(address: str, country: str) -> SafeString:
    """The postal address as lines in a table cell; each line escaped here, since the joins are markup."""
    lines = [_one_line(line) for line in address.splitlines() if line.strip()]
    if country.strip():
        lines.append(_one_line(country))
    return mark_safe("<br/>".join(escape(line) for line in lines))  # noqa: S308 - every line is escaped above


def _printable(text: str) -> str:
    """Characters the standard fonts cannot print are transliterated instead of printed as black boxes."""
    if text.isascii():
        return text
    return "".join(char if _in_cp1252(char) else anyascii(char) for char in text)


def _in_cp1252(char: str) -> bool:
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _safe_context(terms: SafeTerms, currency: str) -> dict[str, object]:
    return {
        "instrument": terms.instrument,
        "valuation_cap": money(terms.valuation_cap, currency) if terms.valuation_cap else "",
        "discount": _percent(terms.discount) if terms.discount else "",
        "mfn": terms.mfn,
        "pro_rata": terms.pro_rata,
    }


# --- the text templates' markup ----------------------------------------------------------------------------------

BlockKind = Literal["title", "heading", "display", "paragraph", "small", "rows", "signatures"]


@dataclass
class _Block:
    kind: BlockKind
    text: str = ""
    subtitle: list[str] = field(default_factory=list)
    rows: list[tuple[str, str]] = field(default_factory=list)


def _blocks(rendered: str) -> list[_Block]:
    """The rendered template's lines as blocks (the markup is in the module docstring)."""
    blocks: list[_Block] = []
    open_block: _Block | None = None  # a title, paragraph or small print the next line may continue
    for raw in _printable(rendered).splitlines():
        line = raw.strip()
        if not line:
            open_block = None
        elif line.startswith("# "):
            open_block = _Block("title", line[2:].strip())
            blocks.append(open_block)
        elif line.startswith("## "):
            blocks.append(_Block("heading", line[3:].strip()))
            open_block = None
        elif line.startswith("### "):
            blocks.append(_Block("display", line[4:].strip()))
            open_block = None
        elif line.startswith("|"):
            label, _, value = line[1:].partition("|")
            if not blocks or blocks[-1].kind != "rows":
                blocks.append(_Block("rows"))
            blocks[-1].rows.append((label.strip(), value.strip()))
            open_block = None
        elif line == "[[signatures]]":
            blocks.append(_Block("signatures"))
            open_block = None
        elif line.startswith("> "):
            if open_block is None or open_block.kind != "small":
                open_block = _Block("small", line[2:].strip())
                blocks.append(open_block)
            else:
                open_block.text += " " + line[2:].strip()
        elif open_block is not None and open_block.kind == "title":
            open_block.subtitle.append(line)
        elif open_block is not None and open_block.kind == "paragraph":
            open_block.text += " " + line
        else:
            open_block = _Block("paragraph", line)
            blocks.append(open_block)
    return blocks


# --- the look ----------------------------------------------------------------------------------------------------

INK = colors.HexColor("#1b1b1b")
MUTED = colors.HexColor("#5b6270")
RULE = colors.HexColor("#c9ccd1")
ACCENT = colors.HexColor("#1f3a5f")  # a deep navy: headings' rules, the certificate's border
PAPER = colors.HexColor("#fbf9f3")  # the certificate's cream ground


class _PageStyles:
    """Portrait documents: the agreement, its signature page, the receipt."""

    def __init__(self) -> None:
        self.title = ParagraphStyle("title", fontName="Times-Bold", fontSize=17, leading=21, alignment=TA_CENTER,
                                    textColor=INK, textTransform="uppercase", spaceAfter=3)
        self.subtitle = ParagraphStyle("subtitle", fontName="Times-Italic", fontSize=11.5, leading=15,
                                       alignment=TA_CENTER, textColor=MUTED)
        self.heading = ParagraphStyle("heading", fontName="Times-Bold", fontSize=11.5, leading=15, textColor=ACCENT,
                                      spaceBefore=11, spaceAfter=3)
        self.display = ParagraphStyle("display", fontName="Times-Bold", fontSize=14, leading=18, textColor=INK,
                                      spaceBefore=4, spaceAfter=6)
        self.body = ParagraphStyle("body", fontName="Times-Roman", fontSize=10.5, leading=14.2, textColor=INK,
                                   alignment=TA_JUSTIFY, spaceAfter=6)
        self.small = ParagraphStyle("small", fontName="Times-Roman", fontSize=8, leading=10, textColor=MUTED,
                                    alignment=TA_JUSTIFY, spaceAfter=4)
        self.label = ParagraphStyle("label", fontName="Helvetica", fontSize=8, leading=12.5, textColor=MUTED)
        self.value = ParagraphStyle("value", fontName="Times-Roman", fontSize=10.5, leading=13.5, textColor=INK)
        self.caption = ParagraphStyle("caption", fontName="Helvetica", fontSize=7.5, leading=10, textColor=MUTED)
        self.party = ParagraphStyle("party", fontName="Helvetica-Bold", fontSize=7.5, leading=10, textColor=ACCENT)
        self.signed_name = ParagraphStyle("signed", fontName="Times-BoldItalic", fontSize=19, leading=23,
                                          textColor=ACCENT)
        self.frame_width = LETTER[0] - 2 * inch
        self.heading_room: float | None = 0.85 * inch
        self.row_label_width = 1.65 * inch


class _CertificateStyles(_PageStyles):
    def __init__(self) -> None:
        super().__init__()
        self.title = ParagraphStyle("c-title", fontName="Times-Bold", fontSize=29, leading=33, alignment=TA_CENTER,
                                    textColor=ACCENT, spaceAfter=2)
        self.subtitle = ParagraphStyle("c-subtitle", fontName="Times-Italic", fontSize=11.5, leading=14,
                                       alignment=TA_CENTER, textColor=MUTED)
        self.heading = ParagraphStyle("c-heading", fontName="Helvetica-Bold", fontSize=10, leading=13,
                                      alignment=TA_CENTER, textColor=ACCENT, textTransform="uppercase",
                                      spaceBefore=12, spaceAfter=8)
        self.display = ParagraphStyle("c-display", fontName="Times-Bold", fontSize=19, leading=24,
                                      alignment=TA_CENTER, textColor=INK, spaceBefore=1, spaceAfter=3)
        self.body = ParagraphStyle("c-body", fontName="Times-Roman", fontSize=12, leading=16, alignment=TA_CENTER,
                                   textColor=INK, spaceAfter=3)
        self.small = ParagraphStyle("c-small", fontName="Times-Roman", fontSize=6.6, leading=8.1,
                                    alignment=TA_JUSTIFY, textColor=INK)
        self.caption = ParagraphStyle("c-caption", fontName="Helvetica", fontSize=8, leading=10.5, textColor=INK)
        self.frame_width = _CERTIFICATE_FRAME[2]
        self.heading_room = None


def _flowables(blocks: Sequence[_Block], styles: _PageStyles,
               signatures: Callable[[], list[Flowable]]) -> list[Flowable]:
    story: list[Flowable] = []
    section = 0  # where the current section's heading is in the story
    for block in blocks:
        if block.kind == "title":
            story.append(Paragraph(block.text, styles.title))
            story.extend(Paragraph(line, styles.subtitle) for line in block.subtitle)
            story.append(_Rule(styles.frame_width, space_before=8, space_after=12))
        elif block.kind == "heading":
            if styles.heading_room:
                story.append(CondPageBreak(styles.heading_room))  # no heading alone at the foot of a page
            section = len(story)
            story.append(Paragraph(block.text, styles.heading))
        elif block.kind == "display":
            story.append(Paragraph(block.text, styles.display))
        elif block.kind == "paragraph":
            story.append(Paragraph(block.text, styles.body))
        elif block.kind == "small":
            story.append(Paragraph(block.text, styles.small))
        elif block.kind == "rows":
            story.append(_rows_table(block.rows, styles))
        elif styles.heading_room:
            # Signatures never stand alone on a page: they move with the last section's text.
            start = section if section else max(0, len(story) - 1)
            story[start:] = [KeepTogether([*story[start:], *signatures()])]
        else:
            story.extend(signatures())
    return story


def _rows_table(rows: Sequence[tuple[str, str]], styles: _PageStyles) -> Table:
    table = Table(
        [[Paragraph(label, styles.label), Paragraph(value, styles.value)] for label, value in rows],
        colWidths=[styles.row_label_width, styles.frame_width - styles.row_label_width],
        hAlign="LEFT",
    )
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (0, -1), 0),
        ("RIGHTPADDING", (-1, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (0, -1), 6.5),  # the smaller labels' baselines on the values' baselines
        ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
        ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.9, ACCENT),
        ("LINEBELOW", (0, -1), (-1, -1), 0.9, ACCENT),
    ]))
    table.spaceAfter = 10
    return table


class _Rule(Flowable):
    """A short centred rule under a title."""

    def __init__(self, width: float, *, space_before: float, space_after: float, length: float = 72) -> None:
        super().__init__()
        self.width = width
        self.length = length
        self.spaceBefore = space_before
        self.spaceAfter = space_after

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, 1

    def draw(self) -> None:
        self.canv.setStrokeColor(ACCENT)
        self.canv.setLineWidth(1.2)
        left = (self.width - self.length) / 2
        self.canv.line(left, 0.5, left + self.length, 0.5)


def _signature_lines(parties: Sequence[tuple[str, Sequence[str]]], styles: _PageStyles, *,
                     width: float, space: float = 30, signed: str = "") -> Table:
    """Signature blocks side by side, on one grid so their lines align: each party's heading, room to sign (or
    the typed signature), the line, then the captions under it."""
    gap = 0.45 * inch
    column = (width - gap * (len(parties) - 1)) / len(parties)

    def spread(cells: Sequence[Any]) -> list[Any]:
        row: list[Any] = []
        for index, cell in enumerate(cells):
            row.extend(["", cell] if index else [cell])
        return row

    rows: list[list[Any]] = []
    if any(party for party, _ in parties):
        rows.append(spread([Paragraph(party, styles.party) for party, _ in parties]))
    rows.append(spread([Paragraph(signed, styles.signed_name) if signed else Spacer(1, space) for _ in parties]))
    first_caption = len(rows)
    depth = max(len(captions) for _, captions in parties)
    for line in range(depth):
        rows.append(spread([Paragraph(captions[line], styles.caption) if line < len(captions) else ""
                            for _, captions in parties]))
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, first_caption), (-1, first_caption), 4),
    ]
    commands += [("LINEABOVE", (2 * index, first_caption), (2 * index, first_caption), 0.6, INK)
                 for index in range(len(parties))]
    widths = [column if index % 2 == 0 else gap for index in range(2 * len(parties) - 1)]
    table = Table(rows, colWidths=widths, hAlign="CENTER")
    table.setStyle(TableStyle(commands))
    return table


# --- portrait documents: pages with a numbered footer -------------------------------------------------------------

SIGNATURE_PAGE_LABEL = "Signature page"


def _pdf_date(moment: datetime) -> str:
    return f"D:{moment.astimezone(UTC):%Y%m%d%H%M%S}+00'00'"


class _DocumentCanvas(Canvas):
    """Dates the file from the data, and stamps each page's footer once the page count is known ("Page 2 of 3").
    A page whose template sets `page_label` is not counted and shows the label instead (the signature page)."""

    def __init__(self, *args: Any, created_at: datetime, footer: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stamp = _pdf_date(created_at)
        self.setDateFormatter(lambda *_: stamp)
        self.footer = footer
        self.page_label = ""
        self.finished_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 - reportlab's name
        self.finished_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        counted = sum(1 for page in self.finished_pages if not page["page_label"])
        number = 0
        for page in self.finished_pages:
            self.__dict__.update(page)
            if self.footer:
                if not self.page_label:
                    number += 1
                self._draw_footer(self.page_label or f"Page {number} of {counted}")
            super().showPage()
        super().save()

    def _draw_footer(self, label: str) -> None:
        width = self._pagesize[0]
        self.saveState()
        self.setStrokeColor(RULE)
        self.setLineWidth(0.5)
        self.line(inch, 0.72 * inch, width - inch, 0.72 * inch)
        self.setFont("Helvetica", 7.5)
        self.setFillColor(MUTED)
        self.drawString(inch, 0.55 * inch, _printable(self.footer))
        self.drawRightString(width - inch, 0.55 * inch, label)
        self.restoreState()


def _portrait_template(template_id: str, page_label: str = "") -> PageTemplate:
    frame = Frame(inch, 0.92 * inch, LETTER[0] - 2 * inch, LETTER[1] - 1.8 * inch, id=template_id,
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

    def label_page(canvas: Canvas, document: BaseDocTemplate) -> None:
        canvas.page_label = page_label

    return PageTemplate(id=template_id, frames=[frame], onPage=label_page, pagesize=LETTER)


def _build_pages(story: list[Flowable], *, created_at: datetime, footer: str, title: str,
                 author: str, subject: str, templates: Sequence[PageTemplate] = ()) -> bytes:
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer, pagesize=LETTER, pageTemplates=list(templates) or [_portrait_template("page")],
        title=_printable(title), author=_printable(author), subject=_printable(subject), creator="Tranche",
        invariant=1, pageCompression=1,
    )
    document.build(story, canvasmaker=partial(_DocumentCanvas, created_at=created_at, footer=footer))
    return buffer.getvalue()


class _AgreementDocument:
    def __init__(self, agreement: AgreementData) -> None:
        self.agreement = agreement
        self.styles = _PageStyles()

    def context(self) -> dict[str, object]:
        agreement = self.agreement
        context: dict[str, object] = {
            "company_name": _one_line(agreement.company.legal_name),
            "company_jurisdiction": _one_line(agreement.company.jurisdiction),
            "round_name": _one_line(agreement.round_name),
            "exemption": agreement.exemption,
            "investor_name": _one_line(agreement.investor.legal_name),
            "investor_email": agreement.investor.email,
            "investor_address": _address(agreement.investor.address, agreement.investor.country),
            "amount": money(agreement.amount, agreement.currency),
            "currency": agreement.currency,
            "commitment_reference": agreement.commitment_reference,
            "date": _day(agreement.created_at.astimezone(UTC).date()),
            "cancellation_cutoff": _moment(agreement.cancellation_cutoff) if agreement.cancellation_cutoff else "",
            "offering_deadline": _day(agreement.offering_deadline) if agreement.offering_deadline else "",
        }
        if isinstance(agreement.terms, SafeTerms):
            context.update(kind="safe", **_safe_context(agreement.terms, agreement.currency))
        else:
            terms = agreement.terms
            context.update(
                kind="priced",
                share_class=_one_line(terms.share_class),
                price_per_share=_price(terms.price_per_share, agreement.currency) if terms.price_per_share else "",
                pre_money_valuation=(money(terms.pre_money_valuation, agreement.currency)
                                     if terms.pre_money_valuation else ""),
            )
        return context

    def build(self, signature: SignatureData | None) -> bytes:
        agreement = self.agreement
        context = self.context()
        story = _flowables(_blocks(render_to_string(f"{TEMPLATES}/subscription_agreement.txt", context)),
                           self.styles, signatures=self.signature_block)
        templates = [_portrait_template("agreement")]
        if signature is not None:
            context.update(
                typed_name=_one_line(signature.typed_name),
                signed_at=_moment(signature.signed_at, seconds=True),
                ip_address=signature.ip_address,
                agreement_sha256=signature.agreement_sha256,
            )
            page = render_to_string(f"{TEMPLATES}/signature_page.txt", context)
            templates.append(_portrait_template("signature", page_label=SIGNATURE_PAGE_LABEL))
            story += [NextPageTemplate("signature"), PageBreak()]
            story += _flowables(_blocks(page), self.styles,
                                signatures=partial(self.signed_block, _printable(_one_line(signature.typed_name))))
        company = agreement.company.legal_name
        return _build_pages(
            story, templates=templates,
            created_at=signature.signed_at if signature else agreement.created_at,
            footer=f"{_one_line(company)} · Subscription agreement · {agreement.commitment_reference}",
            title=f"Subscription agreement: {company}, {agreement.round_name}", author=company,
            subject=f"Commitment {agreement.commitment_reference}",
        )

    def signature_block(self) -> list[Flowable]:
        investor = escape(_printable(_one_line(self.agreement.investor.legal_name)))
        company = escape(_printable(_one_line(self.agreement.company.legal_name)))
        block = _signature_lines(
            [("THE INVESTOR", [f"Signature of {investor}", "Date"]),
             (f"THE COMPANY: {company.upper()}", ["By (authorised officer)", "Name and title", "Date"])],
            self.styles, width=self.styles.frame_width,
        )
        return [Spacer(1, 12), block]

    def signed_block(self, typed_name: str) -> list[Flowable]:
        investor = escape(_printable(_one_line(self.agreement.investor.legal_name)))
        block = _signature_lines([("", [f"Signed electronically by {investor}"])], self.styles,
                                 width=3.4 * inch, signed=escape(typed_name))
        block.hAlign = "LEFT"
        return [Spacer(1, 10), block, Spacer(1, 14)]


# --- certificates: one landscape page with a border --------------------------------------------------------------

_PAGE = landscape(LETTER)
_CERTIFICATE_FRAME = (106.0, 146.0, _PAGE[0] - 212.0, 354.0)  # x, y, width, height of the main text
_LEGEND_FRAME = (80.0, 62.0, _PAGE[0] - 160.0, 76.0)  # the legend, set on the frame's foot


def _build_certificate(text: str, officers: Sequence[OfficerData], *, heading: str, number: str,
                       quantity_label: str, quantity: str, issue_date: date, company: str) -> bytes:
    styles = _CertificateStyles()
    blocks = _blocks(text)
    named = any(officer.name for officer in officers)  # then every title goes on the same line, under the names
    officer_lines: list[tuple[str, Sequence[str]]] = [
        ("", ([escape(_printable(_one_line(officer.name)))] if named else []) + [escape(_printable(officer.title))])
        for officer in officers
    ]

    def signatures() -> list[Flowable]:
        return [Spacer(1, 6), _signature_lines(officer_lines, styles, width=5.6 * inch, space=30)]

    main = _flowables([block for block in blocks if block.kind != "small"], styles, signatures)
    legend = _flowables([block for block in blocks if block.kind == "small"], styles, signatures)
    legend_height = sum(flowable.wrap(_LEGEND_FRAME[2], _LEGEND_FRAME[3])[1] + flowable.getSpaceAfter()
                        for flowable in legend)
    legend.insert(0, Spacer(1, max(0.0, _LEGEND_FRAME[3] - legend_height - 1)))

    def draw_page(canvas: Canvas, document: BaseDocTemplate) -> None:
        _draw_certificate_page(canvas, heading=heading, number=_printable(number),
                               quantity_label=quantity_label, quantity=_printable(quantity))

    frames = [
        Frame(*_CERTIFICATE_FRAME, id="main", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0),
        Frame(*_LEGEND_FRAME, id="legend", leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0),
    ]
    story: list[Flowable] = [KeepInFrame(_CERTIFICATE_FRAME[2], _CERTIFICATE_FRAME[3], main, mode="shrink",
                                         vAlign="MIDDLE"),
                             FrameBreak(),
                             KeepInFrame(_LEGEND_FRAME[2], _LEGEND_FRAME[3], legend, mode="shrink")]
    buffer = io.BytesIO()
    document = BaseDocTemplate(
        buffer, pagesize=_PAGE, pageTemplates=[PageTemplate(id="certificate", frames=frames, onPage=draw_page)],
        title=_printable(f"{heading} {number}: {company}"), author=_printable(company), creator="Tranche",
        invariant=1, pageCompression=1,
    )
    issued = datetime.combine(issue_date, time(0, 0), tzinfo=UTC)
    document.build(story, canvasmaker=partial(_DocumentCanvas, created_at=issued, footer=""))
    return buffer.getvalue()


def _draw_certificate_page(canvas: Canvas, *, heading: str, number: str, quantity_label: str,
                           quantity: str) -> None:
    width, height = _PAGE
    canvas.saveState()
    canvas.setFillColor(PAPER)
    canvas.rect(20, 20, width - 40, height - 40, stroke=0, fill=1)
    _draw_border(canvas, width, height)
    # The header strip: the certificate's number and quantity in boxes, what it is between them.
    box_width, box_height, top = 138.0, 42.0, height - 64
    for x, label, value in ((70.0, "Certificate No.", number),
                            (width - 70 - box_width, quantity_label, quantity)):
        canvas.setStrokeColor(ACCENT)
        canvas.setLineWidth(0.8)
        canvas.setFillColor(colors.white)
        canvas.rect(x, top - box_height, box_width, box_height, stroke=1, fill=1)
        canvas.setFillColor(MUTED)
        canvas.setFont("Helvetica", 6.5)
        canvas.drawCentredString(x + box_width / 2, top - 12, label.upper())
        canvas.setFillColor(INK)
        canvas.setFont("Times-Bold", 15)
        canvas.drawCentredString(x + box_width / 2, top - 31, value)
    title = canvas.beginText()
    title.setFont("Helvetica-Bold", 11)
    title.setCharSpace(3.2)
    title.setFillColor(ACCENT)
    label = heading.upper()
    text_width = canvas.stringWidth(label, "Helvetica-Bold", 11) + 3.2 * (len(label) - 1)
    title.setTextOrigin((width - text_width) / 2, top - 25)
    title.textOut(label)
    canvas.drawText(title)
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(0.5)
    canvas.line(width / 2 - 60, top - 33, width / 2 + 60, top - 33)
    canvas.restoreState()


def _draw_border(canvas: Canvas, width: float, height: float) -> None:
    """Two rules around a band of interlaced waves (a simple guilloche), with a rosette in each corner."""
    outer, band_in, band_out = 20.0, 46.0, 24.0
    middle = (band_in + band_out) / 2
    canvas.setStrokeColor(ACCENT)
    canvas.setLineWidth(1.8)
    canvas.rect(outer, outer, width - 2 * outer, height - 2 * outer)
    canvas.setLineWidth(0.8)
    canvas.rect(band_out, band_out, width - 2 * band_out, height - 2 * band_out)
    canvas.rect(band_in, band_in, width - 2 * band_in, height - 2 * band_in)
    canvas.setLineWidth(0.35)
    canvas.rect(band_in + 3, band_in + 3, width - 2 * band_in - 6, height - 2 * band_in - 6)
    amplitude = (band_in - band_out) / 2 - 2.5
    start_x, end_x = band_in, width - band_in
    start_y, end_y = band_in, height - band_in
    canvas.setLineWidth(0.45)
    for phase in range(4):
        shift = phase * 0.25
        for fixed in (middle, height - middle):
            _wave(canvas, start_x, end_x, fixed, amplitude, shift, horizontal=True)
        for fixed in (middle, width - middle):
            _wave(canvas, start_y, end_y, fixed, amplitude, shift, horizontal=False)
    for cx, cy in ((middle, middle), (width - middle, middle), (middle, height - middle),
                   (width - middle, height - middle)):
        _rosette(canvas, cx, cy, amplitude + 1)


def _wave(canvas: Canvas, start: float, end: float, fixed: float, amplitude: float, shift: float, *,
          horizontal: bool) -> None:
    """A sine wave along one side, drawn as cubic Béziers a quarter period each (a whole number of periods, so
    every side ends where its corner begins)."""
    periods = max(1, round((end - start) / 26))
    period = (end - start) / periods
    quarter = period / 4
    handle = quarter * 0.5523  # the Bézier handle that follows a quarter sine closely
    path = canvas.beginPath()

    def point(along: float, across: float) -> tuple[float, float]:
        return (along, fixed + across) if horizontal else (fixed + across, along)

    # The wave's value at quarter steps cycles 0, +1, 0, -1; `shift` (in periods) moves the start of the cycle.
    offset = round(shift * 4)
    values = (0.0, 1.0, 0.0, -1.0)
    path.moveTo(*point(start, amplitude * values[offset % 4]))
    for step in range(periods * 4):
        a = start + step * quarter
        b = a + quarter
        y0 = amplitude * values[(step + offset) % 4]
        y1 = amplitude * values[(step + 1 + offset) % 4]
        # At an extreme the tangent is flat; at a zero crossing it is steep.
        c1 = point(a + handle, y0) if y0 else point(a + handle * 0.6, y0 + (y1 - y0) * 0.6)
        c2 = point(b - handle, y1) if y1 else point(b - handle * 0.6, y1 + (y0 - y1) * 0.6)
        path.curveTo(*c1, *c2, *point(b, y1))
    canvas.drawPath(path, stroke=1, fill=0)


def _rosette(canvas: Canvas, cx: float, cy: float, radius: float) -> None:
    canvas.circle(cx, cy, radius, stroke=1, fill=0)
    petals = 10
    for index in range(petals):
        angle = 2 * math.pi * index / petals
        canvas.circle(cx + radius / 2 * math.cos(angle), cy + radius / 2 * math.sin(angle), radius / 2,
                      stroke=1, fill=0)

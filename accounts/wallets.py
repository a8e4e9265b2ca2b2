"""Sign-In with Ethereum (EIP-4361) messages: build one, parse one strictly, check it, recover its signer.

No database here: the caller supplies what the message must match (domain, scheme, chain id, the time) and
looks the nonce up itself. Every refusal is a `SiweError` whose text a person can read.

The parser follows the ABNF of EIP-4361 for the fields Tranche uses; anything it does not expect (a missing
line, an extra line, fields out of order, a bad address or time) is refused rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address, to_checksum_address

PREAMBLE = " wants you to sign in with your Ethereum account:"
VERSION = "1"
# Clocks differ; a message issued this far in the future is still accepted.
CLOCK_SKEW = timedelta(minutes=2)

_HEADER = re.compile(r"^(?:(?P<scheme>[A-Za-z][A-Za-z0-9+\-.]*)://)?(?P<domain>[^\s/?#]+)" + re.escape(PREAMBLE) + "$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")
_STATEMENT = re.compile(r"^[\x20-\x7e]+$")
_CHAIN_ID = re.compile(r"^[1-9][0-9]{0,19}$")
_REQUIRED = ("URI", "Version", "Chain ID", "Nonce", "Issued At")
_OPTIONAL = ("Expiration Time", "Not Before", "Request ID")


class SiweError(ValueError):
    """A message or signature that cannot be accepted; `str(error)` says why, for the person who signed."""


@dataclass(frozen=True)
class SiweMessage:
    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: datetime
    statement: str = ""
    scheme: str = ""
    version: str = VERSION
    expiration_time: datetime | None = None
    not_before: datetime | None = None
    request_id: str = ""
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        """The message as EIP-4361 writes it: what the wallet shows and signs."""
        header = f"{self.scheme}://{self.domain}" if self.scheme else self.domain
        lines = [header + PREAMBLE, self.address, ""]
        if self.statement:
            lines += [self.statement, ""]
        else:
            lines.append("")
        lines += [
            f"URI: {self.uri}",
            f"Version: {self.version}",
            f"Chain ID: {self.chain_id}",
            f"Nonce: {self.nonce}",
            f"Issued At: {_format_time(self.issued_at)}",
        ]
        if self.expiration_time is not None:
            lines.append(f"Expiration Time: {_format_time(self.expiration_time)}")
        if self.not_before is not None:
            lines.append(f"Not Before: {_format_time(self.not_before)}")
        if self.request_id:
            lines.append(f"Request ID: {self.request_id}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


def address_checksum(address: str) -> str:
    """The EIP-55 form of a 0x-prefixed, 40-hex-digit address, whatever its letter case; else SiweError."""
    address = address.strip()
    if not _ADDRESS.match(address):
        raise SiweError(_("“%(address)s” is not an Ethereum address (0x and 40 hexadecimal digits).")
                        % {"address": address[:60]})
    return str(to_checksum_address(address))


def message_parse(text: str) -> SiweMessage:
    """Read an EIP-4361 message; refuse anything that does not follow the format exactly."""
    lines = text.replace("\r\n", "\n").split("\n")
    if len(lines) < 8:
        raise SiweError(_("This is not a Sign-In with Ethereum message."))
    header = _HEADER.match(lines[0])
    if header is None:
        raise SiweError(_("This is not a Sign-In with Ethereum message."))
    address = lines[1]
    if not _ADDRESS.match(address):
        raise SiweError(_("The message does not name an Ethereum address on its second line."))
    if not is_checksum_address(address):
        raise SiweError(_("The address in the message must be written with its EIP-55 checksum."))
    if lines[2] != "":
        raise SiweError(_("The message is malformed: a blank line must follow the address."))
    index = 3
    statement = ""
    if lines[index] != "":
        statement = lines[index]
        if not _STATEMENT.match(statement):
            raise SiweError(_("The message's statement must be plain ASCII text, as EIP-4361 requires."))
        index += 1
    if index >= len(lines) or lines[index] != "":
        raise SiweError(_("The message is malformed: a blank line must follow the statement."))
    index += 1

    values: dict[str, str] = {}
    for name in (*_REQUIRED, *_OPTIONAL):
        prefix = f"{name}: "
        if index < len(lines) and lines[index].startswith(prefix):
            values[name] = lines[index][len(prefix):]
            index += 1
        elif name in _REQUIRED:
            raise SiweError(_("The message is missing its “%(field)s” line.") % {"field": name})
    resources: list[str] = []
    if index < len(lines) and lines[index] == "Resources:":
        index += 1
        while index < len(lines) and lines[index].startswith("- "):
            resources.append(lines[index][2:])
            index += 1
    if index != len(lines):
        raise SiweError(_("The message has an unexpected line: “%(line)s”.") % {"line": lines[index][:80]})

    if values["Version"] != VERSION:
        raise SiweError(_("Only version 1 of Sign-In with Ethereum is supported."))
    if not _CHAIN_ID.match(values["Chain ID"]):
        raise SiweError(_("The message's chain id is not a number."))
    if not _NONCE.match(values["Nonce"]):
        raise SiweError(_("The message's nonce must be 8 to 64 letters and digits."))
    uri = values["URI"]
    if not urlsplit(uri).scheme:
        raise SiweError(_("The message's URI is not an absolute URI."))
    expiration = values.get("Expiration Time")
    not_before = values.get("Not Before")
    return SiweMessage(
        scheme=header["scheme"] or "",
        domain=header["domain"],
        address=address,
        statement=statement,
        uri=uri,
        version=values["Version"],
        chain_id=int(values["Chain ID"]),
        nonce=values["Nonce"],
        issued_at=_parse_time(values["Issued At"], "Issued At"),
        expiration_time=_parse_time(expiration, "Expiration Time") if expiration is not None else None,
        not_before=_parse_time(not_before, "Not Before") if not_before is not None else None,
        request_id=values.get("Request ID", ""),
        resources=tuple(resources),
    )


def message_check(message: SiweMessage, *, domain: str, scheme: str, chain_id: int, now: datetime) -> None:
    """Refuse a message meant for another site, another chain, or another time."""
    if message.domain.lower() != domain.lower() or (message.scheme and message.scheme.lower() != scheme.lower()):
        raise SiweError(_("This message was made for %(theirs)s, not for this site (%(ours)s).")
                        % {"theirs": message.domain, "ours": domain})
    uri = urlsplit(message.uri)
    if uri.scheme.lower() != scheme.lower() or uri.netloc.lower() != domain.lower():
        raise SiweError(_("The message's URI points at another site (%(uri)s).") % {"uri": message.uri[:100]})
    if message.chain_id != chain_id:
        raise SiweError(_("This message is for chain %(theirs)s; Tranche uses chain %(ours)s. Switch your "
                          "wallet's network and try again.") % {"theirs": message.chain_id, "ours": chain_id})
    if message.issued_at > now + CLOCK_SKEW:
        raise SiweError(_("The message is dated in the future; check your device's clock."))
    if message.expiration_time is not None and message.expiration_time <= now:
        raise SiweError(_("This message has expired. Start again to sign a new one."))
    if message.not_before is not None and message.not_before > now + CLOCK_SKEW:
        raise SiweError(_("This message is not valid yet."))


def signer_recover(text: str, signature: str) -> str:
    """The checksummed address whose key made `signature` over `text` (EIP-191 personal_sign)."""
    signature = signature.strip()
    if not _SIGNATURE.match(signature):
        raise SiweError(_("The signature is not a 65-byte hexadecimal signature."))
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception as error:  # eth-account raises several types for a signature that is not on the curve
        raise SiweError(_("The signature is not valid.")) from error


def _parse_time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        raise SiweError(_("The message's “%(field)s” is not an RFC 3339 time with a time zone.") % {"field": name})
    return parsed.astimezone(UTC)


def _format_time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

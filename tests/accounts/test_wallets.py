"""Wallets verified with Sign-In with Ethereum (EIP-4361): real signatures from eth-account, and every refusal
(replay, another chain, another site, expired, another key, someone else's wallet) changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from eth_account import Account
from eth_account.messages import encode_defunct

from accounts import selectors, services, wallets
from accounts.models import Wallet, WalletNonce
from compliance.audit import Actor
from compliance.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NONCE_URL = "/api/v1/wallets/nonce/"
LINK_URL = "/api/v1/wallets/"


def sign(account: Any, text: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=text)).signature).hex()


def state() -> tuple[Any, ...]:
    """Everything a wallet link may change; a refusal must leave all of it as it was."""
    return (
        list(Wallet.objects.order_by("pk").values_list("pk", "user_id", "address", "removed_at")),
        AuditEvent.objects.count(),
        list(WalletNonce.objects.order_by("pk").values_list("nonce", "used_at")),
    )


def nonce_for(client: Client, address: str, **extra: Any) -> dict[str, Any]:
    response = client.post(NONCE_URL, {"address": address, **extra}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def link(client: Client, message: str, signature: str, label: str = "") -> Any:
    return client.post(LINK_URL, {"message": message, "signature": signature, "label": label},
                       content_type="application/json")


def errors(response: Any) -> str:
    return " ".join(str(value) for values in response.json().values() for value in values)


def tampered(message: str, **changes: Any) -> str:
    return dataclasses.replace(wallets.message_parse(message), **changes).text()


@pytest.fixture
def investor() -> Any:
    return UserFactory(email="ana@example.com")


@pytest.fixture
def client(investor: Any, client_for: Any) -> Client:
    return client_for(investor)


# --- The message format ---------------------------------------------------------------------------------------

def test_a_message_reads_back_as_it_was_written() -> None:
    message = wallets.SiweMessage(
        scheme="https", domain="tranche.example", address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        uri="https://tranche.example/", statement="Link this wallet.", chain_id=31337, nonce="a1b2c3d4e5f6",
        issued_at=datetime(2026, 11, 25, 13, 0, tzinfo=UTC),
        expiration_time=datetime(2026, 11, 25, 13, 10, tzinfo=UTC), resources=("https://tranche.example/terms",),
    )
    text = message.text()
    assert text.splitlines()[:5] == [
        "https://tranche.example wants you to sign in with your Ethereum account:",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "", "Link this wallet.", "",
    ]
    assert "Issued At: 2026-11-25T13:00:00Z" in text
    assert wallets.message_parse(text) == message
    without_statement = dataclasses.replace(message, statement="", scheme="")
    assert wallets.message_parse(without_statement.text()) == without_statement


@pytest.mark.parametrize(("change", "reason"), [
    (lambda t: t.replace("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
     "EIP-55"),
    (lambda t: t.replace("Version: 1", "Version: 2"), "version 1"),
    (lambda t: t.replace("Nonce: a1b2c3d4e5f6\n", ""), "Nonce"),
    (lambda t: t + "\nExtra: line", "unexpected line"),
    (lambda t: t.replace("Issued At: 2026-11-25T13:00:00Z", "Issued At: 2026-11-25 13:00"), "RFC 3339"),
    (lambda t: "Please sign this:\n" + t, "not a Sign-In with Ethereum message"),
])
def test_the_parser_refuses_what_does_not_follow_the_format(change: Any, reason: str) -> None:
    text = wallets.SiweMessage(
        domain="tranche.example", address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", uri="https://tranche.example/",
        chain_id=31337, nonce="a1b2c3d4e5f6", issued_at=datetime(2026, 11, 25, 13, 0, tzinfo=UTC),
    ).text()
    with pytest.raises(wallets.SiweError, match=reason):
        wallets.message_parse(change(text))


# --- Linking, end to end through the API ----------------------------------------------------------------------

def test_a_wallet_is_linked_with_a_real_signature(client: Client, investor: Any) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address.lower())  # wallets often report lower case
    assert issued["message"].startswith("http://testserver wants you to sign in with your Ethereum account:\n"
                                        + account.address + "\n")
    assert "Chain ID: 31337" in issued["message"]

    response = link(client, issued["message"], sign(account, issued["message"]), label="Ledger")

    assert response.status_code == 201, response.content
    wallet = Wallet.objects.get()
    assert (wallet.user, wallet.address, wallet.chain_id, wallet.label) == (investor, account.address, 31337, "Ledger")
    assert wallet.verified_at is not None
    assert WalletNonce.objects.get(nonce=issued["nonce"]).used_at is not None
    assert AuditEvent.objects.filter(action="wallet.link", actor=investor, target_id=str(wallet.pk)).count() == 1
    assert client.get(LINK_URL).json() == [response.json()]
    assert selectors.wallet_owner(chain_id=31337, address=account.address.lower()) == investor


def test_a_replayed_message_is_refused_even_after_the_wallet_is_removed(client: Client, investor: Any) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    signature = sign(account, issued["message"])
    assert link(client, issued["message"], signature).status_code == 201
    before = state()

    replay = link(client, issued["message"], signature)

    assert replay.status_code == 400
    assert "already been used" in errors(replay)
    assert state() == before
    # Unlinked, the address is free again, but only through a new nonce: the old signature stays spent.
    services.wallet_remove(actor=Actor(user=investor), wallet=Wallet.objects.get())
    before = state()
    assert "already been used" in errors(link(client, issued["message"], signature))
    assert state() == before


def test_a_nonce_issued_to_someone_else_is_refused(client: Client, client_for: Any) -> None:
    account = Account.create()
    issued = nonce_for(client_for(UserFactory()), account.address)
    before = state()
    response = link(client, issued["message"], sign(account, issued["message"]))
    assert response.status_code == 400
    assert "not issued to you" in errors(response)
    assert state() == before


def test_another_chain_is_refused(client: Client) -> None:
    account = Account.create()
    wrong = client.post(NONCE_URL, {"address": account.address, "chain_id": 1}, content_type="application/json")
    assert wrong.status_code == 400
    assert "Tranche uses chain 31337, not 1" in errors(wrong)

    issued = nonce_for(client, account.address)
    message = tampered(issued["message"], chain_id=1)
    before = state()
    response = link(client, message, sign(account, message))
    assert response.status_code == 400
    assert "This message is for chain 1; Tranche uses chain 31337" in errors(response)
    assert state() == before
    # Nothing was spent: the right message with the same nonce still links.
    assert link(client, issued["message"], sign(account, issued["message"])).status_code == 201


@pytest.mark.parametrize(("changes", "reason"), [
    ({"domain": "evil.example"}, "made for evil.example, not for this site (testserver)"),
    ({"uri": "http://evil.example/"}, "URI points at another site"),
    ({"scheme": "https"}, "made for testserver"),
])
def test_a_message_for_another_site_is_refused(client: Client, changes: dict[str, str], reason: str) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    message = tampered(issued["message"], **changes)
    before = state()
    response = link(client, message, sign(account, message))
    assert response.status_code == 400
    assert reason in errors(response)
    assert state() == before


def test_an_expired_message_is_refused(client: Client) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    message = tampered(issued["message"], expiration_time=timezone.now() - timedelta(seconds=1))
    before = state()
    response = link(client, message, sign(account, message))
    assert response.status_code == 400
    assert "This message has expired" in errors(response)
    assert state() == before


def test_an_expired_nonce_is_refused(client: Client) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    message = tampered(issued["message"], expiration_time=None)  # the message itself does not say when it ends
    WalletNonce.objects.filter(nonce=issued["nonce"]).update(
        issued_at=timezone.now() - timedelta(hours=1), expires_at=timezone.now() - timedelta(minutes=1))
    before = state()
    response = link(client, message, sign(account, message))
    assert response.status_code == 400
    assert "expired" in errors(response)
    assert state() == before


def test_a_signature_by_another_key_is_refused(client: Client) -> None:
    account, impostor = Account.create(), Account.create()
    issued = nonce_for(client, account.address)
    before = state()
    response = link(client, issued["message"], sign(impostor, issued["message"]))
    assert response.status_code == 400
    assert f"The signature was not made by {account.address}" in errors(response)
    assert state() == before
    garbage = link(client, issued["message"], "0x" + "00" * 65)
    assert garbage.status_code == 400
    assert state() == before


def test_a_message_changed_after_signing_is_refused(client: Client) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    signature = sign(account, issued["message"])
    changed = issued["message"].replace("Link this wallet", "Link that wallet")
    before = state()
    response = link(client, changed, signature)
    assert response.status_code == 400
    assert "not made by" in errors(response)
    assert state() == before


def test_a_wallet_belongs_to_one_person(client: Client, client_for: Any) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    assert link(client, issued["message"], sign(account, issued["message"])).status_code == 201

    other = client_for(UserFactory())
    issued_again = nonce_for(other, account.address.lower())
    before = state()
    response = link(other, issued_again["message"], sign(account, issued_again["message"]))
    assert response.status_code == 400
    assert "linked to another account" in errors(response)
    assert state() == before

    mine_again = nonce_for(client, account.address)
    assert "already linked to your account" in errors(
        link(client, mine_again["message"], sign(account, mine_again["message"])))


def test_the_domain_is_the_requests_own_host_and_must_be_allowed(client: Client) -> None:
    account = Account.create()
    served = client.post(NONCE_URL, {"address": account.address}, content_type="application/json",
                         HTTP_HOST="127.0.0.1:8123")
    assert served.json()["message"].startswith("http://127.0.0.1:8123 wants you")
    assert "URI: http://127.0.0.1:8123/" in served.json()["message"]
    elsewhere = client.post(NONCE_URL, {"address": account.address}, content_type="application/json",
                            HTTP_HOST="evil.example")
    assert elsewhere.status_code == 400
    # A message made for one allowed host does not link on another.
    message = served.json()["message"]
    response = client.post(LINK_URL, {"message": message, "signature": sign(account, message)},
                           content_type="application/json", HTTP_HOST="localhost")
    assert response.status_code == 400
    assert "not for this site (localhost)" in errors(response)


def test_nonces_are_one_time_and_limited(client: Client, investor: Any) -> None:
    account = Account.create()
    issued = {nonce_for(client, account.address)["nonce"] for _ in range(services.WALLET_NONCES_OPEN_MAX)}
    assert len(issued) == services.WALLET_NONCES_OPEN_MAX
    response = client.post(NONCE_URL, {"address": account.address}, content_type="application/json")
    assert response.status_code == 400
    assert "Too many" in errors(response)
    # Expired ones stop counting.
    WalletNonce.objects.update(issued_at=timezone.now() - timedelta(hours=1),
                               expires_at=timezone.now() - timedelta(minutes=1))
    nonce_for(client, account.address)
    assert WalletNonce.objects.filter(user=investor).count() == 1


def test_a_bad_address_is_a_field_error(client: Client) -> None:
    response = client.post(NONCE_URL, {"address": "0x1234"}, content_type="application/json")
    assert response.status_code == 400
    assert "address" in response.json()


# --- The pages ------------------------------------------------------------------------------------------------

def test_the_page_links_lists_and_removes_only_your_own_wallets(client: Client, investor: Any, client_for: Any) -> None:
    someone = UserFactory()
    theirs_account = Account.create()
    theirs_client = client_for(someone)
    issued = nonce_for(theirs_client, theirs_account.address)
    assert link(theirs_client, issued["message"], sign(theirs_account, issued["message"])).status_code == 201
    theirs = Wallet.objects.get(user=someone)

    account = Account.create()
    issued = nonce_for(client, account.address)
    response = client.post("/wallets/link/", {"message": issued["message"],
                                              "signature": sign(account, issued["message"]), "label": "Savings"},
                           follow=True)
    page = response.content.decode()
    assert f"Wallet {account.address} is linked and verified." in page
    assert account.address in page
    assert "Savings" in page
    assert theirs.address not in page

    before = state()
    assert client.post(f"/wallets/{theirs.pk}/remove/").status_code == 404
    assert client.get(f"/api/v1/wallets/{theirs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/wallets/{theirs.pk}/").status_code == 404
    assert state() == before

    mine = Wallet.objects.get(user=investor)
    response = client.post(f"/wallets/{mine.pk}/remove/", follow=True)
    assert "is no longer linked to your account" in response.content.decode()
    mine.refresh_from_db()
    assert mine.removed_at is not None
    assert AuditEvent.objects.filter(action="wallet.remove", target_id=str(mine.pk)).count() == 1
    assert account.address not in client.get("/wallets/").content.decode()


def test_the_page_shows_a_refusal(client: Client) -> None:
    account = Account.create()
    issued = nonce_for(client, account.address)
    response = client.post("/wallets/link/", {"message": issued["message"],
                                              "signature": sign(Account.create(), issued["message"])}, follow=True)
    assert "The signature was not made by" in response.content.decode()
    assert not Wallet.objects.exists()


def test_the_development_wallet_is_offered_on_the_devnet_only(client: Client, settings: Any) -> None:
    page = client.get("/wallets/").content.decode()
    assert 'id="link-dev-wallet"' in page
    assert "vendor/ethers/ethers.umd.min.js" in page
    settings.CHAIN_ID = 1
    page = client.get("/wallets/").content.decode()
    assert 'id="link-browser-wallet"' in page
    assert 'id="link-dev-wallet"' not in page
    assert "ethers.umd.min.js" not in page


def test_the_page_and_its_refusals_speak_simplified_chinese(client: Client, investor: Any) -> None:
    investor.preferred_language = "zh-hans"
    investor.save(update_fields=["preferred_language"])
    page = client.get("/wallets/").content.decode()
    assert "关联钱包" in page
    assert "开发钱包——仅限开发网使用" in page
    account = Account.create()
    issued = nonce_for(client, account.address)
    assert "\n\nLink this wallet to my Tranche account.\n\n" in issued["message"]  # EIP-4361: ASCII only
    response = client.post("/wallets/link/", {"message": issued["message"],
                                              "signature": sign(Account.create(), issued["message"])}, follow=True)
    assert f"此签名并非由 {account.address} 生成" in response.content.decode()


def test_a_statement_outside_ascii_is_refused_as_eip_4361_requires() -> None:
    text = wallets.SiweMessage(
        domain="tranche.example", address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", uri="https://tranche.example/",
        statement="将此钱包关联到我的账户", chain_id=31337, nonce="a1b2c3d4e5f6",
        issued_at=datetime(2026, 11, 25, 13, 0, tzinfo=UTC),
    ).text()
    with pytest.raises(wallets.SiweError, match="ASCII"):
        wallets.message_parse(text)


def test_the_database_keeps_one_active_wallet_per_address_whatever_the_letter_case(investor: Any) -> None:
    from django.db import IntegrityError, transaction

    address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    fields = {"chain_id": 31337, "message": "-", "signature": "-", "verified_at": timezone.now()}
    first = Wallet.objects.create(user=investor, address=address, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(user=UserFactory(), address=address.lower(), **fields)
    Wallet.objects.create(user=UserFactory(), address=address, **{**fields, "chain_id": 1})  # another chain
    Wallet.objects.filter(pk=first.pk).update(removed_at=timezone.now())
    Wallet.objects.create(user=UserFactory(), address=address, **fields)  # removed ones free the address


@pytest.mark.django_db(transaction=True)
def test_two_people_linking_one_address_at_once_end_with_one_owner() -> None:
    import threading

    from django.core.exceptions import ValidationError
    from django.db import connection

    account = Account.create()
    people = [UserFactory(), UserFactory()]
    signed = []
    for person in people:
        _, message = services.wallet_nonce_issue(actor=Actor(user=person), user=person, address=account.address,
                                                 domain="testserver", scheme="http")
        signed.append((person, message, sign(account, message)))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(person: Any, message: str, signature: str) -> None:
        try:
            barrier.wait()
            services.wallet_link(actor=Actor(user=person), user=person, message=message, signature=signature,
                                 domain="testserver", scheme="http")
            outcomes.append("linked")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=item) for item in signed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2
    assert outcomes.count("linked") == 1
    assert any("linked to another account" in outcome for outcome in outcomes)
    assert Wallet.objects.count() == 1
    assert AuditEvent.objects.filter(action="wallet.link").count() == 1

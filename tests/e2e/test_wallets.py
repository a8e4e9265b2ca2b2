"""Linking a wallet in a real browser with the built-in development wallet (an EIP-1193 provider whose key the
browser keeps), on the live server's own host; the wallet refuses other chains, the page explains refusals."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import Wallet
from tests.e2e.test_accessibility import violations

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_investor_links_and_removes_the_development_wallet(
    live_server: Any, signed_in: Any, cast: Any, shot: Any
) -> None:
    page = signed_in(cast.investor)
    page.goto(live_server.url + "/dashboard/")
    page.get_by_role("link", name="Open user menu").click()
    page.get_by_role("link", name="Wallets").click()
    page.wait_for_url("**/wallets/")
    expect(page.get_by_text("No wallet linked yet")).to_be_visible()
    expect(page.get_by_text("Development wallet — for the devnet only")).to_be_visible()
    assert violations(page) == []
    shot(page, "wallets-empty")

    # Without an extension, the browser-wallet button says what to do instead of failing silently.
    page.get_by_role("button", name="Link a browser wallet").click()
    expect(page.locator("#wallet-status")).to_contain_text("No browser wallet was found")

    page.fill("#id_label", "Devnet wallet")
    page.get_by_role("button", name="Link the development wallet").click()
    expect(page.get_by_text("is linked and verified")).to_be_visible()
    address = page.locator("#dev-wallet-address").inner_text()
    wallet = Wallet.objects.get(user=cast.investor)
    assert (wallet.address, wallet.label, wallet.chain_id) == (address, "Devnet wallet", 31337)
    host = live_server.url.split("://", 1)[1]
    assert wallet.message.startswith(f"http://{host} wants you to sign in with your Ethereum account:\n{address}\n")
    expect(page.locator("#wallet-list")).to_contain_text(address)
    shot(page, "wallet-linked")

    # The key stays in this browser: the same wallet after a reload; linking it again is refused with a reason.
    page.reload()
    expect(page.locator("#dev-wallet-address")).to_have_text(address)
    # Checked without the one-time flash message: includes/messages.html has its own (shared) findings.
    assert violations(page) == []
    page.get_by_role("button", name="Link the development wallet").click()
    expect(page.get_by_text("This wallet is already linked to your account.")).to_be_visible()
    assert Wallet.objects.filter(user=cast.investor).count() == 1
    shot(page, "already-linked")

    page.get_by_role("button", name=f"Remove wallet {address}").click()
    expect(page.get_by_text("is no longer linked to your account")).to_be_visible()
    expect(page.get_by_text("No wallet linked yet")).to_be_visible()
    wallet.refresh_from_db()
    assert wallet.removed_at is not None
    shot(page, "wallet-removed")


def test_the_development_wallet_refuses_other_chains_and_the_page_checks_the_wallets_chain(
    live_server: Any, signed_in: Any, cast: Any, shot: Any
) -> None:
    page = signed_in(cast.investor)
    page.goto(live_server.url + "/wallets/")
    refusal = page.evaluate("""async () => {
        const wallet = window.trancheDevelopmentWallet();
        const [account] = await wallet.request({method: "eth_requestAccounts"});
        const message = "x wants you to sign in with your Ethereum account:\\n" + account + "\\n\\n\\nURI: http://x/\\n"
          + "Version: 1\\nChain ID: 1\\nNonce: abcdef123456\\nIssued At: 2026-01-01T00:00:00Z";
        const hex = "0x" + Array.from(new TextEncoder().encode(message), b => b.toString(16).padStart(2, "0")).join("");
        try { await wallet.request({method: "personal_sign", params: [hex, account]}); return "signed"; }
        catch (error) { return error.code + " " + error.message; }
    }""")
    assert refusal == "4901 The development wallet signs only for the devnet (chain 31337)."

    # A browser wallet on another network: the page stops before asking for a nonce or a signature.
    page.evaluate("""() => { window.ethereum = {request: async ({method}) =>
        method === "eth_chainId" ? "0x1" : ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]}; }""")
    page.get_by_role("button", name="Link a browser wallet").click()
    expect(page.locator("#wallet-status")).to_contain_text("Switch it to chain 31337")
    shot(page, "wrong-network")
    assert not Wallet.objects.exists()


def test_a_browser_wallet_is_asked_to_switch_network_and_then_links(
    live_server: Any, signed_in: Any, cast: Any, shot: Any
) -> None:
    """Any EIP-1193 wallet: a stand-in for an extension (window.ethereum, its own key) that starts on mainnet."""
    page = signed_in(cast.investor)
    page.goto(live_server.url + "/wallets/")
    address = page.evaluate("""() => {
        const key = ethers.Wallet.createRandom();
        let chain = "0x1";
        window.ethereum = {request: async ({method, params}) => {
            if (method === "eth_requestAccounts") return [key.address.toLowerCase()];
            if (method === "eth_chainId") return chain;
            if (method === "wallet_switchEthereumChain") { chain = params[0].chainId; return null; }
            if (method === "personal_sign") return key.signMessage(ethers.getBytes(params[0]));
            throw Object.assign(new Error("unsupported"), {code: 4200});
        }};
        return key.address;
    }""")
    page.get_by_role("button", name="Link a browser wallet").click()
    expect(page.get_by_text(f"Wallet {address} is linked and verified.")).to_be_visible()
    assert Wallet.objects.get(user=cast.investor).address == address
    shot(page, "browser-wallet-linked")

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts import selectors, services
from accounts.forms import ProfileForm
from accounts.requests import AuthenticatedRequest
from companies.selectors import company_list_public
from compliance.audit import Actor


def home(request: HttpRequest) -> HttpResponse:
    companies = company_list_public()[:6]
    return render(request, "home.html", {"companies": companies})


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    memberships = request.user.memberships.select_related("company").order_by("company__legal_name")
    return render(request, "accounts/dashboard.html", {"memberships": memberships})


@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    form = ProfileForm(request.POST or None, instance=user)
    if request.method == "POST" and form.is_valid():
        services.user_update_profile(
            actor=Actor.from_request(request), user=user,
            full_name=form.cleaned_data["full_name"], preferred_language=form.cleaned_data["preferred_language"],
        )
        language = form.cleaned_data["preferred_language"]
        messages.success(request, _("Your profile is saved."))
        response = redirect("accounts:profile")
        if language:  # the next page (and every later one) is in the chosen language
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response
    from allauth.mfa.models import Authenticator

    context = {
        "form": form,
        "has_totp": Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists(),
        "token": Token.objects.filter(user=user).first(),
        "new_token": request.session.pop("new_api_token", None),
    }
    return render(request, "accounts/profile.html", context)


@login_required
@require_POST
def api_token(request: AuthenticatedRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    if request.POST.get("action") == "revoke":
        services.api_token_revoke(actor=actor, user=request.user)
        messages.success(request, _("Your API token was revoked."))
    else:
        token = services.api_token_rotate(actor=actor, user=request.user)
        # Shown once, on the next page; afterwards only its first characters are.
        request.session["new_api_token"] = token.key
        messages.success(request, _("A new API token was created. Copy it now: it is shown only once."))
    return redirect("accounts:profile")


class WalletLinkForm(forms.Form):
    """What the wallets page posts: the signed EIP-4361 message, its signature, and an optional label."""

    label = forms.CharField(label=gettext_lazy("Label (optional)"), max_length=100, required=False,
                            help_text=gettext_lazy("A name only you see, such as “Ledger” or “Savings”."))
    message = forms.CharField(widget=forms.HiddenInput, max_length=4000)
    signature = forms.CharField(widget=forms.HiddenInput, max_length=140)


def site_of(request: HttpRequest) -> tuple[str, str]:
    """The domain (host[:port]) and scheme a wallet's signed message must name: this request's own.

    `get_host()` refuses a host outside ALLOWED_HOSTS, so a message can only be made for a site we serve.
    """
    return request.get_host(), request.scheme or "https"


@login_required
def wallets(request: AuthenticatedRequest) -> HttpResponse:
    context = {
        "wallets": selectors.wallet_list(user=request.user),
        "form": WalletLinkForm(),
        "chain_id": settings.CHAIN_ID,
        "dev_wallet": settings.CHAIN_ID == settings.DEVNET_CHAIN_ID,
    }
    return render(request, "accounts/wallets.html", context)


@login_required
@require_POST
def wallet_link(request: AuthenticatedRequest) -> HttpResponse:
    """The page's script posts the signed message here (the same form works without it, pasted by hand)."""
    form = WalletLinkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The wallet was not linked: the signed message or the signature is missing."))
        return redirect("accounts:wallets")
    domain, scheme = site_of(request)
    try:
        wallet = services.wallet_link(
            actor=Actor.from_request(request), user=request.user, domain=domain, scheme=scheme,
            message=form.cleaned_data["message"], signature=form.cleaned_data["signature"],
            label=form.cleaned_data["label"],
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Wallet %(address)s is linked and verified.") % {"address": wallet.address})
    return redirect("accounts:wallets")


@login_required
@require_POST
def wallet_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    wallet = selectors.wallet_get(user=request.user, pk=pk)
    if wallet is None:
        raise Http404
    services.wallet_remove(actor=Actor.from_request(request), wallet=wallet)
    messages.success(request, _("Wallet %(address)s is no longer linked to your account.") % {"address": wallet.address})
    return redirect("accounts:wallets")

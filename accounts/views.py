from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from accounts import services
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

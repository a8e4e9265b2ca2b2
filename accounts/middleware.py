from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

# Pages a staff member without a second factor may still reach: setting one up, leaving, static files.
_ALLOWED_PREFIXES = ("/accounts/", "/static/", "/i18n/", "/media/")


class RequireStaffTwoFactorMiddleware:
    """Compliance officers and platform admins must have a TOTP authenticator before they can do anything.

    allauth already asks for the code at log-in once an authenticator exists; this closes the gap before one
    does by sending such a user to the set-up page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if (
            user.is_authenticated
            and user.requires_two_factor
            and not request.path.startswith(_ALLOWED_PREFIXES)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            if request.path.startswith("/api/"):
                return HttpResponse(_("Two-factor authentication is required for this account."), status=403)
            messages.warning(request, _("Your role requires two-factor authentication. Set it up to continue."))
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)


class PreferredLanguageMiddleware:
    """A signed-in person's saved language wins over the browser's, unless they switched in this browser.

    Runs after LocaleMiddleware and AuthenticationMiddleware: the language cookie (set by the switch in the
    header) keeps priority; without it, the profile's language replaces the Accept-Language guess.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        preferred = getattr(user, "preferred_language", "") if user.is_authenticated else ""
        if preferred and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
            translation.activate(preferred)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)

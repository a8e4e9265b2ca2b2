"""Request types for views that run only for a signed-in user, so the type checker knows `request.user`."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request

from accounts.models import User


class AuthenticatedRequest(HttpRequest):
    user: User
    htmx: HtmxDetails


class AuthenticatedAPIRequest(Request):
    user: User

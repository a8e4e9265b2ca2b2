"""Who is acting, and from where: what every service that changes state receives and writes to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from accounts.models import User


@dataclass(frozen=True)
class Actor:
    user: User | None
    ip_address: str | None = None
    user_agent: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> Actor:
        user = request.user if request.user.is_authenticated else None
        return cls(user=user, ip_address=client_ip(request), user_agent=request.headers.get("User-Agent", "")[:255])

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (a scheduled task, a demo loader), not a person."""
        return cls(user=None, ip_address=None, user_agent="system")

    @property
    def label(self) -> str:
        return self.user.email if self.user is not None else "system"


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; behind TRUSTED_PROXY_COUNT proxies, the address the outermost of them saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.headers.get("X-Forwarded-For", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None

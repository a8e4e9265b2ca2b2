from __future__ import annotations

from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict[str, object]:
    """What the navigation shows depends on who is looking: a founder sees their companies, staff the queue."""
    user = request.user
    if not user.is_authenticated:
        return {"nav_companies": []}
    from companies.selectors import company_list_for_member

    return {"nav_companies": list(company_list_for_member(user=user)[:8])}

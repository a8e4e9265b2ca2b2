from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from companies.models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(invitation_id: int) -> None:
    """E-mail the invitation link. Retried with backoff when the mail server is unreachable."""
    from companies.services import invitation_url

    invitation = Invitation.objects.select_related("company", "invited_by").filter(pk=invitation_id).first()
    if invitation is None or invitation.status != "pending":
        return
    language = invitation.invited_by.preferred_language if invitation.invited_by else ""
    with translation.override(language or settings.LANGUAGE_CODE):
        context = {"invitation": invitation, "url": invitation_url(invitation), "site_url": settings.SITE_URL}
        subject = render_to_string("companies/email/invitation_subject.txt", context).strip()
        body = render_to_string("companies/email/invitation_message.txt", context)
    send_mail(subject, body, None, [invitation.email])


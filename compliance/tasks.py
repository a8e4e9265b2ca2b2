from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from compliance.models import KycApplication

# What the applicant hears of, by event; the templates are compliance/email/kyc_<event>_{subject,message}.txt.
APPLICANT_EVENTS = {"submitted", "approved", "rejected", "needs_information", "message", "reopened"}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def kyc_notify(application_id: int, event: str) -> None:
    """E-mail the applicant about a change to their application, in their language."""
    if event not in APPLICANT_EVENTS:
        raise ValueError(f"unknown KYC event {event!r}")
    application = KycApplication.objects.select_related("user").filter(pk=application_id).first()
    if application is None:
        return
    user = application.user
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        context = {"application": application, "user": user, "site_url": settings.SITE_URL}
        subject = render_to_string(f"compliance/email/kyc_{event}_subject.txt", context).strip()
        body = render_to_string("compliance/email/kyc_message.txt", {**context, "event": event})
    send_mail(subject, body, None, [user.email])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def kyc_application_screen(application_id: int) -> int:
    """Screen a submitted application against the sanctions and PEP lists; returns the number of new hits."""
    from compliance.services.screening import kyc_application_screen as screen

    application = KycApplication.objects.filter(pk=application_id).first()
    if application is None:
        return 0
    return screen(application=application)

from django.urls import path

from compliance.api import views

urlpatterns = [path("audit-events/", views.AuditEventList.as_view(), name="api-audit-events")]

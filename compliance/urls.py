from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("compliance/audit/", views.audit_log, name="audit_log"),
]

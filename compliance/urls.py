from django.urls import path

from compliance import views

app_name = "compliance"

urlpatterns = [
    path("compliance/audit/", views.audit_log, name="audit_log"),
    path("kyc/", views.kyc_application, name="kyc"),
    path("kyc/documents/<int:pk>/", views.kyc_document, name="kyc_document"),
    path("compliance/queue/", views.kyc_queue, name="queue"),
    path("compliance/queue/<int:pk>/", views.kyc_review, name="review"),
    path("compliance/queue/<int:pk>/assign/", views.kyc_assign, name="assign"),
    path("compliance/queue/<int:pk>/approve/", views.kyc_approve, name="approve"),
    path("compliance/queue/<int:pk>/reject/", views.kyc_reject, name="reject"),
    path("compliance/queue/<int:pk>/request-information/", views.kyc_request_information, name="request_information"),
    path("compliance/queue/<int:pk>/note/", views.kyc_note, name="note"),
    path("compliance/queue/<int:pk>/hits/<int:hit_pk>/resolve/", views.kyc_hit_resolve, name="hit_resolve"),
]

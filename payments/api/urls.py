from django.urls import path

from payments.api import views

urlpatterns = [
    # The investor's own commitments
    path("commitments/", views.CommitmentList.as_view(), name="api-commitments"),
    path("rounds/<int:pk>/commitments/", views.CommitmentCreate.as_view(), name="api-commit"),
    path("commitments/<int:pk>/", views.CommitmentDetail.as_view(), name="api-commitment"),
    path("commitments/<int:pk>/sign/", views.CommitmentSign.as_view(), name="api-commitment-sign"),
    path("commitments/<int:pk>/cancel/", views.CommitmentCancel.as_view(), name="api-commitment-cancel"),
    path("commitments/<int:pk>/reconfirm/", views.CommitmentReconfirm.as_view(), name="api-commitment-reconfirm"),
    path("commitments/<int:pk>/pay/", views.CommitmentPay.as_view(), name="api-commitment-pay"),
    path("commitments/<int:pk>/payments/", views.CommitmentPaymentList.as_view(), name="api-commitment-payments"),
    path("commitments/<int:pk>/refunds/", views.CommitmentRefundList.as_view(), name="api-commitment-refunds"),
    path("token-allocations/<int:pk>/exercise/", views.WarrantExercise.as_view(), name="api-warrant-exercise"),
    # The investor's card orders of tokens
    path("token-orders/", views.TokenOrderList.as_view(), name="api-token-orders"),
    path("sales/<int:pk>/token-orders/", views.TokenOrderCreate.as_view(), name="api-token-order-create"),
    path("token-orders/<int:pk>/", views.TokenOrderDetail.as_view(), name="api-token-order"),
    path("token-orders/<int:pk>/cancel/", views.TokenOrderCancel.as_view(), name="api-token-order-cancel"),
    # Documents: the investor's, and the company team's
    path("commitments/<int:pk>/documents/", views.CommitmentDocumentList.as_view(), name="api-commitment-documents"),
    path("commitments/<int:pk>/documents/<str:kind>/", views.CommitmentDocumentDownload.as_view(),
         name="api-commitment-document"),
    # The company's team
    path("companies/<slug:slug>/rounds/<int:pk>/commitments/", views.RoundCommitmentList.as_view(),
         name="api-round-commitments"),
    path("companies/<slug:slug>/rounds/<int:pk>/commitments/<int:commitment_pk>/decline/",
         views.RoundCommitmentDecline.as_view(), name="api-commitment-decline"),
    # The payment provider
    path("webhooks/<str:provider>/", views.WebhookReceive.as_view(), name="api-webhook"),
]

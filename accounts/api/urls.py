from django.urls import path

from accounts.api import views

urlpatterns = [
    path("me/", views.Me.as_view(), name="api-me"),
    path("wallets/", views.WalletListLink.as_view(), name="api-wallet-list"),
    path("wallets/nonce/", views.WalletNonceIssue.as_view(), name="api-wallet-nonce"),
    path("wallets/<int:pk>/", views.WalletDetail.as_view(), name="api-wallet-detail"),
]

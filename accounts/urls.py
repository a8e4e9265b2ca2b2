from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/api-token/", views.api_token, name="api_token"),
    path("wallets/", views.wallets, name="wallets"),
    path("wallets/link/", views.wallet_link, name="wallet_link"),
    path("wallets/<int:pk>/remove/", views.wallet_remove, name="wallet_remove"),
]

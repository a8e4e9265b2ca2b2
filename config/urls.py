from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views

api_v1: list[URLPattern | URLResolver] = [
    path("", include("accounts.api.urls")),
    path("", include("companies.api.urls")),
    path("", include("compliance.api.urls")),
    path("", include("equity.api.urls")),
    path("", include("payments.api.urls")),
    path("", include("tokens.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

urlpatterns = [
    path("", account_views.home, name="home"),
    path("dashboard/", account_views.dashboard, name="dashboard"),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("companies.urls")),
    path("", include("compliance.urls")),
    path("", include("payments.urls")),
    path("", include("equity.urls")),
    path("", include("tokens.urls")),
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # Company logos are public. Private uploads (KYC documents) never live under this folder.
    path("media/logos/<path:path>", serve, {"document_root": settings.MEDIA_ROOT / "logos"}, name="logo"),
]

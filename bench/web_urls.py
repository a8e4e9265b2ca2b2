"""The platform's routes plus a bare Django view: the baseline the web benchmark divides by."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from config.urls import urlpatterns as platform_urlpatterns


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("_bench/bare/", bare), *platform_urlpatterns]

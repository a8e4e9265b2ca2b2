from django.urls import path

from tokens.api import views

urlpatterns = [
    path("companies/<slug:slug>/tokens/", views.TokenList.as_view(), name="api-tokens"),
    path("companies/<slug:slug>/tokens/<int:pk>/sales/", views.SaleList.as_view(), name="api-token-sales"),
    path("companies/<slug:slug>/tokens/<int:pk>/allocations/", views.AllocationList.as_view(),
         name="api-token-allocations"),
    path("companies/<slug:slug>/tokens/<int:pk>/allocations/deploy/", views.AllocationDeploy.as_view(),
         name="api-token-allocations-deploy"),
    path("companies/<slug:slug>/tokens/<int:pk>/convert-warrants/", views.WarrantConvert.as_view(),
         name="api-token-convert-warrants"),
    path("companies/<slug:slug>/sales/<int:pk>/purchases/", views.PurchaseList.as_view(), name="api-sale-purchases"),
    path("companies/<slug:slug>/token-warrants/", views.WarrantList.as_view(), name="api-token-warrants"),
    path("companies/<slug:slug>/cap-table/combined/", views.CombinedCapTable.as_view(), name="api-cap-table-combined"),
    path("token-allocations/<int:pk>/claim/", views.AllocationClaim.as_view(), name="api-token-allocation-claim"),
    path("portfolio/tokens/", views.Portfolio.as_view(), name="api-portfolio-tokens"),
]

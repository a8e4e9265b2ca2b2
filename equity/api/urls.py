from django.urls import path

from equity.api import views

urlpatterns = [
    path("companies/<slug:slug>/share-classes/", views.ShareClassList.as_view(), name="api-share-classes"),
    path("companies/<slug:slug>/stakeholders/", views.StakeholderList.as_view(), name="api-stakeholders"),
    path("companies/<slug:slug>/transactions/", views.TransactionList.as_view(), name="api-transactions"),
    path("companies/<slug:slug>/cap-table/", views.CapTable.as_view(), name="api-cap-table"),
]

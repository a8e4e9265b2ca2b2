from django.urls import path

from equity import views

app_name = "equity"

urlpatterns = [
    path("companies/<slug:slug>/cap-table/", views.cap_table, name="cap_table"),
    path("companies/<slug:slug>/cap-table/record/<slug:what>/", views.ledger_record, name="record"),
    path("companies/<slug:slug>/cap-table/model/", views.round_model, name="round_model"),
    path("companies/<slug:slug>/cap-table.csv", views.cap_table_csv, name="cap_table_csv"),
]

from django.urls import path

from equity import views

app_name = "equity"

urlpatterns = [
    path("companies/<slug:slug>/cap-table/", views.cap_table, name="cap_table"),
    path("companies/<slug:slug>/cap-table/record/<slug:what>/", views.ledger_record, name="record"),
    path("companies/<slug:slug>/cap-table/model/", views.round_model, name="round_model"),
    path("companies/<slug:slug>/cap-table.csv", views.cap_table_csv, name="cap_table_csv"),
    path("companies/<slug:slug>/cap-table/combined.csv", views.cap_table_combined_csv, name="cap_table_combined_csv"),
    path("companies/<slug:slug>/cap-table.ocf.zip", views.ocf_export, name="ocf_export"),
    path("companies/<slug:slug>/cap-table/import-ocf/", views.ocf_import, name="ocf_import"),
    path("companies/<slug:slug>/cap-table/by-class.csv", views.cap_table_by_class_csv, name="cap_table_by_class_csv"),
    path("companies/<slug:slug>/cap-table/ledger/", views.ledger, name="ledger"),
    path("companies/<slug:slug>/cap-table/ledger.csv", views.ledger_csv, name="ledger_csv"),
    path("companies/<slug:slug>/cap-table/stakeholders/<int:pk>/", views.stakeholder_detail, name="stakeholder"),
    path("companies/<slug:slug>/cap-table/stakeholders/<int:pk>/securities.csv", views.stakeholder_securities_csv,
         name="stakeholder_securities_csv"),
    path("companies/<slug:slug>/cap-table/waterfall/", views.waterfall, name="waterfall"),
    path("companies/<slug:slug>/cap-table/waterfall.csv", views.waterfall_csv, name="waterfall_csv"),
    path("companies/<slug:slug>/rounds/", views.round_list, name="round_list"),
    path("companies/<slug:slug>/rounds/new/", views.round_edit, {"step": "basics"}, name="round_new"),
    path("companies/<slug:slug>/rounds/<int:pk>/", views.round_detail, name="round_detail"),
    path("companies/<slug:slug>/rounds/<int:pk>/edit/<slug:step>/", views.round_edit, name="round_edit"),
    path("companies/<slug:slug>/rounds/<int:pk>/preview/", views.round_preview, name="round_preview"),
    path("companies/<slug:slug>/rounds/<int:pk>/investments/", views.investment_record, name="investment_record"),
    path("companies/<slug:slug>/rounds/<int:pk>/investments/<int:investment_pk>/cancel/", views.investment_cancel,
         name="investment_cancel"),
    path("companies/<slug:slug>/rounds/<int:pk>/<slug:action>/", views.round_action, name="round_action"),
]

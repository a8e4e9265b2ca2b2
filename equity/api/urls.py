from django.urls import path

from equity.api import ocf, rounds, views

# POST companies/<slug>/transactions/<kind>/ appends one ledger entry of that kind.
LEDGER_WRITES = {
    "stock-issuance": views.StockIssuance, "stock-transfer": views.StockTransfer,
    "stock-cancellation": views.StockCancellation, "stock-repurchase": views.StockRepurchase,
    "plan-adjustment": views.PlanAdjustment, "option-grant": views.OptionGrant,
    "option-exercise": views.OptionExercise, "option-cancellation": views.OptionCancellation,
    "convertible-issuance": views.ConvertibleIssuance, "warrant-issuance": views.WarrantIssuance,
    "warrant-exercise": views.WarrantExercise,
}

urlpatterns = [
    path("companies/<slug:slug>/share-classes/", views.ShareClassList.as_view(), name="api-share-classes"),
    path("companies/<slug:slug>/stakeholders/", views.StakeholderList.as_view(), name="api-stakeholders"),
    path("companies/<slug:slug>/transactions/", views.TransactionList.as_view(), name="api-transactions"),
    path("companies/<slug:slug>/cap-table/", views.CapTable.as_view(), name="api-cap-table"),
    path("companies/<slug:slug>/ocf/", ocf.OcfExport.as_view(), name="api-ocf-export"),
    path("companies/<slug:slug>/ocf/import/", ocf.OcfImport.as_view(), name="api-ocf-import"),
    path("companies/<slug:slug>/plans/", views.PlanList.as_view(), name="api-plans"),
    *[path(f"companies/<slug:slug>/transactions/{kind}/", view.as_view(), name=f"api-transaction-{kind}")
      for kind, view in LEDGER_WRITES.items()],
    path("calculations/pro-forma/", views.ProFormaCalculation.as_view(), name="api-calculation-pro-forma"),
    path("calculations/waterfall/", views.WaterfallCalculation.as_view(), name="api-calculation-waterfall"),
    path("companies/<slug:slug>/rounds/", rounds.RoundList.as_view(), name="api-rounds"),
    path("companies/<slug:slug>/rounds/<int:pk>/", rounds.RoundDetail.as_view(), name="api-round"),
    *[path(f"companies/<slug:slug>/rounds/<int:pk>/{action}/", rounds.RoundAction.as_view(),
           {"action": action}, name=f"api-round-{action}") for action in rounds.ROUND_ACTIONS],
    path("companies/<slug:slug>/rounds/<int:pk>/investments/", rounds.InvestmentList.as_view(),
         name="api-round-investments"),
    path("companies/<slug:slug>/rounds/<int:pk>/investments/<int:investment_pk>/cancel/",
         rounds.InvestmentCancel.as_view(), name="api-investment-cancel"),
]

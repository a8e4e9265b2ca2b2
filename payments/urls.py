from django.urls import path

from payments import views, views_tokens

app_name = "payments"

urlpatterns = [
    path("invest/<int:pk>/", views.invest, name="invest"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio/tokens/<int:pk>/claim/", views.token_allocation_claim, name="token_allocation_claim"),
    path("portfolio/tokens/<int:pk>/exercise/", views_tokens.warrant_exercise, name="warrant_exercise"),
    path("portfolio/tokens/<int:pk>/exercise/start/", views_tokens.warrant_exercise_start,
         name="warrant_exercise_start"),
    path("portfolio/tokens/<int:pk>/exercise/pay/", views_tokens.warrant_exercise_pay, name="warrant_exercise_pay"),
    path("portfolio/commitments/<int:pk>/", views.commitment_detail, name="commitment"),
    path("portfolio/commitments/<int:pk>/agreement.pdf", views.agreement_preview, name="agreement_preview"),
    path("portfolio/commitments/<int:pk>/sign/", views.commitment_sign, name="sign"),
    path("portfolio/commitments/<int:pk>/pay/", views.commitment_pay, name="pay"),
    path("portfolio/commitments/<int:pk>/cancel/", views.commitment_cancel, name="cancel"),
    path("portfolio/commitments/<int:pk>/reconfirm/", views.commitment_reconfirm, name="reconfirm"),
    path("c/<slug:slug>/sales/<int:pk>/card/", views_tokens.token_checkout, name="token_checkout"),
    path("portfolio/token-orders/<int:pk>/", views_tokens.token_order_detail, name="token_order"),
    path("portfolio/token-orders/<int:pk>/pay/", views_tokens.token_order_pay, name="token_order_pay"),
    path("portfolio/token-orders/<int:pk>/cancel/", views_tokens.token_order_cancel, name="token_order_cancel"),
    path("commitments/<int:pk>/documents/<slug:kind>.pdf", views.document_download, name="document"),
    path("companies/<slug:slug>/rounds/<int:pk>/commitments/", views.round_commitments, name="round_commitments"),
    path("companies/<slug:slug>/rounds/<int:pk>/commitments.csv", views.round_commitments_csv,
         name="round_commitments_csv"),
    path("companies/<slug:slug>/rounds/<int:pk>/commitments/<int:commitment_pk>/decline/", views.commitment_decline,
         name="commitment_decline"),
    path("companies/<slug:slug>/rounds/<int:pk>/commitments/<int:commitment_pk>/return-rest/",
         views.commitment_return_rest, name="commitment_return_rest"),
    path("companies/<slug:slug>/rounds/<int:pk>/material-change/", views.round_material_change,
         name="round_material_change"),
    path("companies/<slug:slug>/rounds/<int:pk>/close-early/", views.round_close_early, name="round_close_early"),
]

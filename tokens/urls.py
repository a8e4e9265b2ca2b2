from django.urls import path

from tokens import views, views_hybrid

app_name = "tokens"

urlpatterns = [
    # The founder's pages, in the company's area.
    path("companies/<slug:slug>/tokens/", views.overview, name="overview"),
    path("companies/<slug:slug>/tokens/new/", views.token_edit, name="token_new"),
    path("companies/<slug:slug>/tokens/<int:pk>/edit/", views.token_edit, name="token_edit"),
    path("companies/<slug:slug>/tokens/<int:pk>/holders/", views_hybrid.token_holders, name="token_holders"),
    path("companies/<slug:slug>/tokens/<int:pk>/warrants/new/", views_hybrid.warrant_new, name="warrant_new"),
    path("companies/<slug:slug>/tokens/<int:pk>/warrants/convert/", views_hybrid.warrants_convert,
         name="warrants_convert"),
    path("companies/<slug:slug>/tokens/<int:pk>/allocations/<int:allocation_pk>/exercise-recorded/",
         views_hybrid.exercise_record, name="exercise_record"),
    path("companies/<slug:slug>/tokens/<int:pk>/allocations/new/", views_hybrid.allocation_new, name="allocation_new"),
    path("companies/<slug:slug>/tokens/<int:pk>/allocations/deploy/", views_hybrid.allocations_deploy,
         name="allocations_deploy"),
    path("companies/<slug:slug>/tokens/<int:token_pk>/sales/new/", views.sale_edit, name="sale_new"),
    path("companies/<slug:slug>/sales/<int:pk>/", views.sale_review, name="sale_review"),
    path("companies/<slug:slug>/sales/<int:pk>/edit/", views.sale_edit, name="sale_edit"),
    path("companies/<slug:slug>/sales/<int:pk>/deploy/", views.sale_deploy, name="sale_deploy"),
    path("companies/<slug:slug>/sales/<int:pk>/deployment/", views.sale_deployment, name="sale_deployment"),
    path("companies/<slug:slug>/sales/<int:pk>/finalize/", views.sale_action, {"action": "finalize"},
         name="sale_finalize"),
    path("companies/<slug:slug>/sales/<int:pk>/pause/", views.sale_action, {"action": "pause"}, name="sale_pause"),
    path("companies/<slug:slug>/sales/<int:pk>/resume/", views.sale_action, {"action": "resume"},
         name="sale_resume"),
    # The public sale page and what a purchase from it needs.
    path("c/<slug:slug>/sales/<int:pk>/", views.sale_public, name="sale_public"),
    path("c/<slug:slug>/sales/<int:pk>/purchase-terms/", views.sale_purchase_terms, name="sale_purchase_terms"),
    # The development wallet's node and faucet (devnet only).
    path("chain/rpc", views.chain_rpc, name="chain_rpc"),
    path("chain/faucet", views.faucet, name="faucet"),
]

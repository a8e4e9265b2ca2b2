from django.urls import path

from companies import views

app_name = "companies"

urlpatterns = [
    path("companies/", views.company_list, name="list"),
    path("companies/new/", views.company_create, name="create"),
    path("companies/<slug:slug>/", views.company_detail, name="detail"),
    path("companies/<slug:slug>/edit/", views.company_edit, name="edit"),
    path("companies/<slug:slug>/team/", views.company_members, name="members"),
    path("companies/<slug:slug>/team/<int:pk>/role/", views.member_change_role, name="member_role"),
    path("companies/<slug:slug>/team/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("companies/<slug:slug>/invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_respond, name="invitation"),
    path("c/<slug:slug>/", views.company_public, name="public"),
]

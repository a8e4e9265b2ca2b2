from django.urls import path

from companies.api import views

urlpatterns = [
    path("companies/", views.CompanyListCreate.as_view(), name="api-company-list"),
    path("companies/<slug:slug>/", views.CompanyDetail.as_view(), name="api-company-detail"),
    path("companies/<slug:slug>/members/", views.MemberList.as_view(), name="api-company-members"),
    path("companies/<slug:slug>/invitations/", views.InvitationListCreate.as_view(), name="api-company-invitations"),
    path("invitations/accept/", views.InvitationAccept.as_view(), name="api-invitation-accept"),
    path("public/companies/", views.PublicCompanyList.as_view(), name="api-public-company-list"),
    path("public/companies/<slug:slug>/", views.PublicCompanyDetail.as_view(), name="api-public-company-detail"),
]

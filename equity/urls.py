from django.urls import path

from equity import views

app_name = "equity"

urlpatterns = [path("companies/<slug:slug>/cap-table/", views.cap_table, name="cap_table")]

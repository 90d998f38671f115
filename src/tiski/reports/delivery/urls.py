"""/console/reports/subscriptions/: reports mailed to team leads on a schedule."""

from django.urls import path

from tiski.reports.delivery import views

app_name = "report_delivery"

urlpatterns = [
    path("", views.subscriptions_page, name="subscriptions"),
    path("<int:pk>/cancel/", views.subscription_cancel_view, name="cancel"),
]

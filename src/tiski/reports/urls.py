"""The reports console: /console/reports/… in the "reports" namespace (the exports live under export/)."""

from django.urls import path

from tiski.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("live/", views.dashboard_live, name="dashboard-live"),
    path("reasons/", views.reasons, name="reasons"),
    path("agents/", views.ranking_page("agents"), name="agents"),
    path("agents/<int:pk>/", views.agent_detail, name="agent"),
    path("teams/", views.ranking_page("teams"), name="teams"),
    path("teams/<int:pk>/", views.team_detail, name="team"),
    path("channels/", views.ranking_page("channels"), name="channels"),
    path("channels/<str:kind>/", views.channel_detail, name="channel"),
    path("organizations/", views.ranking_page("organizations"), name="organizations"),
    path("organizations/<int:pk>/", views.organization_detail, name="organization"),
    path("products/", views.ranking_page("products"), name="products"),
    path("products/<path:name>/", views.product_detail, name="product"),
    path("me/", views.me, name="me"),
    path("figures/<str:name>/", views.figure, name="figure"),
    path("cases/", views.cases, name="cases"),
]

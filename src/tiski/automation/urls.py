from django.urls import path

from tiski.automation import views

app_name = "automation"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("new/", views.rule_edit, name="new"),
    path("dry-run/", views.rule_dry_run_view, name="dry-run"),
    path("condition/", views.condition_row, name="condition-row"),
    path("log/", views.run_log, name="log"),
    path("<int:pk>/", views.rule_edit, name="edit"),
    path("<int:pk>/toggle/", views.rule_toggle, name="toggle"),
    path("<int:pk>/move/<str:direction>/", views.rule_move, name="move"),
    path("<int:pk>/delete/", views.rule_delete, name="delete"),
]

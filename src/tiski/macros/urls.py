from django.urls import path

from tiski.macros import views

app_name = "macros"

urlpatterns = [
    path("", views.macro_list, name="list"),
    path("new/", views.macro_new, name="new"),
    path("row/", views.action_row, name="action-row"),
    path("<int:pk>/", views.macro_edit, name="edit"),
    path("<int:pk>/delete/", views.macro_delete_view, name="delete"),
    path("cases/<str:reference>/", views.case_menu, name="case-menu"),
    path("cases/<str:reference>/<int:pk>/preview/", views.case_preview, name="case-preview"),
    path("cases/<str:reference>/<int:pk>/apply/", views.case_apply, name="case-apply"),
    path("bulk/options/", views.bulk_options, name="bulk-options"),
    path("bulk/preview/", views.bulk_preview, name="bulk-preview"),
    path("bulk/start/", views.bulk_start, name="bulk-start"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run-progress"),
]

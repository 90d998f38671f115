"""Console pages of the help centre, mounted at /console/help-centre/ (namespace "help_console")."""

from django.urls import path

from tiski.knowledge.helpcentre import console_views

app_name = "help_console"

urlpatterns = [
    path("", console_views.stats, name="stats"),
    path("articles/<int:article_id>/share/", console_views.share_create_view, name="share-create"),
    path("share/<int:pk>/revoke/", console_views.share_revoke_view, name="share-revoke"),
]

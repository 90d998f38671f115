from django.urls import path

from tiski.surveys import console_views

app_name = "survey_console"

urlpatterns = [
    path("", console_views.responses_page, name="responses"),
    path("settings/", console_views.settings_page, name="settings"),
]

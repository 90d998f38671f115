from django.urls import path

from tiski.surveys import views

app_name = "surveys"

urlpatterns = [
    path("<str:token>/", views.survey_page, name="answer"),
]

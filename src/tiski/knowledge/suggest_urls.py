from django.urls import path

from tiski.knowledge import suggest_views

app_name = "knowledge-case"

urlpatterns = [
    path("<str:reference>/articles/", suggest_views.case_articles, name="articles"),
    path("<str:reference>/articles/use/", suggest_views.case_article_use, name="use"),
]

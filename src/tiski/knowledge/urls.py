from django.urls import path

from tiski.knowledge import views

app_name = "knowledge"

urlpatterns = [
    path("", views.article_list, name="list"),
    path("new/", views.article_new, name="new"),
    path("<int:pk>/", views.article_detail, name="article"),
    path("<int:pk>/settings/", views.article_settings, name="settings"),
    path("<int:pk>/add-language/", views.translation_add, name="add-language"),
    path("<int:pk>/<str:language>/save/", views.translation_save_view, name="save"),
    path("<int:pk>/<str:language>/status/", views.translation_status, name="status"),
    path("<int:pk>/<str:language>/restore/<int:number>/", views.translation_restore_view, name="restore"),
]

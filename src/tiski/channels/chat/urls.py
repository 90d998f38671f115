from django.urls import path

from tiski.channels.chat import views

app_name = "chat"

urlpatterns = [
    path("demo/", views.demo, name="demo"),
    path("<int:channel_id>/attachments/", views.attachment_upload, name="upload"),
    path("<int:channel_id>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]

from django.urls import path

from tiski.channels.meta import views

app_name = "meta"

urlpatterns = [
    path("cases/<str:reference>/whatsapp-templates/", views.template_picker, name="template-picker"),
    path(
        "cases/<str:reference>/whatsapp-templates/<int:template_id>/send/",
        views.template_send,
        name="template-send",
    ),
]

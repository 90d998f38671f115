"""The public web form: /contact/ (the first active form), /contact/<channel id>/, the receipt, embed.js."""

from django.urls import path

from tiski.channels.webform import views

app_name = "webform"
urlpatterns = [
    path("", views.contact_form, name="form"),
    path("embed.js", views.embed_script, name="embed_js"),
    path("thanks/<str:token>/", views.contact_thanks, name="thanks"),
    path("<int:channel_id>/", views.contact_form, name="form_channel"),
]

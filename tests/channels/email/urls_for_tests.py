"""The project's URLs plus the provider webhooks, mounted where src/tiski/urls.py is to mount them."""

from django.urls import include, path

from tiski.urls import urlpatterns as project_urlpatterns

urlpatterns = [*project_urlpatterns, path("email/", include("tiski.channels.email.urls"))]

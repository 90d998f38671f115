"""The project's URLs plus the Meta app's template picker (until the root URLconf includes it)."""

from django.urls import include, path

from tiski.urls import urlpatterns as project

urlpatterns = [*project, path("meta/", include("tiski.channels.meta.urls"))]

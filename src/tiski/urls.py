from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:inbox", permanent=False)),
    path("", include("tiski.console.urls")),
    path("contact/", include("tiski.channels.webform.urls")),
    path("api/v1/", include("tiski.api.urls")),
    path("email/", include("tiski.channels.email.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

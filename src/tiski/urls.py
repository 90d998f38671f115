from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tiski.channels.webhooks import webhook

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:inbox", permanent=False)),
    path("", include("tiski.console.urls")),
    path("", include("tiski.accounts.urls")),  # login steps, single sign-on, /console/account/
    path("console/macros/", include("tiski.macros.urls")),
    path("console/automation/", include("tiski.automation.urls")),
    path("console/audit/", include("tiski.audit.urls")),
    path("console/knowledge/", include("tiski.knowledge.urls")),
    path("console/reports/export/", include("tiski.reports.export_urls")),
    path("console/reports/subscriptions/", include("tiski.reports.delivery.urls")),
    path("console/reports/", include("tiski.reports.urls")),
    path("console/cases/", include("tiski.knowledge.suggest_urls")),
    path("contact/", include("tiski.channels.webform.urls")),
    path("chat/", include("tiski.channels.chat.urls")),
    path("survey/", include("tiski.surveys.urls")),
    path("console/surveys/", include("tiski.surveys.console_urls")),
    path("help/", include("tiski.knowledge.helpcentre.urls")),
    path("console/help-centre/", include("tiski.knowledge.helpcentre.console_urls")),
    path("meta/", include("tiski.channels.meta.urls")),
    path("api/v1/", include("tiski.api.urls")),
    path("email/", include("tiski.channels.email.urls")),
    path("hooks/<str:kind>/<int:channel_id>/", webhook, name="channel-webhook"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("simulator/", include("tiski.simulators.urls")),  # 404 unless `tiski demo` runs the simulators
]

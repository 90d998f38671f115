from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    """The audit log: an append-only record of who did what to which record, from where."""

    name = "tiski.audit"
    label = "audit"
    verbose_name = _("Audit log")

    def ready(self) -> None:
        from tiski.audit import receivers  # noqa: F401  (connects the auth and permission signals)

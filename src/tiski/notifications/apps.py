from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "tiski.notifications"
    verbose_name = "Following and notifications"

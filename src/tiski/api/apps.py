from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "tiski.api"
    verbose_name = "API"

"""The agent's side of routing in the console: presence, offers (accept/decline), transfers."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""The live supervisor view: agents, queues, a queue's items; reassign work, change an agent's presence."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

"""Note that an agent is at the desk whenever they act in the console (for the idle timeout: idle → away)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from tiski.accounts.roles import WORK_CASES
from tiski.routing.services import agent_seen

CONSOLE_PREFIX = "/console/"


class AgentSeenMiddleware:
    """After an agent's successful console post (a reply, a note, a status change …), record that they were active.

    agent_seen writes at most every 30 s. Reads are left out: the case page polls its timeline while messages
    are being sent, which says nothing of the agent. Page loads, clicks and typing reach agent_seen through the
    console's WebSocket (tiski.routing.consumers: on connect, and a heartbeat at most once a minute), which
    also keeps page loads free of the write. The API is left out too: scripts use it with an agent's token.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if request.method == "POST" and request.path.startswith(CONSOLE_PREFIX) and response.status_code < 400:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.has_perm(WORK_CASES):
                agent_seen(user)
        return response

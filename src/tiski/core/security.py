"""Security headers every response carries, and the per-view exceptions to the Content Security Policy.

The policy itself is settings.CONTENT_SECURITY_POLICY, sent by django-csp's middleware on every page:
scripts and styles only from Tiski's own static files, no inline script, no eval, and no framing. Django's
SecurityMiddleware adds X-Content-Type-Options, Referrer-Policy and (with TISKI_HTTPS=1) HSTS; this module
adds Permissions-Policy, and lets the pages customers' sites embed (the web form) name who may frame them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase


def frame_ancestors_allow(response: HttpResponseBase, *, origins: Sequence[str]) -> HttpResponseBase:
    """Let RESPONSE be framed by Tiski itself and ORIGINS (customers' sites); the rest of the policy stays."""
    response._csp_replace = {"frame-ancestors": ["'self'", *origins]}  # type: ignore[attr-defined]
    return response


def webform_frame_ancestors(response: HttpResponseBase) -> HttpResponseBase:
    """Let the sites of TISKI_WEBFORM_EMBED_ORIGINS frame the web-form page RESPONSE."""
    return frame_ancestors_allow(response, origins=settings.TISKI_WEBFORM_EMBED_ORIGINS)


class PermissionsPolicyMiddleware:
    """Add settings.TISKI_PERMISSIONS_POLICY as the Permissions-Policy header of every response.

    No page of Tiski uses the camera, the microphone or the location (calls run over the phone network),
    so each is switched off for the pages and anything they frame.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy = settings.TISKI_PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = ", ".join(f"{feature}={allow}" for feature, allow in policy.items())
        return response

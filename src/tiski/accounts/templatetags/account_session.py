"""{% session_watch %}: the console page's session timer (warns before the session ends, keeps it alive)."""

from __future__ import annotations

from django import template
from django.http import HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from tiski.accounts.session import session_times

register = template.Library()


@register.simple_tag(takes_context=True)
def session_watch(context: template.Context) -> SafeString | str:
    """Render the stylesheet and script that watch the session, for a logged-in user only."""
    request: HttpRequest | None = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    times = session_times(request=request)
    return format_html(
        '<link rel="stylesheet" href="{}"><script src="{}" defer data-keepalive-url="{}" data-login-url="{}" '
        'data-idle-left="{}" data-absolute-left="{}" data-text-idle="{}" data-text-absolute="{}" '
        'data-text-stay="{}"></script>',
        static("accounts/account.css"),
        static("accounts/session.js"),
        reverse("account:session"),
        reverse("login") + "?expired=1",
        int(times["idle_left"]),
        int(times["absolute_left"]),
        _("You will be logged out in {minutes} min because you have been inactive."),
        _("Your session ends in {minutes} min. Save your work; you will need to log in again."),
        _("Stay logged in"),
    )

"""The survey link: a signed token naming the invitation, valid until the invitation's link expires.

``django.core.signing`` with the surveys' own salt: a token cannot be forged or altered without the secret key,
and a token of another feature (a form receipt, a chat identity) is no survey token. Expiry is the invitation's
own ``expires_at`` (set when it is sent, from the kind's settings), not the signature's age, so an administrator's
later change of the validity does not change links already sent.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from tiski.surveys.models import SurveyInvitation

SALT = "tiski.surveys.link"


class SurveyLinkError(Exception):
    """The link cannot be used; CODE says why: "invalid" (tampered, not a survey link) or "expired"."""

    def __init__(self, code: str, invitation: SurveyInvitation | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.invitation = invitation


def survey_token(invitation: SurveyInvitation) -> str:
    """Return the signed token of INVITATION's link."""
    return signing.dumps({"i": invitation.pk, "k": invitation.kind}, salt=SALT, compress=False)


def survey_url(invitation: SurveyInvitation, *, score: int | None = None) -> str:
    """Return the absolute address of INVITATION's survey page (with SCORE: the page with that score chosen)."""
    path = reverse("surveys:answer", args=[survey_token(invitation)])
    query = f"?score={score}" if score is not None else ""
    return f"{settings.TISKI_BASE_URL.rstrip('/')}{path}{query}"


def survey_token_open(token: str) -> SurveyInvitation:
    """Return the invitation TOKEN names; raise SurveyLinkError("invalid") for a token that is not ours or was
    changed (or whose survey is gone), SurveyLinkError("expired") once its link has expired."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        raise SurveyLinkError("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise SurveyLinkError("invalid")
    invitation = (
        SurveyInvitation.objects.select_related("case", "customer").filter(pk=data["i"], kind=data.get("k")).first()
    )
    if invitation is None or invitation.status in (SurveyInvitation.Status.SCHEDULED, SurveyInvitation.Status.SKIPPED):
        raise SurveyLinkError("invalid")
    if invitation.status == SurveyInvitation.Status.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= timezone.now()
    ):
        raise SurveyLinkError("expired", invitation)
    return invitation

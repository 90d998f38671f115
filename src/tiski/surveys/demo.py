"""The demo company's surveys: CSAT on, NPS on a quarter of cases, and answers on cases solved in the history.

Invitations are written as sent (no message goes out for invented history) and answered through the real
service, so the timeline events, the customers' "last survey" fields, the automation rule's follow-up tasks
for the low scores and the responses page all look as they would after a few weeks of use.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from tiski.cases.models import Case
from tiski.surveys.models import Kind, SurveyInvitation
from tiski.surveys.services import survey_answer, survey_settings_update

CSAT_SCORES = (5, 5, 4, 5, 3, 4, 5, 2, 5, 4, 1, 5, 4, 5, 3)
COMMENTS_FI = {
    5: ["Nopea ja ystävällinen palvelu, kiitos!", "Asia hoitui heti.", ""],
    4: ["Hyvä palvelu, vastaus tuli vähän viiveellä.", ""],
    3: ["Ihan ok, mutta jouduin kertomaan asian kahteen kertaan.", ""],
    2: ["Vastaus ei oikein auttanut, jouduin soittamaan uudelleen."],
    1: ["Huoltoa piti odottaa kaksi viikkoa eikä kukaan kertonut miksi."],
}
COMMENTS_EN = {
    5: ["Quick and friendly, thank you!", ""],
    4: ["Good, just a bit slow to answer.", ""],
    3: ["Okay, but I had to explain twice.", ""],
    2: ["The answer did not really help."],
    1: ["I waited two weeks for the repair and nobody told me why."],
}


def demo_surveys_create(*, now: datetime, seed: int = 11) -> int:
    """Turn the surveys on and answer some on the demo's solved cases; return how many answers were made."""
    rng = random.Random(seed)
    survey_settings_update(
        kind=Kind.CSAT,
        data={"enabled": True, "delay_minutes": 60, "sample_percent": 100, "throttle_days": 7},
        actor=None,
    )
    survey_settings_update(kind=Kind.NPS, data={"enabled": True, "sample_percent": 25}, actor=None)
    solved = list(
        Case.objects.filter(status__in=(Case.Status.SOLVED, Case.Status.CLOSED), customer__erased_at__isnull=True)
        .exclude(channel__isnull=True)
        .select_related("channel", "customer")
        .order_by("-solved_at", "-pk")[:40]
    )
    made = 0
    for n, case in enumerate(solved):
        solved_at = case.solved_at or now - timedelta(days=2)
        sent_at = min(solved_at + timedelta(hours=1), now - timedelta(minutes=30))
        language = (case.customer.language or "fi")[:2]
        invitation = SurveyInvitation.objects.create(
            case=case,
            kind=Kind.CSAT,
            customer=case.customer,
            agent_id=case.owner_id,
            team_id=case.team_id,
            channel_kind=case.channel.kind if case.channel else "",
            via="chat" if case.channel and case.channel.kind == "chat" else "email",
            channel=case.channel,
            language=language,
            status=SurveyInvitation.Status.SENT,
            solved_at=solved_at,
            due_at=sent_at,
            sent_at=sent_at,
            expires_at=now + timedelta(days=10),
        )
        if n % 5 == 4:
            continue  # not every customer answers
        score = CSAT_SCORES[n % len(CSAT_SCORES)]
        comments = (COMMENTS_FI if language == "fi" else COMMENTS_EN)[score]
        answered = min(sent_at + timedelta(minutes=rng.randrange(5, 600)), now - timedelta(minutes=5))
        survey_answer(invitation=invitation, score=score, comment=rng.choice(comments), now=answered)
        made += 1
    return made

"""The chat's end card over the real chat socket: it reaches the open widget when the case is solved, and the
visitor's answer comes back through the same socket and is stored as any survey answer."""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async

from tests.channels.chat.conftest import SHOP, Socket, run
from tests.surveys.conftest import sent, solve
from tiski.cases.models import Case, CaseEvent
from tiski.channels.models import Channel, ChannelKind
from tiski.surveys.models import SurveyResponse
from tiski.surveys.services import surveys_schedule

pytestmark = pytest.mark.django_db(transaction=True)  # the consumer works in other threads: it sees committed rows


def test_the_end_card_reaches_the_open_widget_and_its_answer_is_stored(agent: Any, csat_on: Any) -> None:
    channel = Channel.objects.create(kind=ChannelKind.CHAT, name="Chat", config={"allowed_origins": [SHOP]})
    seen: dict[str, Any] = {}

    def solved_and_sent() -> None:
        case = Case.objects.get(channel=channel)
        solve(case, agent)
        # What the durable task the solve enqueued does (the worker itself needs the main thread for its signal
        # handlers, and this runs in the consumer's thread pool): a chat's survey is due at once.
        surveys_schedule(case_id=case.pk)
        seen["invitation"] = sent(case)

    async def scenario() -> None:
        socket = Socket(f"/ws/chat/{channel.pk}/")
        assert await socket.connect()
        await socket.send_json({"type": "hello", "lang": "fi", "prechat": {"name": "Liisa"}})
        await socket.expect("welcome")
        await socket.send_json({"type": "message", "id": "m-1", "text": "Onko koko M varastossa?"})
        await socket.expect("message")
        await database_sync_to_async(solved_and_sent)()

        card = await socket.expect("survey")
        seen["card"] = card
        await socket.send_json({"type": "survey_answer", "token": card["token"] + "x", "score": 2})
        seen["tampered"] = await socket.expect("error")
        await socket.send_json({"type": "survey_answer", "token": card["token"], "score": 9})
        seen["out_of_range"] = await socket.expect("error")
        await socket.send_json({"type": "survey_answer", "token": card["token"], "score": 2, "comment": "Hidas"})
        seen["thanks"] = await socket.expect("survey_thanks")
        await socket.close()

    run(scenario)

    card = seen["card"]
    assert (card["kind"], card["low"], card["high"]) == ("csat", 1, 5)
    assert "TSK-" in card["question"] and card["url"].endswith("/") and "/survey/" in card["url"]
    assert seen["invitation"].via == "chat"
    assert seen["tampered"]["code"].startswith("survey_") and seen["out_of_range"]["code"].startswith("survey")
    assert seen["thanks"]["text"]
    response = SurveyResponse.objects.get()
    assert (response.score, response.comment, response.source, response.channel_kind) == (2, "Hidas", "chat", "chat")
    assert response.agent_id == agent.pk and response.case_id == seen["invitation"].case_id
    assert CaseEvent.objects.filter(case_id=response.case_id, kind=CaseEvent.Kind.SURVEY_ANSWERED).exists()

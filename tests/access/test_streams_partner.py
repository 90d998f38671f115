"""The console's WebSocket for a partner agent and a read-only user, over the real ASGI application.

A partner's socket never joins the group of a case outside the partner's scope, nor the supervisors', and a push
about a case that left the scope after the socket joined it renders nothing.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from tests.access.partner_world import World
from tests.routing.test_consumers import frames, login, run, socket
from tiski.cases.models import Message
from tiski.routing.consumers import CLOSE_FORBIDDEN, case_group
from tiski.routing.push import SUPERVISORS

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _layer_flushed():  # type: ignore[no-untyped-def]
    yield
    layer = get_channel_layer()
    if layer is not None:
        run(layer.flush)


def _chat_message(world: World, case_id: int, text: str) -> Message:
    channel = world.chat if case_id == world.c_chat.pk else world.email
    return Message.objects.create(
        case_id=case_id,
        channel=channel,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        sender_name="Anssi",
        body_text=text,
    )


async def _push(case_id: int, message_id: int) -> None:
    layer = get_channel_layer()
    await layer.group_send(case_group(case_id), {"type": "chat.message", "case_id": case_id, "message_id": message_id})


def test_a_partner_socket_on_an_invisible_case_hears_nothing_of_it(world: World) -> None:
    browser = login(world.sanna)
    hidden = _chat_message(world, world.c_mail.pk, "hidden-push-text")
    shown = _chat_message(world, world.c_chat.pk, "shown-push-text")

    async def scenario() -> None:
        page = socket(browser, f"?lang=en&case={world.c_mail.reference}")
        assert (await page.connect())[0]
        await frames(page, 1.0)  # the state on connect
        await _push(world.c_mail.pk, hidden.pk)
        got = "".join(await frames(page, 1.0))
        assert "hidden-push-text" not in got and f"message-{hidden.pk}" not in got
        await page.disconnect()
        # The control: on a case of the partner's, the same push arrives.
        page = socket(browser, f"?lang=en&case={world.c_chat.reference}")
        assert (await page.connect())[0]
        await frames(page, 1.0)
        await _push(world.c_chat.pk, shown.pk)
        got = "".join(await frames(page, 2.0))
        assert "shown-push-text" in got
        await page.disconnect()

    run(scenario)


def test_a_case_handed_out_of_scope_stops_reaching_the_partner(world: World) -> None:
    browser = login(world.sanna)
    message = Message.objects.create(
        case=world.c_handed,
        channel=world.email,
        direction=Message.Direction.IN,
        author=Message.Author.CUSTOMER,
        sender_name="Anssi",
        body_text="after-handover-text",
    )

    async def scenario() -> None:
        page = socket(browser, f"?lang=en&case={world.c_handed.reference}")
        assert (await page.connect())[0]
        await frames(page, 1.0)
        world.c_handed.team = world.t_billing
        await database_sync_to_async(world.c_handed.save)()
        await _push(world.c_handed.pk, message.pk)
        got = "".join(await frames(page, 1.5))
        assert "after-handover-text" not in got
        await page.disconnect()

    run(scenario)


def test_a_partner_asking_for_the_supervisor_view_gets_no_supervisor_pushes(world: World) -> None:
    browser = login(world.sanna)

    async def scenario() -> None:
        page = socket(browser, "?lang=en&view=supervisor")
        assert (await page.connect())[0]
        await frames(page, 1.0)
        await get_channel_layer().group_send(SUPERVISORS, {"type": "routing.changed"})
        got = "".join(await frames(page, 1.5))
        assert "sv-" not in got and "supervisor" not in got.lower()
        await page.disconnect()

    run(scenario)


def test_a_read_only_user_gets_no_console_socket(world: World) -> None:
    browser = login(world.bea)

    async def scenario() -> None:
        page = socket(browser, f"?lang=en&case={world.c_chat.reference}")
        accepted, code = await page.connect()
        if accepted:  # accepted first, then closed with the application's code
            closing = await page.receive_output(3)
            assert closing["type"] == "websocket.close"
            code = closing.get("code")
        assert code == CLOSE_FORBIDDEN

    run(scenario)

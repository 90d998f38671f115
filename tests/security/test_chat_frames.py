"""The chat socket drops frames over TISKI_CHAT_MAX_FRAME_KB and frames that are not JSON, and stays open."""

from __future__ import annotations

import pytest

from tests.channels.chat.conftest import SHOP, Socket, _layer_flushed, chat_channel, run  # noqa: F401
from tiski.cases.models import Message
from tiski.channels.models import Channel

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_oversized_or_malformed_frame_is_refused_and_the_socket_goes_on(chat_channel: Channel, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings.TISKI_CHAT_MAX_FRAME_KB = 1

    async def scenario() -> None:
        socket = Socket(f"/ws/chat/{chat_channel.pk}/", origin=SHOP)
        assert await socket.connect()
        await socket.send_json({"type": "hello", "lang": "en"})
        await socket.expect("welcome")
        await socket.send_json({"type": "message", "id": "big", "text": "x" * 2000})
        assert (await socket.expect("error"))["code"] == "too_large"
        await socket.send_input({"type": "websocket.receive", "text": "{not json"})
        assert (await socket.expect("error"))["code"] == "bad_request"
        await socket.send_json({"type": "message", "id": "small", "text": "Hello"})
        await socket.expect("message")
        await socket.close()

    run(scenario)
    assert list(Message.objects.filter(author="customer").values_list("body_text", flat=True)) == ["Hello"]


def test_too_many_chat_sockets_from_one_address_are_told_why_and_closed(chat_channel: Channel, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    settings.TISKI_RATES = {**settings.TISKI_RATES, "chat_open": "2/60"}

    async def scenario() -> None:
        for _ in range(2):
            socket = Socket(f"/ws/chat/{chat_channel.pk}/", origin=SHOP)
            assert await socket.connect()
            await socket.send_json({"type": "hello", "lang": "en"})
            await socket.expect("welcome")
            await socket.close()
        third = Socket(f"/ws/chat/{chat_channel.pk}/", origin=SHOP)
        assert await third.connect()
        error = await third.expect("error")
        assert error["code"] == "rate_limited" and "Too many chats" in error["text"]
        assert (await third.receive_output(5)) == {"type": "websocket.close", "code": 4429}
        other = Socket(f"/ws/chat/{chat_channel.pk}/", origin=SHOP)
        other.scope["client"] = ("198.51.100.7", 40000)  # another address has its own count
        assert await other.connect()
        await other.send_json({"type": "hello", "lang": "en"})
        await other.expect("welcome")
        await other.close()

    run(scenario)

"""The ASGI application refuses oversized bodies before Django spools them (real app, in-process ASGI)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest
from asgiref.testing import ApplicationCommunicator

from tiski.asgi import application


def _post(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> dict:
    async def run() -> dict:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": "/contact/", "raw_path": b"/contact/", "query_string": b"",
            "root_path": "", "headers": [(b"host", b"127.0.0.1"), *headers],
            "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
        }  # fmt: skip
        communicator = ApplicationCommunicator(application, scope)
        for index, chunk in enumerate(chunks):
            await communicator.send_input({"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1})
        start = await communicator.receive_output(timeout=10)
        await communicator.wait(timeout=10)
        return start

    # In a thread of its own: a browser test earlier in the run may have left Playwright's loop running here.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


@pytest.mark.django_db(transaction=True)
def test_a_declared_oversized_body_gets_413_at_once(settings):
    settings.TISKI_MAX_REQUEST_BYTES = 1000
    start = _post([(b"content-length", b"5000"), (b"content-type", b"application/x-www-form-urlencoded")], [b""])
    assert start["status"] == 413


@pytest.mark.django_db(transaction=True)
def test_a_streamed_body_is_stopped_when_it_passes_the_limit(settings):
    settings.TISKI_MAX_REQUEST_BYTES = 1000
    start = _post([(b"content-type", b"application/x-www-form-urlencoded")], [b"a" * 600, b"b" * 600, b"c" * 600])
    assert start["status"] == 413


@pytest.mark.django_db(transaction=True)
def test_a_body_within_the_limit_reaches_django(settings, webform_channel):
    settings.TISKI_MAX_REQUEST_BYTES = 10_000
    start = _post([(b"content-type", b"application/x-www-form-urlencoded")], [b"name=x"])
    assert start["status"] != 413  # Django answers (a form error or a CSRF refusal), not the limit

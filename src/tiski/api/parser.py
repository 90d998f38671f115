"""The API's request parser: JSON bodies and query strings, refusing text no database can store."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from tiski.api.errors import ApiError

_NUL_DETAIL = "Text in the request cannot contain NUL (\\u0000) characters."


def _reject_nul(value: Any) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ApiError(400, "nul_character", _NUL_DETAIL)
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(key)
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)


class ApiParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ApiError(400, "malformed_json", "The request body must be a JSON object ({...}).")
        _reject_nul(data)
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        _reject_nul(result)
        return result

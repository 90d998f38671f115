"""Limit/offset paging with a `next` link and a count that stays cheap on large tables."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Field, Schema

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000
COUNT_CAP = 10_000

M = TypeVar("M", bound=Model)


class PageIn(Schema):
    limit: int = Field(
        DEFAULT_LIMIT,
        ge=1,
        description=f"Items per page ({DEFAULT_LIMIT} by default); more than {MAX_LIMIT} gives {MAX_LIMIT}.",
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many items to skip.")


class PageMeta(Schema):
    count: int = Field(description=f"How many items match, counted up to {COUNT_CAP}.")
    count_capped: bool = Field(description=f"True when more than {COUNT_CAP} items match and count stopped there.")
    next: str | None = Field(description="The URL of the next page, or null on the last page.")


def page_of(request: HttpRequest, queryset: QuerySet[M], page: PageIn) -> dict[str, Any]:
    """Return one page of QUERYSET as {"items", "count", "count_capped", "next"}."""
    limit = min(page.limit, MAX_LIMIT)
    rows = list(queryset[page.offset : page.offset + limit + 1])
    has_more = len(rows) > limit
    count = queryset.order_by()[: COUNT_CAP + 1].count()
    next_url = None
    if has_more:
        query = request.GET.copy()
        query["limit"] = str(limit)
        query["offset"] = str(page.offset + limit)
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {"items": rows[:limit], "count": min(count, COUNT_CAP), "count_capped": count > COUNT_CAP, "next": next_url}

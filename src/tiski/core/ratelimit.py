"""Rate limits: fixed-window counters in Django's cache, one mechanism for every public endpoint.

A rate is "count/seconds" (``30/60``: thirty per minute), named, and read from settings.TISKI_RATES, which
takes each from the environment variable TISKI_RATE_<NAME>. A hit counts one request of a key (a client
address, a hashed API token, a chat socket) in the current window with an atomic add + incr, so that every
process sharing the cache (Redis when scaled out) counts together.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured

_generation = 0  # bumped by counters_clear(): every counter starts again from zero


@dataclass(frozen=True)
class Rate:
    """COUNT requests per SECONDS."""

    count: int
    seconds: int


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one hit: whether it is within the rate, and when the window ends."""

    allowed: bool
    retry_after_s: int
    limit: int
    remaining: int


def rate_parse(*, value: str, name: str = "") -> Rate:
    """Return the Rate of VALUE ("count/seconds"); raise ImproperlyConfigured naming TISKI_RATE_<NAME>."""
    count, _slash, seconds = value.strip().partition("/")
    try:
        rate = Rate(count=int(count), seconds=int(seconds))
    except ValueError:
        rate = Rate(count=-1, seconds=0)
    if rate.count < 0 or rate.seconds < 1:
        raise ImproperlyConfigured(f"TISKI_RATE_{name.upper()} must read count/seconds, such as 30/60; got {value!r}")
    return rate


def rate_get(*, name: str) -> Rate:
    """Return the configured rate NAME (settings.TISKI_RATES)."""
    try:
        value = settings.TISKI_RATES[name]
    except KeyError:
        raise ImproperlyConfigured(f"There is no rate limit named {name!r} in TISKI_RATES") from None
    return rate_parse(value=value, name=name)


def _cache_key(name: str, key: str, bucket: int) -> str:
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"tiski:rate:{_generation}:{name}:{bucket}:{digest}"


def _window(rate: Rate) -> tuple[int, float]:
    now = time.time()
    return int(now // rate.seconds), now


def _decision(rate: Rate, count: int, bucket: int, now: float) -> RateDecision:
    retry_after = max(math.ceil((bucket + 1) * rate.seconds - now), 1)
    return RateDecision(
        allowed=count <= rate.count,
        retry_after_s=retry_after,
        limit=rate.count,
        remaining=max(rate.count - count, 0),
    )


def rate_hit(*, name: str, key: str, rate: Rate | None = None) -> RateDecision:
    """Count one request of KEY against rate NAME (or RATE) and return whether it is within the rate."""
    rate = rate or rate_get(name=name)
    bucket, now = _window(rate)
    cache_key = _cache_key(name, key, bucket)
    cache.add(cache_key, 0, timeout=rate.seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=rate.seconds + 5)
        count = 1
    return _decision(rate, count, bucket, now)


async def rate_ahit(*, name: str, key: str, rate: Rate | None = None) -> RateDecision:
    """rate_hit for async code (the chat socket)."""
    rate = rate or rate_get(name=name)
    bucket, now = _window(rate)
    cache_key = _cache_key(name, key, bucket)
    await cache.aadd(cache_key, 0, timeout=rate.seconds + 5)
    try:
        count = await cache.aincr(cache_key)
    except ValueError:
        await cache.aadd(cache_key, 1, timeout=rate.seconds + 5)
        count = 1
    return _decision(rate, count, bucket, now)


def counters_clear() -> None:
    """Start every counter of this process again from zero (tests; the old counters expire by themselves)."""
    global _generation
    _generation += 1

"""Rate limits: per-process buckets, Redis buckets shared by all workers, and the fallback."""

import logging
import uuid

import pytest
import redis
from tests.unit.cases.conftest import run_loop

from shancheng.api.ratelimit import RateLimiter, RedisRateLimiter, limiter_from_settings
from shancheng.cases.permissions import Role
from shancheng.errors import RateLimitedError


def test_in_memory_bucket_refills_at_the_rate():
    limiter = RateLimiter(rate_per_min=60, burst=2)
    limiter.hit("a", now_s=0.0)
    limiter.hit("a", now_s=0.0)
    with pytest.raises(RateLimitedError) as err:
        limiter.hit("a", now_s=0.5)
    assert err.value.retry_after_s == pytest.approx(0.5)
    limiter.hit("b", now_s=0.5)  # another client has its own bucket
    limiter.hit("a", now_s=1.0)  # one token back after a second


def test_redis_buckets_are_shared_by_workers(redis_url):
    prefix = f"test:{uuid.uuid4().hex}:"
    workers = [
        RedisRateLimiter(redis.Redis.from_url(redis_url), 6, 3, prefix=prefix) for _ in range(2)
    ]
    workers[0].hit("key:app", now_s=0.0)
    workers[1].hit("key:app", now_s=0.0)
    workers[0].hit("key:app", now_s=0.0)
    with pytest.raises(RateLimitedError, match="more than 6 reports a minute") as err:
        workers[1].hit("key:app", now_s=0.0)
    assert 0 < err.value.retry_after_s <= 10.0  # 6 a minute: a token every 10 s
    workers[1].hit("key:other", now_s=0.0)
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl(prefix + "key:app") <= 31  # buckets expire once full again
    client.delete(prefix + "key:app", prefix + "key:other")


def test_redis_down_falls_back_to_memory(caplog):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, 60, 2)
    with caplog.at_level(logging.WARNING, logger="shancheng.api.ratelimit"):
        limiter.hit("a", now_s=0.0)
        limiter.hit("a", now_s=0.0)
        with pytest.raises(RateLimitedError):
            limiter.hit("a", now_s=0.0)
    assert [r.message for r in caplog.records if "Redis unreachable" in r.message]


def test_settings_choose_the_limiter():
    assert isinstance(limiter_from_settings(60, 20, None), RateLimiter)
    assert isinstance(limiter_from_settings(60, 20, "redis://127.0.0.1:6379/0"), RedisRateLimiter)


def test_two_servers_share_one_limit_through_redis(make_api, point, redis_url):
    """Two app instances (two workers) on one Redis: the third report of a client is refused."""
    client_name = f"li{uuid.uuid4().hex[:8]}"
    apis = [
        make_api(cases_rate_per_min=1, cases_rate_burst=2, cases_rate_redis_url=redis_url)
        for _ in range(2)
    ]
    headers = apis[0].user(client_name, Role.CITIZEN, "990100")
    codes = []
    for k, api in enumerate([apis[0], apis[1], apis[1]]):
        lon, lat = point(skip=10 * k)
        codes.append(
            api.client.post(
                "/cases", headers=headers, json={"category_code": "E0102", "lon": lon, "lat": lat}
            ).status_code
        )
    assert codes == [201, 201, 429]
    assert apis[0].count() == 2
    redis.Redis.from_url(redis_url).delete(f"shancheng:rate:user:{client_name}")


def test_async_and_sync_hits_share_the_redis_bucket(redis_url):
    """The event loop's hits (Open311 on PostgreSQL) and the threads' hits drain one bucket."""
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(redis.Redis.from_url(redis_url), 6, 3, prefix=prefix)

    async def hits(n):
        try:
            for _ in range(n):
                await limiter.ahit("key:app", now_s=0.0)
        finally:
            await limiter.aclose()

    run_loop(hits(2))
    limiter.hit("key:app", now_s=0.0)
    with pytest.raises(RateLimitedError, match="more than 6 reports a minute"):
        run_loop(hits(1))  # another loop: a client of its own
    redis.Redis.from_url(redis_url).delete(prefix + "key:app")


def test_async_hits_fall_back_to_memory_when_redis_is_down(caplog):
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = RedisRateLimiter(dead, 60, 2)

    async def three_hits():
        try:
            for _ in range(3):
                await limiter.ahit("a", now_s=0.0)
        finally:
            await limiter.aclose()

    with caplog.at_level(logging.WARNING, logger="shancheng.api.ratelimit"):
        with pytest.raises(RateLimitedError):
            run_loop(three_hits())
    assert [r.message for r in caplog.records if "Redis unreachable" in r.message]


def test_open311_posts_share_the_redis_limit_across_workers(make_api, point, redis_url):
    """Open311 posts (on the event loop on PostgreSQL) count in the same shared bucket."""
    apis = [
        make_api(cases_rate_per_min=1, cases_rate_burst=2, cases_rate_redis_url=redis_url)
        for _ in range(2)
    ]
    key = apis[0].api_key(f"app{uuid.uuid4().hex[:8]}")
    codes = []
    for k, api in enumerate([apis[0], apis[1], apis[1]]):
        lon, lat = point(skip=10 * k)
        codes.append(
            api.client.post(
                "/open311/requests.json",
                data={"api_key": key, "service_code": "E0102", "lat": lat, "long": lon},
            ).status_code
        )
    assert codes == [200, 200, 429]
    assert apis[0].count() == 2

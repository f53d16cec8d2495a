"""Bearer tokens: found on the event loop, remembered a few seconds, checked at every use.

A token found valid skips the database for ``ttl_s``; its expiry is still checked against the
request's clock each time, so an expired token is refused at once; a token dropped from the
cache (a logout or revocation in this process) is looked up again at once; an unknown token
or an inactive user's is never remembered. Through the API on SQLite and PostgreSQL, and on a
real uvicorn server whose concurrent requests share the PostgreSQL reader's group reads.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
import sqlalchemy as sa
from tests.servers import uvicorn_in_thread
from tests.unit.cases.conftest import run_loop

from shancheng.api.state import state_of
from shancheng.cases import accounts, tokens
from shancheng.cases.accounts import TokenOwner
from shancheng.cases.permissions import Actor, Role
from shancheng.errors import AuthenticationError
from shancheng.store.cases_tables import TokenRow, UserRow

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ALICE = Actor("alice", Role.CITIZEN, "")


class FakeReader:
    """A token table in memory that counts its lookups."""

    def __init__(self, owners):
        self.owners, self.lookups = owners, 0

    async def owner(self, digest):
        self.lookups += 1
        return self.owners.get(digest)

    async def close(self):
        pass


def _find(token, reader, cache, at=AT):
    return run_loop(tokens.actor_for(token, reader, cache, at=at))


def test_a_valid_token_is_looked_up_once_within_the_ttl():
    reader = FakeReader(
        {accounts.token_digest("t"): TokenOwner(ALICE, AT + timedelta(hours=1), True)}
    )
    cache = tokens.TokenCache(ttl_s=60)
    assert _find("t", reader, cache) == ALICE
    assert _find("t", reader, cache) == ALICE
    assert reader.lookups == 1


def test_a_cached_token_is_refused_once_expired():
    reader = FakeReader(
        {accounts.token_digest("t"): TokenOwner(ALICE, AT + timedelta(hours=1), True)}
    )
    cache = tokens.TokenCache(ttl_s=60)
    assert _find("t", reader, cache) == ALICE
    with pytest.raises(AuthenticationError, match="expired"):
        _find("t", reader, cache, at=AT + timedelta(hours=1))
    assert reader.lookups == 1  # refused by the cached expiry, without the database


def test_unknown_tokens_and_inactive_users_are_looked_up_every_time():
    digest = accounts.token_digest("gone")
    reader = FakeReader({digest: TokenOwner(ALICE, AT + timedelta(hours=1), active=False)})
    cache = tokens.TokenCache(ttl_s=60)
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="deactivated"):
            _find("gone", reader, cache)
        with pytest.raises(AuthenticationError, match="unknown token"):
            _find("forged", reader, cache)
    assert reader.lookups == 4


def test_forget_and_the_ttl_send_the_next_request_to_the_database():
    digest = accounts.token_digest("t")
    owner = TokenOwner(ALICE, AT + timedelta(hours=1), True)
    reader = FakeReader({digest: owner})
    cache = tokens.TokenCache(ttl_s=60)
    _find("t", reader, cache)
    cache.forget(digest)
    del reader.owners[digest]  # revoked: refused at once on this process
    with pytest.raises(AuthenticationError, match="unknown token"):
        _find("t", reader, cache)
    cache.put(digest, owner, now_s=100.0)
    assert cache.get(digest, now_s=104.9) == owner
    cache.ttl_s = 5.0
    assert cache.get(digest, now_s=105.0) is None  # stale after ttl_s
    cache.put(digest, owner, now_s=200.0)
    cache.forget_user("alice")
    assert cache.get(digest, now_s=200.0) is None


def test_the_cache_is_bounded():
    cache = tokens.TokenCache(max_tokens=3)
    owner = TokenOwner(ALICE, AT, True)
    for k in range(7):
        cache.put(str(k), owner, now_s=0.0)
    assert cache.get("6", now_s=0.0) == owner
    assert len(cache._tokens) <= 3


def _token_digest(headers):
    return accounts.token_digest(headers["Authorization"].removeprefix("Bearer "))


def test_through_the_api_a_revoked_token_works_until_forgotten_or_stale(api):
    headers = api.user("op", Role.DISPATCHER, "990100")
    assert api.client.get("/auth/me", headers=headers).status_code == 200
    with api.session() as s:
        s.execute(sa.delete(TokenRow))
        s.commit()
    # on this process the token was found valid less than ttl_s ago: still trusted...
    assert api.client.get("/auth/me", headers=headers).status_code == 200
    # ...until a logout or revocation made here drops it: refused at once
    state_of(api.app).token_cache.forget(_token_digest(headers))
    assert api.client.get("/auth/me", headers=headers).status_code == 401


def test_through_the_api_a_stale_entry_is_looked_up_again(api):
    headers = api.user("op", Role.DISPATCHER, "990100")
    assert api.client.get("/auth/me", headers=headers).status_code == 200
    with api.session() as s:
        s.execute(sa.update(UserRow).values(active=False))
        s.commit()
    state_of(api.app).token_cache.ttl_s = 0.0  # every entry stale at once
    answer = api.client.get("/auth/me", headers=headers)
    assert answer.status_code == 401
    assert "deactivated" in answer.json()["detail"][0]["msg"]


def test_through_the_api_an_expired_token_is_refused_at_once(api):
    headers = api.user("op", Role.DISPATCHER, "990100")
    assert api.client.get("/auth/me", headers=headers).status_code == 200  # now cached
    api.clock[0] += timedelta(hours=state_of(api.app).settings.cases_token_ttl_h)
    answer = api.client.get("/auth/me", headers=headers)
    assert answer.status_code == 401
    assert "expired" in answer.json()["detail"][0]["msg"]


@pytest.mark.services
def test_a_real_server_answers_concurrent_users_from_grouped_lookups(api):
    users = [api.user(f"u{k}", Role.DISPATCHER, "990100") for k in range(12)]
    state = state_of(api.app)
    if state.settings.resolved_database_url.startswith("sqlite"):
        assert isinstance(state.tokens, tokens.ThreadedTokenReader)
    else:
        assert isinstance(state.tokens, tokens.PostgresTokenReader)
    state.token_cache.ttl_s = 0.0  # every request goes to the reader

    async def everyone(url):
        async with httpx2.AsyncClient(base_url=url) as client:
            calls = [client.get("/auth/me", headers=h) for h in users for _ in range(3)]
            calls.append(client.get("/auth/me", headers={"Authorization": "Bearer forged"}))
            return await asyncio.gather(*calls)

    with uvicorn_in_thread(api.app) as url:
        answers = run_loop(everyone(url))
    assert [a.json()["username"] for a in answers[:-1]] == [
        f"u{k}" for k in range(12) for _ in range(3)
    ]
    assert answers[-1].status_code == 401

"""The API-key cache: a valid key skips the lookup for a few seconds; bad keys never cached."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from shancheng.cases import accounts
from shancheng.errors import AuthenticationError
from shancheng.store.cases_tables import ApiKeyRow


def test_valid_keys_are_cached_forged_ones_are_not(session, admin):
    key = accounts.create_api_key(session, "app", actor=admin, at=datetime.now(UTC))
    queries = []
    event.listen(session.get_bind(), "before_cursor_execute", lambda *a: queries.append(a[2]))
    cache = accounts.ApiKeyCache(ttl_s=60)
    assert accounts.client_for_api_key(session, key, cache=cache) == "app"
    assert accounts.client_for_api_key(session, key, cache=cache) == "app"
    assert len(queries) == 1  # the second check was answered from the cache
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="not valid"):
            accounts.client_for_api_key(session, key + "x", cache=cache)
    assert len(queries) == 3  # a forged key is looked up every time
    # revoking shows at once without the cache, and after ttl_s with it
    session.execute(sa.update(ApiKeyRow).values(active=False))
    session.commit()
    session.expire_all()
    assert accounts.client_for_api_key(session, key, cache=cache) == "app"
    with pytest.raises(AuthenticationError):
        accounts.client_for_api_key(session, key, cache=accounts.ApiKeyCache(ttl_s=0))
    with pytest.raises(AuthenticationError):
        accounts.client_for_api_key(session, key)

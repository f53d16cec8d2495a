"""Property-based API testing: schemathesis generates requests from the OpenAPI schema.

Every operation, with and without a valid token, on SQLite and PostgreSQL; no answer may be a
server error (5xx). Bounded: a few generated cases per operation.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shancheng.api.state import state_of
from shancheng.cases.permissions import Role

pytestmark = [pytest.mark.services, pytest.mark.slow]
EXAMPLES_PER_OPERATION = 15


def test_no_server_errors(api):
    headers = api.user("admin1", Role.ADMIN, "990100")
    state_of(api.app).classifier()  # train it before the clock of the first request starts
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            for auth in (None, _own_token(api) if case.path == "/auth/token" else headers):
                response = case.call(headers=auth)
                assert response.status_code < 500, (
                    case.method,
                    case.formatted_path,
                    response.status_code,
                    response.text[:300],
                )

        check()
        checked.append(operation.label)
    assert len(checked) >= 15, checked
    assert api.client.get("/auth/me", headers=headers).status_code == 200  # used to the end


def _own_token(api):
    """A token of its own for a logout (``DELETE /auth/token`` revokes the token it is sent).

    Made without HTTP: the generated logins have throttled the test client's address by then.
    """
    from shancheng.cases import accounts

    with api.session() as s:
        token = accounts.login(s, "admin1", "correct horse battery", at=api.clock[0], ttl_h=8)
    return {"Authorization": f"Bearer {token}"}

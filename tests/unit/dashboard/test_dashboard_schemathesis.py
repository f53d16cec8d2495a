"""Property-based testing of the dashboard routers: no generated request may cause a 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from shancheng.cases.permissions import Role

pytestmark = [pytest.mark.slow]
EXAMPLES_PER_OPERATION = 12
PREFIXES = ("/city", "/circles", "/lifelines", "/targets", "/cases/public")


def test_no_server_errors_on_dashboard_routes(dash):
    headers = dash.user("admin1", Role.ADMIN, "990100")
    schema = schemathesis.openapi.from_asgi("/openapi.json", dash.app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith(PREFIXES):
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case):
            for auth in (None, headers):
                response = case.call(headers=auth)
                assert response.status_code < 500, (
                    case.method,
                    case.formatted_path,
                    case.query,
                    response.status_code,
                    response.text[:300],
                )

        check()
        checked.append(operation.label)
    assert len(checked) >= 18, checked

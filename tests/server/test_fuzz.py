"""A property-based fuzz of the API from its OpenAPI schema (schemathesis): no answer is a 5xx."""

from __future__ import annotations

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from econsim.server.app import Settings, create_app  # noqa: E402
from econsim.server.jobs import Limits  # noqa: E402

pytestmark = pytest.mark.slow  # a minute or more on this machine: run with `pytest -m slow`

# a small work limit: the fuzz may post valid configurations, which must not run for long
app = create_app(Settings(data_dir=tempfile.mkdtemp(prefix="econsim-fuzz-"), limits=Limits(max_work=20_000)))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

"""Schemathesis, every check, over the whole OpenAPI document, as each role, against a live daphne:
a bounded run in the suite (scripts/schema-fuzz is the long one). A failure prints what
schemathesis printed, with the `curl` that reproduces each case."""

import os

import pytest

from tests.schema.fuzz import ROLES, live_server, run_role, seed
from tests.tracking.live import database_url

pytestmark = [pytest.mark.integration, pytest.mark.live_server, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("ORDERFLOW_SCHEMATHESIS_EXAMPLES", "8"))
SEED = int(os.environ.get("ORDERFLOW_SCHEMATHESIS_SEED", "20261130"))
MAX_SECONDS_PER_ROLE = 40


def test_every_role_finds_the_schema_true():
    seed()
    server, redis_server = live_server(database_url())
    try:
        results = [
            run_role(server, role, examples=EXAMPLES, seed=SEED, max_time=MAX_SECONDS_PER_ROLE) for role in ROLES
        ]
    finally:
        server.stop()
        redis_server.stop()

    failed = [result for result in results if not result.passed]
    assert not failed, "\n\n".join(result.summary() + "\n" + result.output for result in failed)
    assert all(result.cases > 0 for result in results), [result.summary() for result in results]

"""PostgreSQL out of reach is answered 503 problem+json with Retry-After, from whichever layer
met it: a view (DRF's exception handler) or a middleware (handler500). Other failures stay 500."""

import json

from django.db import InterfaceError, OperationalError

from core.errors import DATABASE_RETRY_AFTER_SECONDS, problem_exception_handler
from core.views import server_error


def test_a_view_that_cannot_reach_the_database_answers_503_with_retry_after():
    for error in (OperationalError("connection refused"), InterfaceError("connection already closed")):
        response = problem_exception_handler(error, {})
        assert response.status_code == 503
        assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
        assert response.data["code"] == "database_unavailable" and response.data["status"] == 503


def test_handler500_answers_503_when_the_database_failed_in_a_middleware(rf):
    for accept in ("application/json", "text/html"):
        try:
            raise OperationalError("the database system is shutting down")
        except OperationalError:
            response = server_error(rf.get("/api/orders/", HTTP_ACCEPT=accept))
        assert response.status_code == 503
        assert response["Content-Type"] == "application/problem+json"
        assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
        assert json.loads(response.content)["code"] == "database_unavailable"


def test_any_other_failure_is_still_a_500(rf):
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = server_error(rf.get("/api/orders/", HTTP_ACCEPT="application/json"))
    assert response.status_code == 500 and json.loads(response.content)["code"] == "server_error"

"""Page-mode counts of long lists (core.pagination.LongListPaginator): exact up to EXACT_UP_TO,
read with a LIMIT so that a year of orders is never counted row by row, and PostgreSQL's estimate
(never less than what was counted) above; a list the planner expects to be long is counted only as
far as one page and one row."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import pagination
from core.pagination import LongListPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(LongListPaginator, "EXACT_UP_TO", 5)


def users(count: int):
    model = get_user_model()
    model.objects.bulk_create([model(username=f"long-list-{n}") for n in range(count)])
    return model.objects.filter(username__startswith="long-list-").order_by("pk")


@pytest.fixture
def planner_expects(monkeypatch):
    """Stands in for PostgreSQL's estimate of the list's length."""

    def expect(rows: int | None) -> None:
        monkeypatch.setattr(pagination, "planner_estimate", lambda queryset: rows)

    return expect


def test_a_list_the_planner_expects_to_be_short_is_counted_up_to_the_limit(small_limit, planner_expects):
    planner_expects(3)
    listed = users(9)

    with CaptureQueriesContext(connection) as captured:
        assert LongListPaginator(listed, 2).count == 6  # counted to the limit; more than expected
    assert "LIMIT 6" in captured.captured_queries[0]["sql"]


def test_a_list_the_planner_expects_to_be_long_is_counted_one_page_and_one_row(small_limit, planner_expects):
    planner_expects(500)
    listed = users(9)
    with CaptureQueriesContext(connection) as captured:
        assert LongListPaginator(listed, 2).count == 500
    assert "LIMIT 3" in captured.captured_queries[0]["sql"]


def test_a_list_the_planner_took_for_long_but_shorter_than_a_page_is_counted_exactly(small_limit, planner_expects):
    planner_expects(500)
    assert LongListPaginator(users(4), 10).count == 4


def test_a_list_within_the_limit_is_counted_exactly(small_limit):
    listed = users(4)

    with CaptureQueriesContext(connection) as captured:
        assert LongListPaginator(listed, 2).count == 4
    counts = [query["sql"] for query in captured.captured_queries if "COUNT" in query["sql"]]
    assert "LIMIT 6" in counts[0] or "LIMIT 3" in counts[0]


def test_a_longer_list_is_counted_no_further_than_the_limit_and_then_estimated(small_limit):
    listed = users(9)

    with CaptureQueriesContext(connection) as captured:
        count = LongListPaginator(listed, 2).count

    assert count >= 3  # what was counted, or the planner's estimate if that is more
    if connection.vendor == "postgresql":
        assert captured.captured_queries[0]["sql"].startswith("EXPLAIN")
    assert LongListPaginator(listed, 2).page(1).object_list[0].username == "long-list-0"


def test_a_list_that_is_not_a_queryset_is_counted_as_it_is(small_limit):
    assert LongListPaginator(list(range(12)), 5).count == 12

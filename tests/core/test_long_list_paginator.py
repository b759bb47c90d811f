"""Page-mode counts of long lists (core.pagination.LongListPaginator): exact up to EXACT_UP_TO,
read with a LIMIT so that a year of orders is never counted row by row, and PostgreSQL's estimate
(never less than what was counted) above."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.pagination import LongListPaginator

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_limit(monkeypatch):
    monkeypatch.setattr(LongListPaginator, "EXACT_UP_TO", 5)


def users(count: int):
    model = get_user_model()
    model.objects.bulk_create([model(username=f"long-list-{n}") for n in range(count)])
    return model.objects.filter(username__startswith="long-list-").order_by("pk")


def test_a_list_within_the_limit_is_counted_exactly(small_limit):
    listed = users(4)

    with CaptureQueriesContext(connection) as captured:
        assert LongListPaginator(listed, 2).count == 4
    assert "LIMIT 6" in captured.captured_queries[0]["sql"]


def test_a_longer_list_is_counted_no_further_than_the_limit_and_then_estimated(small_limit):
    listed = users(9)

    with CaptureQueriesContext(connection) as captured:
        count = LongListPaginator(listed, 2).count

    assert count >= 6  # what was counted, or the planner's estimate if that is more
    assert "LIMIT 6" in captured.captured_queries[0]["sql"]
    if connection.vendor == "postgresql":
        assert captured.captured_queries[1]["sql"].startswith("EXPLAIN")
    assert LongListPaginator(listed, 2).page(1).object_list[0].username == "long-list-0"


def test_a_list_that_is_not_a_queryset_is_counted_as_it_is(small_limit):
    assert LongListPaginator(list(range(12)), 5).count == 12

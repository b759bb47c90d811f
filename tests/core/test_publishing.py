"""Queuing a task by name from a process that has not imported its module yet (a web process)."""

import sys

import pytest
from celery import current_app

from core.models import IdempotencyRecord
from core.publishing import enqueue

TASK = "core.tasks.idempotency_purge_expired_task"


@pytest.fixture
def task_module_not_imported(monkeypatch):
    registry = current_app.tasks
    if TASK in registry:
        monkeypatch.delitem(registry, TASK)
    monkeypatch.delitem(sys.modules, "core.tasks", raising=False)


@pytest.mark.django_db
def test_a_task_is_found_by_name_before_anything_imported_its_module(task_module_not_imported, customer):
    IdempotencyRecord.objects.create(
        user=customer, key="k", method="POST", path="/", body_hash="x", created_at="2000-01-01T00:00:00Z"
    )

    enqueue(TASK)

    assert TASK in current_app.tasks
    assert not IdempotencyRecord.objects.exists()  # the task ran (eagerly, under the test settings)

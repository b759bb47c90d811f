from datetime import timedelta

import pytest
from django.contrib.admin.sites import AdminSite
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.utils import timezone

from core.actors import Actor
from core.errors import Conflict
from orders.models import EventType, OrderStatus, PaymentStatus, RefundStatus, TrackingEvent
from orders.services.transitions import order_cancel
from payments import providers
from payments.admin import RefundAdmin
from payments.models import Refund, RefundRecordStatus, SimulatedProviderOperation
from payments.providers import ProviderError, ProviderResult, SimulatedProvider
from payments.services import RefundRetryLater, refund_process, refund_retry, refunds_requeue_stale
from payments.tasks import refund_process_task
from tests.factories import move, place_order

pytestmark = pytest.mark.django_db


class ScriptedProvider:
    """The provider's network is outside the system: this one answers from a script."""

    name = "scripted"

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def refund(self, *, payment_reference, amount, currency, idempotency_key):
        self.calls.append(idempotency_key)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return ProviderResult(reference=answer)


@pytest.fixture
def provider(monkeypatch):
    def install(*answers):
        scripted = ScriptedProvider(*answers)
        monkeypatch.setattr("payments.services.get_provider", lambda: scripted)
        return scripted

    return install


def refund_states(order):
    events = TrackingEvent.objects.filter(order=order, event_type=EventType.REFUND_UPDATED).order_by("sequence")
    return [event.metadata["refund_status"] for event in events]


@pytest.fixture
def cancelled_paid(customer, menu, actors):
    order = place_order(customer, menu["salad"], quantity=2, paid=True)
    order_cancel(order_id=order.pk, actor=actors["customer"], reason="Changed my mind")
    return order


def test_cancelling_a_paid_order_queues_its_refund_after_commit(
    customer, menu, actors, django_capture_on_commit_callbacks
):
    order = place_order(customer, menu["salad"], quantity=2, paid=True)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_cancel(order_id=order.pk, actor=actors["customer"], reason="Changed my mind")

    assert callbacks, "the refund task is sent only once the cancellation has committed"
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUND_COMPLETED
    assert (order.payment_status, order.refund_status) == (PaymentStatus.REFUNDED, RefundStatus.COMPLETED)
    refund = Refund.objects.get(order=order)
    assert refund.status == RefundRecordStatus.COMPLETED and refund.completed_at is not None
    assert refund.provider_reference.startswith("sim_re_")
    assert refund_states(order) == ["PENDING", "PROCESSING", "COMPLETED"]
    book = SimulatedProviderOperation.objects.get(reference=refund.provider_reference)
    assert (book.kind, book.amount, book.source_reference) == ("refund", order.total, f"sim_ch_{order.pk.hex}")


def test_a_rolled_back_cancellation_sends_no_refund_task(customer, menu, actors, django_capture_on_commit_callbacks):
    from django.db import transaction

    order = place_order(customer, menu["salad"], quantity=2, paid=True)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():  # noqa: PT012 -- raises to roll back
            order_cancel(order_id=order.pk, actor=actors["customer"], reason="oops")
            raise RuntimeError

    assert callbacks == []
    assert not Refund.objects.exists()


def test_a_cash_order_gets_no_refund(customer, menu, actors):
    order = place_order(customer, menu["salad"], quantity=2, payment_method="cod")

    order_cancel(order_id=order.pk, actor=actors["customer"])

    order.refresh_from_db()
    assert order.refund_status == RefundStatus.NONE
    assert not Refund.objects.exists()


def test_a_rejected_paid_order_is_refunded_too(customer, menu, actors, provider):
    order = place_order(customer, menu["salad"], quantity=2, paid=True)
    move(order, OrderStatus.RESTAURANT_REJECTED, actor=actors["restaurant"], reason="Out of dough")
    provider("sim_re_1")

    refund_process(refund_id=Refund.objects.get(order=order).pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.REFUND_COMPLETED


def test_processing_twice_pays_once(cancelled_paid, provider):
    scripted = provider("sim_re_first", "sim_re_second")
    refund = Refund.objects.get(order=cancelled_paid)

    first = refund_process_task(str(refund.pk))
    second = refund_process_task(str(refund.pk))

    assert first == second == RefundRecordStatus.COMPLETED
    assert len(scripted.calls) == 1
    refund.refresh_from_db()
    assert refund.provider_reference == "sim_re_first" and refund.attempts == 1
    assert refund_states(cancelled_paid) == ["PENDING", "PROCESSING", "COMPLETED"]
    assert TrackingEvent.objects.filter(order=cancelled_paid, to_status=OrderStatus.REFUND_COMPLETED).count() == 1


def test_a_provider_that_fails_then_succeeds_completes_the_refund_with_one_key(cancelled_paid, provider):
    scripted = provider(ProviderError("timeout", transient=True), ProviderError("503", transient=True), "sim_re_ok")
    refund = Refund.objects.get(order=cancelled_paid)

    for _ in range(2):
        with pytest.raises(RefundRetryLater):
            refund_process(refund_id=refund.pk)
        refund.refresh_from_db()
        assert refund.status == RefundRecordStatus.PROCESSING
    refund_process(refund_id=refund.pk)

    refund.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == (RefundRecordStatus.COMPLETED, 3, "")
    assert len(set(scripted.calls)) == 1, "every attempt uses the refund's one idempotency key"
    assert refund_states(cancelled_paid) == ["PENDING", "PROCESSING", "COMPLETED"]


def test_the_task_retries_a_transient_failure_with_backoff(cancelled_paid, provider, monkeypatch):
    provider(ProviderError("timeout", transient=True))
    retried = {}

    def fake_retry(**options):
        retried.update(options)
        raise RuntimeError("retry scheduled")

    monkeypatch.setattr(refund_process_task, "retry", fake_retry)
    with pytest.raises(RuntimeError, match="retry scheduled"):
        refund_process_task.run(str(Refund.objects.get(order=cancelled_paid).pk))

    assert isinstance(retried["exc"], RefundRetryLater)
    assert retried["countdown"] >= 0
    assert refund_process_task.retry_jitter is True and refund_process_task.retry_backoff == 2


def test_a_refund_that_keeps_failing_is_marked_failed_for_a_person(cancelled_paid, provider, settings):
    settings.ORDERFLOW_REFUND_MAX_ATTEMPTS = 3
    provider(*[ProviderError("bank unavailable", transient=True)] * 3)
    refund = Refund.objects.get(order=cancelled_paid)

    for _ in range(2):
        with pytest.raises(RefundRetryLater):
            refund_process(refund_id=refund.pk)
    refund_process(refund_id=refund.pk)

    refund.refresh_from_db()
    cancelled_paid.refresh_from_db()
    assert (refund.status, refund.attempts, refund.last_error) == (RefundRecordStatus.FAILED, 3, "bank unavailable")
    assert cancelled_paid.status == OrderStatus.CANCELLED
    assert (cancelled_paid.refund_status, cancelled_paid.payment_status) == (RefundStatus.FAILED, PaymentStatus.PAID)
    assert refund_states(cancelled_paid) == ["PENDING", "PROCESSING", "FAILED"]
    # Further deliveries of the task leave a failed refund to a person.
    assert refund_process(refund_id=refund.pk).status == RefundRecordStatus.FAILED


def test_a_permanent_failure_is_failed_at_once(cancelled_paid, provider):
    provider(ProviderError("charge not found", transient=False))
    refund = Refund.objects.get(order=cancelled_paid)

    assert refund_process(refund_id=refund.pk).status == RefundRecordStatus.FAILED
    assert refund_states(cancelled_paid) == ["PENDING", "PROCESSING", "FAILED"]


def test_a_person_retries_a_failed_refund_from_the_admin(
    cancelled_paid, provider, admin_user, django_capture_on_commit_callbacks
):
    provider(ProviderError("charge not found", transient=False), "sim_re_after_retry")
    refund = Refund.objects.get(order=cancelled_paid)
    refund_process(refund_id=refund.pk)
    request = RequestFactory().post("/admin/payments/refund/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)

    with django_capture_on_commit_callbacks(execute=True):
        RefundAdmin(Refund, AdminSite()).retry_refunds(request, Refund.objects.filter(pk=refund.pk))

    refund.refresh_from_db()
    cancelled_paid.refresh_from_db()
    assert refund.status == RefundRecordStatus.COMPLETED
    assert cancelled_paid.status == OrderStatus.REFUND_COMPLETED
    assert refund_states(cancelled_paid) == ["PENDING", "PROCESSING", "FAILED", "PENDING", "PROCESSING", "COMPLETED"]
    retried = TrackingEvent.objects.get(order=cancelled_paid, reason="retried")
    assert (retried.actor_role, retried.actor_user) == ("admin", admin_user)


def test_only_a_failed_refund_can_be_retried(cancelled_paid, admin_user):
    refund = Refund.objects.get(order=cancelled_paid)

    with pytest.raises(Conflict) as refused:
        refund_retry(refund_id=refund.pk, actor=Actor.admin(admin_user))

    assert refused.value.code == "refund_not_failed"


def test_a_refund_whose_task_was_lost_is_queued_again(cancelled_paid, settings, django_capture_on_commit_callbacks):
    settings.ORDERFLOW_REFUND_STALE_PENDING_SECONDS = 60
    refund = Refund.objects.get(order=cancelled_paid)

    assert refunds_requeue_stale(now=timezone.now() + timedelta(seconds=30)).pending == []
    stale = refunds_requeue_stale(now=timezone.now() + timedelta(seconds=61))

    assert stale.pending == [refund.pk]
    refund.refresh_from_db()
    assert refund.status == RefundRecordStatus.COMPLETED


def test_a_refund_stuck_in_processing_is_picked_up_after_the_longer_wait(cancelled_paid, provider, settings):
    settings.ORDERFLOW_REFUND_STALE_PROCESSING_SECONDS = 900
    provider(ProviderError("timeout", transient=True), "sim_re_late")
    refund = Refund.objects.get(order=cancelled_paid)
    with pytest.raises(RefundRetryLater):
        refund_process(refund_id=refund.pk)

    assert refunds_requeue_stale(now=timezone.now() + timedelta(seconds=600)).processing == []
    assert refunds_requeue_stale(now=timezone.now() + timedelta(seconds=901)).processing == [refund.pk]
    refund.refresh_from_db()
    assert refund.status == RefundRecordStatus.COMPLETED


class TestSimulatedProvider:
    def test_the_same_key_moves_money_once_and_counts_every_call(self):
        provider = SimulatedProvider(latency_seconds=0, failure_rate=0)

        first = provider.refund(payment_reference="sim_ch_1", amount="10.00", currency="USD", idempotency_key="k1")
        again = provider.refund(payment_reference="sim_ch_1", amount="10.00", currency="USD", idempotency_key="k1")
        other = provider.refund(payment_reference="sim_ch_1", amount="10.00", currency="USD", idempotency_key="k2")

        assert first == again != other
        assert first.reference.startswith("sim_re_")
        book = SimulatedProviderOperation.objects.get(idempotency_key="k1")
        assert book.calls == 2
        assert SimulatedProviderOperation.objects.count() == 2

    def test_failures_are_transient_and_move_no_money(self):
        provider = SimulatedProvider(latency_seconds=0, failure_rate=1.0)

        with pytest.raises(ProviderError) as failed:
            provider.charge(amount="5.00", currency="USD", idempotency_key="c1")

        assert failed.value.transient is True
        assert not SimulatedProviderOperation.objects.exists()

    def test_charges_have_their_own_references(self):
        result = SimulatedProvider(latency_seconds=0, failure_rate=0).charge(
            amount="5.00", currency="USD", idempotency_key="c1"
        )

        assert result.reference.startswith("sim_ch_")

    @pytest.mark.parametrize("amount", ["0", "-1.00"])
    def test_nothing_is_refunded_without_a_charge_or_a_positive_amount(self, amount):
        provider = SimulatedProvider(latency_seconds=0, failure_rate=0)

        with pytest.raises(ProviderError) as no_charge:
            provider.refund(payment_reference="", amount="1.00", currency="USD", idempotency_key="r1")
        with pytest.raises(ProviderError) as bad_amount:
            provider.refund(payment_reference="sim_ch_1", amount=amount, currency="USD", idempotency_key="r2")

        assert no_charge.value.transient is bad_amount.value.transient is False

    def test_a_key_reused_for_another_amount_is_refused(self):
        provider = SimulatedProvider(latency_seconds=0, failure_rate=0)
        provider.refund(payment_reference="sim_ch_1", amount="10.00", currency="USD", idempotency_key="k1")

        with pytest.raises(ProviderError):
            provider.refund(payment_reference="sim_ch_1", amount="99.00", currency="USD", idempotency_key="k1")

    def test_the_provider_is_chosen_by_setting(self, settings):
        settings.ORDERFLOW_PAYMENT_PROVIDER = "simulated"
        settings.ORDERFLOW_SIMULATED_PROVIDER_FAILURE_RATE = 0.25
        assert providers.get_provider().failure_rate == 0.25

        settings.ORDERFLOW_PAYMENT_PROVIDER = "tests.payments.test_refunds.ScriptedProvider"
        assert isinstance(providers.get_provider(), ScriptedProvider)


def test_an_unreachable_broker_does_not_undo_the_cancellation(
    customer, menu, actors, monkeypatch, django_capture_on_commit_callbacks
):
    order = place_order(customer, menu["salad"], quantity=2, paid=True)

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(refund_process_task, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(order_id=order.pk, actor=actors["customer"], reason="Changed my mind")

    order.refresh_from_db()
    assert (order.status, order.refund_status) == (OrderStatus.CANCELLED, RefundStatus.PENDING)
    monkeypatch.undo()
    refunds_requeue_stale(now=timezone.now() + timedelta(minutes=5))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUND_COMPLETED

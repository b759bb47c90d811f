"""The operator's view: webhooks and their delivery log, the notification outbox, and what is stuck.

Platform operators (superusers) only. Every button calls a service: nothing here edits a
delivery, a message, an order or a refund by hand.
"""

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Q
from django.utils import timezone

from core.actors import Actor
from core.errors import ApplicationError
from notifications.http import DeliveryRefused, url_check
from notifications.models import (
    EndpointState,
    Notification,
    NotificationPreference,
    NotificationState,
    OverdueOrder,
    RefundNeedingAttention,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from notifications.services import notification_preference_update, notification_retry
from notifications.webhook_endpoints import (
    webhook_delivery_resend,
    webhook_endpoint_disable,
    webhook_endpoint_enable,
    webhook_endpoint_replay,
    webhook_endpoint_send_test,
)
from orders.models import EventType
from orders.services.deadlines import order_enforce_deadline
from payments.models import RefundRecordStatus
from payments.services import refund_retry

MASK = "••••••"
PREFERENCE_FIELDS = ("email_enabled", "sms_enabled", "phone", "milestones")


class OperatorOnly:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class WrittenBySystem:
    """Rows only the system writes: never added or deleted here, and no change page (the list
    stays open to the operator for its actions)."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and obj is None


def service_action(description: str, call, done: str):
    """An admin action calling `call(pk, actor)` (a service) for each selected row, as `_each` does."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset):
        modeladmin._each(request, queryset.values_list("pk", flat=True), call, done)

    return action


if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class ServiceActionsMixin(_AdminBase):
    def _each(self, request, ids, call, done: str) -> None:
        actor = Actor.admin(request.user)
        succeeded = 0
        for pk in ids:
            try:
                call(pk, actor)
                succeeded += 1
            except ApplicationError as exc:
                self.message_user(request, f"{pk}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"{succeeded} {done}.")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "restaurant", "event_types", "secret", "previous_secret"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            url_check(url, allow_private=settings.ORDERFLOW_WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
        except DeliveryRefused as exc:
            raise forms.ValidationError(f"This URL cannot be called: {exc}.") from None
        return url


class FailingFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("failing", "Failing or paused"), ("paused", "Paused by the breaker"), ("disabled", "Disabled")]

    def queryset(self, request, queryset):
        if self.value() == "failing":
            return queryset.filter(Q(consecutive_failures__gt=0) | Q(state=EndpointState.PAUSED))
        if self.value() in ("paused", "disabled"):
            return queryset.filter(state=self.value())
        return queryset


class ReplayRangeForm(ActionForm):
    """The time range of "Replay events", beside the action menu (ignored by the other actions)."""

    since = forms.DateTimeField(required=False, help_text="Replay from (UTC)")
    until = forms.DateTimeField(required=False, help_text="up to (UTC)")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OperatorOnly, ServiceActionsMixin, admin.ModelAdmin):
    form = WebhookEndpointForm
    action_form = ReplayRangeForm
    list_display = ("name", "url", "restaurant", "state", "consecutive_failures", "failing_since", "paused_reason")
    list_filter = (FailingFilter, "state")
    search_fields = ("name", "url")
    readonly_fields = ("state", "consecutive_failures", "failing_since", "paused_at", "paused_reason", "created_at")
    actions = ["enable", "disable", "send_test_event", "replay_events"]

    enable = service_action(
        "Enable (close the breaker): pending events go out in order",
        lambda pk, actor: webhook_endpoint_enable(endpoint_id=pk, actor=actor),
        "endpoint(s) enabled",
    )

    disable = service_action(
        "Disable: record nothing more for them",
        lambda pk, actor: webhook_endpoint_disable(endpoint_id=pk, actor=actor),
        "endpoint(s) disabled",
    )

    send_test_event = service_action(
        "Send a test event",
        lambda pk, actor: webhook_endpoint_send_test(endpoint_id=pk, actor=actor),
        "test event(s) queued",
    )

    @admin.action(description="Replay events: send again every event from 'since' up to 'until'")
    def replay_events(self, request, queryset):
        form = ReplayRangeForm(request.POST)
        if not form.is_valid() or not form.cleaned_data["since"] or not form.cleaned_data["until"]:
            self.message_user(request, "Give the range to replay: since and until.", messages.ERROR)
            return
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        self._each(
            request,
            queryset.values_list("pk", flat=True),
            lambda pk, actor: webhook_endpoint_replay(endpoint_id=pk, since=since, until=until, actor=actor),
            "endpoint(s) had their events queued again",
        )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "attempted_at", "outcome", "status_code", "latency_ms", "error", "response_excerpt")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OperatorOnly, WrittenBySystem, ServiceActionsMixin, admin.ModelAdmin):
    """The delivery log: one row per event and endpoint, its attempts inline."""

    list_display = (
        "event_type",
        "order",
        "sequence",
        "endpoint",
        "state",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("state", "endpoint", "event_type")
    list_select_related = ("endpoint", "order")
    search_fields = ("order__number", "event_id")
    readonly_fields = [field.name for field in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    resend = service_action(
        "Resend the selected deliveries (same event id)",
        lambda pk, actor: webhook_delivery_resend(delivery_id=pk, actor=actor),
        "delivery(ies) queued again",
    )


@admin.register(Notification)
class NotificationAdmin(OperatorOnly, WrittenBySystem, ServiceActionsMixin, admin.ModelAdmin):
    """The outbox. Handoff codes are never stored; the placeholder shows as a mask."""

    list_display = ("created_at", "kind", "channel", "recipient", "order", "state", "attempts", "last_error")
    list_filter = ("state", "kind", "channel")
    list_select_related = ("order",)
    search_fields = ("order__number", "recipient")
    fields = (
        "kind",
        "channel",
        "recipient",
        "user",
        "order",
        "subject",
        "masked_body",
        "state",
        "attempts",
        "next_attempt_at",
        "last_error",
        "provider_reference",
        "created_at",
        "sent_at",
    )
    readonly_fields = fields
    actions = ["retry"]

    @admin.display(description="body")
    def masked_body(self, notification: Notification) -> str:
        return notification.body.replace(Notification.CODE_PLACEHOLDER, MASK)

    @admin.action(description="Retry the selected failed notifications")
    def retry(self, request, queryset):
        ids = queryset.filter(state=NotificationState.FAILED).values_list("pk", flat=True)
        self._each(
            request,
            ids,
            lambda pk, actor: notification_retry(notification_id=pk, actor=actor),
            "notification(s) queued again",
        )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(OperatorOnly, admin.ModelAdmin):
    list_display = ("user", "email_enabled", "sms_enabled", "phone", "phone_verified_at", "milestones")
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("phone_verified_at",)

    def save_model(self, request, obj, form, change):
        # Through the service, as the API: a new number is not verified.
        changes = {name: form.cleaned_data[name] for name in PREFERENCE_FIELDS if name in form.changed_data}
        saved = notification_preference_update(user=obj.user, changes=changes)
        obj.pk = saved.pk


@admin.register(OverdueOrder)
class OverdueOrderAdmin(OperatorOnly, WrittenBySystem, ServiceActionsMixin, admin.ModelAdmin):
    """Orders whose deadline passed and that no sweep has carried out: the sweep is behind, or stuck."""

    list_display = ("number", "restaurant", "status", "deadline_kind", "deadline_at", "overdue_by")
    list_filter = ("deadline_kind", "status")
    list_select_related = ("restaurant",)
    search_fields = ("number",)
    fields = ("number", "restaurant", "status", "deadline_kind", "deadline_at", "updated_at")
    readonly_fields = fields
    actions = ["enforce"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deadline_at__lte=timezone.now()).order_by("deadline_at")

    @admin.display(description="overdue by")
    def overdue_by(self, order) -> str:
        return str(timezone.now() - order.deadline_at).split(".")[0]

    enforce = service_action(
        "Carry out their deadline now",
        lambda pk, actor: order_enforce_deadline(order_id=pk),
        "order(s) handled",
    )


@admin.register(RefundNeedingAttention)
class RefundNeedingAttentionAdmin(OperatorOnly, WrittenBySystem, ServiceActionsMixin, admin.ModelAdmin):
    """Refunds FAILED, or PROCESSING for longer than ORDERFLOW_REFUND_STUCK_SECONDS."""

    list_display = ("order", "amount", "currency", "status", "attempts", "last_error", "updated_at")
    list_filter = ("status",)
    list_select_related = ("order",)
    search_fields = ("order__number",)
    fields = (
        "order",
        "amount",
        "currency",
        "status",
        "attempts",
        "last_error",
        "provider_reference",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["retry"]

    def get_queryset(self, request):
        stuck_before = timezone.now() - timedelta(seconds=settings.ORDERFLOW_REFUND_STUCK_SECONDS)
        return (
            super()
            .get_queryset(request)
            .filter(
                Q(status=RefundRecordStatus.FAILED)
                | Q(status=RefundRecordStatus.PROCESSING, updated_at__lte=stuck_before)
            )
        )

    @admin.action(description="Retry the selected refunds")
    def retry(self, request, queryset):
        from payments.tasks import refund_process_task

        def retry_one(pk, actor):
            refund = queryset.model.objects.get(pk=pk)
            if refund.status == RefundRecordStatus.FAILED:
                refund_retry(refund_id=pk, actor=actor)
            else:
                # Stuck while processing: run it again (the provider's idempotency key pays once).
                refund_process_task.delay(str(pk))

        self._each(request, queryset.values_list("pk", flat=True), retry_one, "refund(s) sent round again")

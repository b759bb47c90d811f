"""The restaurant staff's order queue in the admin.

Which orders a user sees is `orders.visibility.orders_visible_to`, the same rule as the API;
orders are read-only and every status change is an admin action calling
`orders.services.transitions`, so the transition table, the row lock and the tracking event
apply exactly as elsewhere; nobody edits an order's fields. It lives in `restaurants` (above
`orders`, `delivery` and `payments`) because it shows payments and handoff codes; `admin.py`
registers it.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.debug import sensitive_post_parameters

from core.actors import Actor
from core.admin import EstimatedCountPaginator, ReadOnlyAdminMixin
from core.errors import ApplicationError
from core.throttling import client_address, code_attempt
from delivery.handoff import OTP_DIGITS, otp_reveal
from orders.lifecycle import ACTIVE_STATUSES, next_statuses_for
from orders.models import DeliveryType, EventType, HandoffPurpose, Order, OrderItem, OrderStatus, TrackingEvent
from orders.search import orders_matching_search
from orders.services.transitions import order_transition
from orders.visibility import back_office_actor, orders_visible_to
from payments.models import Payment, Refund
from restaurants.admin_actions import action_form_page, error_text
from restaurants.models import Restaurant
from restaurants.selectors import staff_restaurant_ids

ORDER_ACTION_FORM = "admin/orders/order/action_form.html"
HANDOVER_CODE_FIELD = "code"


# ---------------------------------------------------------------- inlines


class OrderItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderItem
    fields = ("name", "quantity", "unit_price", "customizations_text", "notes", "line_total")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("customizations")

    @admin.display(description="Customizations")
    def customizations_text(self, item: OrderItem) -> str:
        parts = [
            f"{c.group_name}: {c.choice_name}" + (f" ({c.price_adjustment:+})" if c.price_adjustment else "")
            for c in item.customizations.all()
        ]
        return "; ".join(parts) or "-"


class TrackingEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TrackingEvent
    verbose_name = "event"
    verbose_name_plural = "History"
    # One short line per event: when, what (in words), who, why; the raw event is in the events list.
    fields = ("when", "change", "actor", "details")
    readonly_fields = fields
    ordering = ("sequence",)
    extra = 0
    classes = ("order-history",)

    @admin.display(description="When")
    def when(self, event: TrackingEvent) -> str:
        return f"#{event.sequence} · {timezone.localtime(event.created_at):%b %d, %H:%M:%S}"

    @admin.display(description="What")
    def change(self, event: TrackingEvent) -> str:
        if event.to_status and event.to_status != event.from_status:
            before = OrderStatus(event.from_status).label if event.from_status in OrderStatus.values else "—"
            return f"{before} → {OrderStatus(event.to_status).label}"
        return EventType(event.event_type).label if event.event_type in EventType.values else event.event_type

    @admin.display(description="By")
    def actor(self, event: TrackingEvent) -> str:
        return f"{event.actor_name} ({event.actor_role})"

    @admin.display(description="Details")
    def details(self, event: TrackingEvent) -> str:
        parts = [event.reason] if event.reason else []
        parts += [f"{key.replace('_', ' ')}: {value}" for key, value in sorted((event.metadata or {}).items())]
        return "; ".join(str(part) for part in parts) or "—"


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("amount", "currency", "status", "attempts", "last_error", "created_at", "completed_at")
    readonly_fields = fields
    extra = 0


class PaymentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Payment
    fields = ("provider", "provider_reference", "amount", "currency", "status", "created_at", "updated_at")
    readonly_fields = fields
    extra = 0


# ---------------------------------------------------------------- forms for actions


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded in each order's history and shown to the customer.",
    )


class HandoverForm(forms.Form):
    code = forms.CharField(
        label="Customer's code",
        min_length=OTP_DIGITS,
        max_length=OTP_DIGITS,
        validators=[RegexValidator(rf"^\d{{{OTP_DIGITS}}}$", f"Enter the {OTP_DIGITS} digits the customer shows.")],
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class OwnRestaurantFilter(admin.SimpleListFilter):
    """The restaurants a staff member works at (every restaurant for a superuser), read from the
    memberships: listing the restaurants that appear among the orders would read every order."""

    title = "restaurant"
    parameter_name = "restaurant__id__exact"

    def lookups(self, request, model_admin):
        restaurants = Restaurant.objects.order_by("name")
        if not request.user.is_superuser:
            restaurants = restaurants.filter(pk__in=staff_restaurant_ids(request.user.pk))
        return [(str(pk), name) for pk, name in restaurants.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(restaurant_id=self.value())
        return queryset


class QueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("finished", "Finished")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(status__in=ACTIVE_STATUSES)
        if self.value() == "finished":
            return queryset.exclude(status__in=ACTIVE_STATUSES)
        return queryset


# ---------------------------------------------------------------- orders

# The action that makes each status change, and its button on an order's page.
ACTION_FOR_TARGET: dict[OrderStatus, tuple[str, str]] = {
    OrderStatus.RESTAURANT_CONFIRMED: ("confirm", "Confirm"),
    OrderStatus.PREPARING: ("start_preparing", "Start preparing"),
    OrderStatus.READY_FOR_PICKUP: ("mark_ready", "Mark ready"),
    OrderStatus.DELIVERED: ("hand_over", "Hand over"),
    OrderStatus.RESTAURANT_REJECTED: ("reject", "Reject order"),
    OrderStatus.CANCELLED: ("cancel", "Cancel order"),
    OrderStatus.RETURNED: ("mark_returned", "Mark returned"),
}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = (
        "number",
        "restaurant",
        "customer",
        "status_badge",
        "age",
        "payment_status",
        "delivery_status",
        "delivery_type",
        "total_with_currency",
        "placed_at",
    )
    list_filter = (
        QueueFilter,
        "status",
        "payment_status",
        "delivery_type",
        ("placed_at", admin.DateFieldListFilter),
        OwnRestaurantFilter,
    )
    search_fields = ("number", "customer__username", "customer__email")
    list_select_related = ("restaurant", "customer")
    ordering = ("-placed_at", "-id")
    # A page costs the same at a million orders as at a thousand (docs/operations/performance.md):
    # no exact count of a long list (the estimate of EstimatedCountPaginator, and no second count
    # of the unfiltered list), and no date hierarchy, whose year and month links are a DISTINCT
    # over every order listed (the placed_at filter above offers the same ranges).
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # Compact: related fields share a line, and what is looked up rarely starts collapsed, so
    # the order and its history fit a 1,280 px screen.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("number", "status", "placed_at"),
                    ("restaurant", "customer", "courier"),
                    ("payment_method", "payment_status", "refund_status"),
                    ("delivery_type", "delivery_status"),
                    ("total", "currency"),
                    "notes",
                    ("cancelled_by", "cancellation_reason"),
                )
            },
        ),
        (
            "Money",
            {"classes": ("collapse",), "fields": (("subtotal", "discount", "delivery_fee"), ("tip", "tax"))},
        ),
        (
            "Delivery address",
            {
                "classes": ("collapse",),
                "fields": (
                    ("delivery_street", "delivery_city"),
                    ("delivery_state", "delivery_postal_code", "delivery_country"),
                    ("delivery_latitude", "delivery_longitude"),
                ),
            },
        ),
        (
            "Times",
            {
                "classes": ("collapse",),
                "fields": (
                    ("paid_at", "confirmed_at", "preparing_at"),
                    ("ready_at", "picked_up_at", "out_for_delivery_at"),
                    ("delivered_at", "completed_at", "returned_at", "cancelled_at"),
                ),
            },
        ),
        (
            "Estimates and deadline",
            {
                "classes": ("collapse",),
                "fields": (
                    ("estimated_prep_minutes", "estimated_ready_at", "estimated_delivery_at"),
                    ("deadline_at", "deadline_kind"),
                    ("sequence", "updated_at"),
                ),
            },
        ),
    )
    inlines = (OrderItemInline, TrackingEventInline, PaymentInline, RefundInline)
    actions = ("confirm", "start_preparing", "mark_ready", "hand_over", "reject", "cancel", "mark_returned")

    def get_queryset(self, request):
        return orders_visible_to(actor=back_office_actor(request.user))

    def get_search_results(self, request, queryset, search_term):
        # The number by its bigram index, the customer by their ids: no read of every order.
        return orders_matching_search(queryset, search_term), False

    def get_readonly_fields(self, request, obj=None):
        return flatten_fieldsets(self.fieldsets)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # "Change" is what the actions need; an order's own page is read-only for everyone.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Total", ordering="total")
    def total_with_currency(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, order: Order) -> str:
        label = order.get_status_display()
        return format_html('<span class="status-pill" data-status="{}">{}</span>', order.status, label)

    @admin.display(description="Age", ordering="placed_at")
    def age(self, order: Order) -> str:
        minutes = int((timezone.now() - order.placed_at).total_seconds() // 60)
        if minutes < 60:
            return f"{minutes} min"
        if minutes < 48 * 60:
            return f"{minutes // 60} h {minutes % 60:02d} min"
        return f"{minutes // (24 * 60)} days"

    @method_decorator(sensitive_post_parameters(HANDOVER_CODE_FIELD))
    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            actor = back_office_actor(request.user)
            context["pickup_code"] = self._pickup_code(obj, actor)
            context["handover_expected"] = (
                obj.delivery_type == DeliveryType.PICKUP and obj.status == OrderStatus.READY_FOR_PICKUP
            )
            context["order_actions"] = self._actions_for(request, obj, actor)
            context["action_checkbox_name"] = helpers.ACTION_CHECKBOX_NAME
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _pickup_code(self, order: Order, actor: Actor) -> dict | None:
        """The code staff read out to the courier; None wherever the service says it is not theirs to read."""
        try:
            code, handoff = otp_reveal(order_id=order.pk, purpose=HandoffPurpose.PICKUP, actor=actor)
        except ApplicationError:
            return None
        return {"code": code, "expires_at": handoff.expires_at}

    def _actions_for(self, request, order: Order, actor: Actor) -> list[tuple[str, str]]:
        if not self.has_change_permission(request):
            return []
        available = self.get_actions(request)
        buttons = (ACTION_FOR_TARGET.get(target) for target in next_statuses_for(order=order, role=actor.role))
        return [button for button in buttons if button and button[0] in available]

    # ------------------------------------------------------------ actions

    def _apply_to_each(self, request, queryset: QuerySet[Order], change: Callable[[Order], object], done: str) -> None:
        """Run `change` (one service call) per order; report successes together and failures one by one."""
        changed = []
        for order in queryset:
            try:
                change(order)
            except ApplicationError as exc:
                self.message_user(request, f"{order.number}: {error_text(exc)}", messages.ERROR)
            else:
                changed.append(order.number)
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)

    def _transition_each(self, request, queryset, target: OrderStatus, done: str) -> None:
        actor = back_office_actor(request.user)
        self._apply_to_each(
            request,
            queryset,
            lambda order: order_transition(order_id=order.pk, target=target, actor=actor),
            done,
        )

    def _ask_then_apply(
        self,
        request,
        queryset: QuerySet[Order],
        *,
        form_class: type[forms.Form],
        title: str,
        submit_label: str,
        change: Callable[[Order, dict], object],
        done: str,
    ) -> TemplateResponse | None:
        """The usual admin intermediate page: show the form, and act once it comes back valid."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._apply_to_each(request, queryset, lambda order: change(order, form.cleaned_data), done)
            return None
        return action_form_page(
            self, request, queryset, form=form, title=title, submit_label=submit_label, template=ORDER_ACTION_FORM
        )

    @admin.action(description="Confirm selected orders", permissions=["change"])
    def confirm(self, request, queryset):
        self._transition_each(request, queryset, OrderStatus.RESTAURANT_CONFIRMED, "Confirmed")

    @admin.action(description="Start preparing selected orders", permissions=["change"])
    def start_preparing(self, request, queryset):
        self._transition_each(request, queryset, OrderStatus.PREPARING, "Preparing")

    @admin.action(description="Mark selected orders ready for pickup", permissions=["change"])
    def mark_ready(self, request, queryset):
        self._transition_each(request, queryset, OrderStatus.READY_FOR_PICKUP, "Ready for pickup")

    @admin.action(description="Hand over a self-pickup order to the customer", permissions=["change"])
    def hand_over(self, request, queryset):
        if len(queryset) != 1:
            self.message_user(request, "Hand over one order at a time: each has its own code.", messages.ERROR)
            return None
        actor = back_office_actor(request.user)
        return self._ask_then_apply(
            request,
            queryset,
            form_class=HandoverForm,
            title="Hand over to the customer",
            submit_label="Hand over",
            # Under the same guessing limit as the API's handoff actions (a 429 here is a message).
            change=lambda order, data: code_attempt(
                user_id=request.user.pk,
                address=client_address(request),
                attempt=lambda: order_transition(
                    order_id=order.pk, target=OrderStatus.DELIVERED, actor=actor, otp=data[HANDOVER_CODE_FIELD]
                ),
            ),
            done="Handed over",
        )

    def _ask_reason_then_transition(
        self, request, queryset, target: OrderStatus, *, title: str, submit_label: str, done: str
    ) -> TemplateResponse | None:
        actor = back_office_actor(request.user)
        return self._ask_then_apply(
            request,
            queryset,
            form_class=ReasonForm,
            title=title,
            submit_label=submit_label,
            change=lambda order, data: order_transition(
                order_id=order.pk, target=target, actor=actor, reason=data["reason"]
            ),
            done=done,
        )

    @admin.action(description="Reject selected orders", permissions=["change"])
    def reject(self, request, queryset):
        return self._ask_reason_then_transition(
            request,
            queryset,
            OrderStatus.RESTAURANT_REJECTED,
            title="Reject orders",
            submit_label="Reject",
            done="Rejected",
        )

    @admin.action(description="Cancel selected orders", permissions=["change"])
    def cancel(self, request, queryset):
        return self._ask_reason_then_transition(
            request,
            queryset,
            OrderStatus.CANCELLED,
            title="Cancel orders",
            submit_label="Cancel the orders",
            done="Cancelled",
        )

    @admin.action(description="Mark selected orders returned", permissions=["change"])
    def mark_returned(self, request, queryset):
        return self._ask_reason_then_transition(
            request,
            queryset,
            OrderStatus.RETURNED,
            title="Mark orders returned",
            submit_label="Mark returned",
            done="Returned",
        )

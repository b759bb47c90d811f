"""Filters for the order list: the mobile order API's tabs and the order-process and three-status
APIs' field filters, AND-combined.

A value a filter does not know is a 400 naming the filter, never an empty list.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django_filters import rest_framework as filters
from django_filters.fields import ChoiceField
from django_filters.widgets import QueryArrayWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.errors import ValidationFailed
from orders.lifecycle import STATUS_ALIASES, normalise_status
from orders.models import DeliveryType, Order, OrderStatus, PaymentStatus
from orders.search import orders_with_number_holding
from orders.tabs import ORDER_TABS

TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}
MAX_STATUSES = 20
# PostgreSQL's timestamptz takes offsets up to 15:59.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# Filters that take several values; every other one takes one, and a repeat is a 400.
MULTI_VALUED = {"status"}


class StatusListField(forms.Field):
    """One or several statuses, repeated (`?status=A&status=B`) or comma-separated; aliases accepted."""

    widget = QueryArrayWidget

    def to_python(self, value: Any) -> Any:
        values = [value] if isinstance(value, str) else list(value or [])
        values = [part.strip() for v in values for part in str(v).split(",") if part.strip()]
        if len(values) > MAX_STATUSES:
            raise forms.ValidationError(f"At most {MAX_STATUSES} statuses.")
        statuses, unknown = [], []
        for raw in values:
            status = normalise_status(raw)
            if status is None:
                unknown.append(raw[:40])
            elif status not in statuses:
                statuses.append(status)
        if unknown:
            raise forms.ValidationError(f"Not an order status: {', '.join(unknown)}.")
        return statuses


class UpperChoiceField(ChoiceField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(value).strip().upper()


class LowerChoiceField(ChoiceField):
    def to_python(self, value: Any) -> Any:
        return super().to_python(value).strip().lower()


class StrictBooleanField(forms.Field):
    def to_python(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        word = str(value).strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise forms.ValidationError("Must be true or false.")


class DateOrDateTimeField(forms.Field):
    """An ISO 8601 date-time, or a date (the whole day)."""

    def to_python(self, value: Any) -> Any:
        if value in (None, ""):
            return None
        text = str(value).strip()
        try:
            day = parse_date(text)
            moment = None if day else parse_datetime(text)
        except ValueError:
            moment = day = None
        if moment is None and day is None:
            raise forms.ValidationError(
                "Must be an ISO 8601 date or date-time, e.g. 2026-01-15 or 2026-01-15T10:30:00Z."
            )
        if moment is not None and timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_current_timezone())
        offset = moment.utcoffset() if moment is not None else None
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise forms.ValidationError("The UTC offset must be between -15:59 and +15:59.")
        try:
            # The filters compare in UTC, and a date filter reaches the start of the next day.
            (moment or _start_of(cast(date, day) + timedelta(days=1))).astimezone(UTC)
            if day is not None:
                _start_of(day).astimezone(UTC)
        except (OverflowError, ValueError):
            raise forms.ValidationError("Out of range.") from None
        return moment or day


@extend_schema_field({"type": "array", "items": {"type": "string", "enum": [*OrderStatus.values, *STATUS_ALIASES]}})
class StatusFilter(filters.Filter):
    field_class = StatusListField


class UpperChoiceFilter(filters.ChoiceFilter):
    field_class = UpperChoiceField


class LowerChoiceFilter(filters.ChoiceFilter):
    field_class = LowerChoiceField


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(filters.Filter):
    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.DATETIME)
class DateOrDateTimeFilter(filters.Filter):
    field_class = DateOrDateTimeField


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


class OrderFilter(filters.FilterSet):
    tab = filters.ChoiceFilter(
        choices=[(name, name) for name in ORDER_TABS],
        method="filter_tab",
        help_text="The mobile order API's tabs: " + ", ".join(ORDER_TABS) + ".",
    )
    status = StatusFilter(
        field_name="status",
        lookup_expr="in",
        help_text=(
            "One or several statuses (repeated or comma-separated); ORDER_CONFIRMED and FOOD_BEING_PREPARED accepted."
        ),
    )
    payment_status = UpperChoiceFilter(choices=PaymentStatus.choices)
    delivery_type = LowerChoiceFilter(choices=DeliveryType.choices)
    restaurant = filters.UUIDFilter(field_name="restaurant_id")
    date_from = DateOrDateTimeFilter(method="filter_date_from", help_text="Placed at or after (date or date-time).")
    date_to = DateOrDateTimeFilter(method="filter_date_to", help_text="Placed at or before (date or date-time).")
    include_cancelled = StrictBooleanFilter(
        method="filter_nothing",
        help_text="Include cancelled, rejected and failed orders when no tab or status is given (default false).",
    )
    search = filters.CharFilter(method="filter_search", max_length=64, help_text="A piece of the order number.")

    class Meta:
        model = Order
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return orders_with_number_holding(queryset, value)

    def filter_tab(self, queryset: QuerySet[Any], name: str, value: str) -> QuerySet[Any]:
        return queryset.filter(ORDER_TABS[value])

    def filter_date_from(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset.filter(placed_at__gte=value if isinstance(value, datetime) else _start_of(value))

    def filter_date_to(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        if isinstance(value, datetime):
            return queryset.filter(placed_at__lte=value)
        return queryset.filter(placed_at__lt=_start_of(value + timedelta(days=1)))

    def filter_nothing(self, queryset: QuerySet[Any], name: str, value: Any) -> QuerySet[Any]:
        return queryset

    def is_valid(self) -> bool:
        valid = super().is_valid()
        getlist = getattr(self.data, "getlist", None)
        repeated = [name for name in self.filters if name not in MULTI_VALUED and getlist and len(getlist(name)) > 1]
        for name in repeated:
            # The form reads the last value only; an unknown value before it must not pass unseen.
            self.form.add_error(name, "Give one value only.")
        return valid and not repeated

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        if not (data.get("include_cancelled") or data.get("tab") or data.get("status")):
            queryset = queryset.exclude(ORDER_TABS["cancelled"])
        return queryset


class ProblemFilterBackend(filters.DjangoFilterBackend):
    """django-filter's backend, but its errors reach the client as the form rendered them.

    django-filter translates form errors with `message % params` even when there are no params,
    so any message quoting the caller's input (`?status=%25`) raised a TypeError or ValueError;
    Django's own rendering formats only messages that carry params.
    """

    def filter_queryset(self, request: HttpRequest, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            raise ValidationFailed(
                {name: [str(m) for m in messages] for name, messages in filterset.form.errors.items()}
            )
        return filterset.qs

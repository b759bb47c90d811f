"""The signed-in user's notification preferences: GET /api/notifications/preferences/, PATCH to change;
and, for the platform's operators, a replay of a webhook endpoint's events."""

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api import validated
from core.inputs import NoBodySerializer
from core.schema import problems
from core.throttling import CodeGuessLimitMixin
from notifications.models import NotificationPreference, all_milestones
from notifications.phone_verification import phone_verification_confirm, phone_verification_send
from notifications.serializers import (
    NotificationPreferenceResponseSerializer,
    NotificationPreferenceSerializer,
    PhoneCodeSentSerializer,
    PhoneCodeSerializer,
    WebhookReplayQueuedSerializer,
    WebhookReplaySerializer,
)
from notifications.services import notification_preference_update
from notifications.webhook_endpoints import webhook_endpoint_replay


def _body(user, preference: NotificationPreference | None) -> dict:
    return NotificationPreferenceResponseSerializer(
        {
            "email": user.email,
            "email_enabled": preference.email_enabled if preference else True,
            "sms_enabled": preference.sms_enabled if preference else False,
            "phone": preference.phone if preference else "",
            "phone_verified": preference.phone_verified if preference else False,
            "milestones": preference.milestones if preference else all_milestones(),
        }
    ).data


class NotificationPreferenceView(APIView):
    @extend_schema(
        summary="How you are told about your orders",
        responses={200: NotificationPreferenceResponseSerializer, **problems(401)},
    )
    def get(self, request):
        return Response(_body(request.user, NotificationPreference.objects.filter(user=request.user).first()))

    @extend_schema(
        summary="Change how you are told about your orders",
        description=(
            "Any of `email_enabled`, `sms_enabled`, `phone` (E.164) and `milestones` (of `confirmed`, `ready`, "
            "`out_for_delivery`, `delivered`, `cancelled`, `refunded`). Handoff codes are always sent, on the "
            "channels switched on. Text messages go to `phone` only once it is verified "
            "(`POST /api/notifications/phone/send-code/`, then `POST /api/notifications/phone/verify/`); a new "
            "number is not verified."
        ),
        request=NotificationPreferenceSerializer,
        responses={200: NotificationPreferenceResponseSerializer, **problems(400, 401)},
    )
    def patch(self, request):
        changes = validated(NotificationPreferenceSerializer, request.data)
        return Response(_body(request.user, notification_preference_update(user=request.user, changes=changes)))


class PhoneCodeSendView(APIView):
    @extend_schema(
        summary="Send a code to your phone number",
        description=(
            "Texts a 6-digit code to the number in your preferences; a new code replaces the last. One a minute "
            "at most (429 `phone_code_too_soon`), and within the hourly text-message caps (429 `sms_limit_reached`)."
        ),
        request=None,
        responses={202: PhoneCodeSentSerializer, **problems(401, 409, 429)},
    )
    def post(self, request):
        validated(NoBodySerializer, request.data)
        verification = phone_verification_send(user=request.user)
        body = {"phone": verification.phone, "expires_at": verification.expires_at}
        return Response(PhoneCodeSentSerializer(body).data, status=202)


class PhoneCodeVerifyView(CodeGuessLimitMixin, APIView):
    # Wrong codes count against the user and the address, as handoff codes do (an APIView has one action).
    action = "phone_verify"
    code_actions = frozenset({action})

    @extend_schema(
        summary="Verify your phone number with the code sent to it",
        request=PhoneCodeSerializer,
        responses={200: NotificationPreferenceResponseSerializer, **problems(400, 401, 409, 410, 422, 423, 429)},
    )
    def post(self, request):
        data = validated(PhoneCodeSerializer, request.data)
        return Response(_body(request.user, phone_verification_confirm(user=request.user, code=data["code"])))


class IsPlatformOperator(BasePermission):
    """The platform's operators: active superusers, as in the admin's operations pages."""

    message = "Only the platform's operators may do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


class WebhookReplayView(APIView):
    permission_classes = [IsPlatformOperator]

    @extend_schema(
        summary="Send a webhook endpoint every event of a time range again",
        description=(
            "For the platform's operators. Every order event committed from `since` up to `until` that the "
            "endpoint takes (its restaurant, its event types) is queued for it again, in each order's sequence, "
            "under the event's own id (receivers that dedupe on `X-Orderflow-Event-Id` apply it once). The "
            "endpoint must be enabled (409 `webhook_endpoint_not_active`); a range of more than "
            "`ORDERFLOW_WEBHOOK_REPLAY_MAX_EVENTS` events is refused (400)."
        ),
        request=WebhookReplaySerializer,
        responses={202: WebhookReplayQueuedSerializer, **problems(400, 401, 403, 404, 409)},
    )
    def post(self, request, endpoint_id: int):
        data = validated(WebhookReplaySerializer, request.data)
        queued = webhook_endpoint_replay(
            endpoint_id=endpoint_id, since=data["since"], until=data["until"], actor=Actor.admin(request.user)
        )
        return Response(WebhookReplayQueuedSerializer({"endpoint_id": endpoint_id, "queued": queued}).data, status=202)

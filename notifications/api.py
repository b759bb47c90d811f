"""The signed-in user's notification preferences: GET /api/notifications/preferences/, PATCH to change."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import validated
from core.schema import problems
from notifications.models import NotificationPreference, all_milestones
from notifications.serializers import NotificationPreferenceResponseSerializer, NotificationPreferenceSerializer
from notifications.services import notification_preference_update


def _body(user, preference: NotificationPreference | None) -> dict:
    return NotificationPreferenceResponseSerializer(
        {
            "email": user.email,
            "email_enabled": preference.email_enabled if preference else True,
            "sms_enabled": preference.sms_enabled if preference else False,
            "phone": preference.phone if preference else "",
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
            "channels switched on."
        ),
        request=NotificationPreferenceSerializer,
        responses={200: NotificationPreferenceResponseSerializer, **problems(400, 401)},
    )
    def patch(self, request):
        changes = validated(NotificationPreferenceSerializer, request.data)
        return Response(_body(request.user, notification_preference_update(user=request.user, changes=changes)))

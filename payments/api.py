import json
import time

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import ApplicationError
from payments.serializers import PaymentEventSerializer
from payments.services import payment_webhook_receive
from payments.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_verify


class MalformedWebhook(ApplicationError):
    code = "malformed_request"
    title = "The body is not valid JSON"


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


class PaymentWebhookView(APIView):
    """POST /api/payments/webhook/: the provider reports a payment's result, signed."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    # The body is read raw: the signature covers its exact bytes.
    parser_classes = ()

    @extend_schema(
        summary="Payment result from the provider (signed webhook)",
        description=(
            "Signed with HMAC-SHA256 over `{timestamp}.{raw body}`; refused when the signature is wrong "
            "or the timestamp is more than the tolerance away. Idempotent by event id."
        ),
        parameters=[
            OpenApiParameter(TIMESTAMP_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
            OpenApiParameter(SIGNATURE_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=True),
        ],
        request=PaymentEventSerializer,
        responses={
            200: inline_serializer(
                "PaymentWebhookAccepted",
                {"event_id": serializers.CharField(), "outcome": serializers.CharField()},
            ),
            400: OpenApiResponse(description="Malformed body, stale timestamp or invalid fields (problem+json)."),
            401: OpenApiResponse(description="Bad signature (problem+json)."),
        },
        auth=[],
    )
    def post(self, request):
        body = request.body
        webhook_verify(
            secret=settings.ORDERFLOW_PAYMENT_WEBHOOK_SECRET,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=time.time(),
            tolerance=settings.ORDERFLOW_PAYMENT_WEBHOOK_TOLERANCE_SECONDS,
        )
        try:
            payload = json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise MalformedWebhook("The body is not valid JSON.") from None
        event = PaymentEventSerializer(data=payload)
        event.is_valid(raise_exception=True)
        data = event.validated_data["data"]
        outcome = payment_webhook_receive(
            provider=settings.ORDERFLOW_PAYMENT_PROVIDER,
            event_id=event.validated_data["id"],
            event_type=event.validated_data["type"],
            order_id=data["order_id"],
            reference=data["reference"],
            amount=data["amount"],
            currency=data["currency"],
            payload=payload,
        )
        return Response({"event_id": event.validated_data["id"], "outcome": outcome}, status=http.HTTP_200_OK)

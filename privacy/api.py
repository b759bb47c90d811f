"""The signed-in user's own data: GET /api/me/export/ and DELETE /api/me/ (erasure)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.actors import Actor
from core.api import validated
from core.query_params import query_params_check
from core.schema import problems
from privacy.serializers import ERASE_CONFIRMATION, EraseConfirmationSerializer, ErasedSerializer, ExportSerializer
from privacy.services import customer_data_export, customer_erase


class MyDataExportView(APIView):
    @extend_schema(
        summary="Your data, as one JSON document",
        description="Your account, orders (with lines, history, payments and refund) and the messages sent to you.",
        responses={200: ExportSerializer, **problems(400, 401)},
    )
    def get(self, request):
        query_params_check(request.query_params, ())
        document = customer_data_export(user=request.user, actor=Actor.customer(request.user))
        headers = {"Cache-Control": "no-store", "Content-Disposition": 'attachment; filename="orderflow-data.json"'}
        return Response(document, headers=headers)


class MeView(APIView):
    @extend_schema(
        summary="Erase your personal data",
        description=(
            f'Send `{{"confirm": "{ERASE_CONFIRMATION}"}}`. Your name, email, phone, addresses, notes and messages are '
            "erased and you are signed out for good; your past orders stay as money records (numbers, items, "
            "amounts, times) without anything that names or locates you. Orders still on their way must end first "
            "(409 `erasure_blocked`)."
        ),
        request=EraseConfirmationSerializer,
        responses={200: ErasedSerializer, **problems(400, 401, 409)},
    )
    def delete(self, request):
        validated(EraseConfirmationSerializer, request.data)
        record = customer_erase(user_id=request.user.pk, actor=Actor.customer(request.user))
        return Response(ErasedSerializer({"erased": True, "audit_id": record.pk, "summary": record.summary}).data)

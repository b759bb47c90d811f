"""The public tracking link over REST: what its page polls (no account), and the customer's
endpoints to replace or revoke the link. Thin views: reads in tracking.public, writes in
orders.tracking_links.
"""

from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import validated
from core.idempotency import IdempotentPostMixin
from core.query_params import query_params_check
from core.schema import IDEMPOTENCY_KEY, IF_MATCH, problems
from orders.api import ORDER_ID
from orders.polling import etag_matches as _etag_matches
from orders.tracking_links import order_tracking_link_renew, order_tracking_link_revoke, tracking_link_path
from orders.visibility import order_access
from tracking.public import tracked_order_events, tracked_order_snapshot, tracked_order_status
from tracking.serializers import PublicEventsSerializer, PublicStatusSerializer, PublicViewSerializer

TOKEN = OpenApiParameter("token", OpenApiTypes.STR, OpenApiParameter.PATH, description="The link's token.")
LINK_NOT_FOUND = OpenApiResponse(description="`tracking_link_not_found`: unknown or revoked link (problem+json).")
LINK_GONE = OpenApiResponse(
    description="`tracking_link_expired`: the order ended longer ago than links last (problem+json)."
)
MAX_SEQUENCE = 2**31 - 1


class AfterSerializer(serializers.Serializer):
    after = serializers.IntegerField(
        min_value=0, max_value=MAX_SEQUENCE, required=False, default=0, help_text="The last sequence you have."
    )


class PublicEndpoint(APIView):
    """Anyone with the link: no session, no token, no CSRF."""

    authentication_classes = []
    permission_classes = [AllowAny]


class TrackedOrderView(PublicEndpoint):
    @extend_schema(
        summary="A tracked order (public link)",
        description=(
            "Order number, restaurant, status, ETA, the courier's first name and, while the order is on the "
            "road, their position. Never the address, phone numbers, prices or a handoff code."
        ),
        parameters=[TOKEN],
        responses={200: PublicViewSerializer, 404: LINK_NOT_FOUND, 410: LINK_GONE},
    )
    def get(self, request, token):
        _, snapshot = tracked_order_snapshot(token)
        return Response(snapshot, headers={"Cache-Control": "no-cache"})


class TrackedOrderStatusView(PublicEndpoint):
    @extend_schema(
        summary="A tracked order's lean status, for polling (public link)",
        description="`ETag` changes with every event; `If-None-Match` gets `304` while nothing changed.",
        parameters=[TOKEN],
        responses={
            200: PublicStatusSerializer,
            304: OpenApiResponse(description="Unchanged."),
            404: LINK_NOT_FOUND,
            410: LINK_GONE,
        },
    )
    def get(self, request, token):
        body = tracked_order_status(token)
        etag = f'"{body["order_number"]}:{body["sequence"]}"'
        headers = {"ETag": etag, "Cache-Control": "no-cache"}
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(body, headers=headers)


class TrackedOrderEventsView(PublicEndpoint):
    @extend_schema(
        summary="A tracked order's events after a sequence (public link)",
        parameters=[TOKEN, AfterSerializer],
        responses={200: PublicEventsSerializer, 400: problems(400)[400], 404: LINK_NOT_FOUND, 410: LINK_GONE},
    )
    def get(self, request, token):
        query_params_check(request.query_params, {"after"})
        after = validated(AfterSerializer, request.query_params)["after"]
        response = Response({"events": tracked_order_events(token, after=after)})
        patch_cache_control(response, no_cache=True)
        return response


class TrackingLinkView(IdempotentPostMixin, APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Replace an order's tracking link",
        description="A new link; the old one stops working at once. The order's customer (or an admin) only.",
        parameters=[ORDER_ID, IDEMPOTENCY_KEY, IF_MATCH],
        request=None,
        responses={
            200: inline_serializer("TrackingLink", {"tracking_url": serializers.URLField()}),
            **problems(400, 401, 403, 404, 412, 422),
        },
    )
    def post(self, request, pk):
        access = order_access(user=request.user, order_id=pk)
        order = order_tracking_link_renew(
            actor=access.actor, order_id=access.order_id, if_match=request.headers.get("If-Match")
        )
        return Response({"tracking_url": request.build_absolute_uri(tracking_link_path(order.tracking_token))})

    @extend_schema(
        summary="Revoke an order's tracking link",
        description="Its page and socket answer 404 from now on. The order's customer (or an admin) only.",
        parameters=[ORDER_ID, IF_MATCH],
        request=None,
        responses={204: None, **problems(400, 401, 403, 404, 412)},
    )
    def delete(self, request, pk):
        access = order_access(user=request.user, order_id=pk)
        order_tracking_link_revoke(
            actor=access.actor, order_id=access.order_id, if_match=request.headers.get("If-Match")
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

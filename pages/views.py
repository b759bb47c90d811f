"""Server-rendered pages: the landing page, the public tracking page, the signed-in customer's
order page and the kitchen board. Thin: reads come from selectors, every change the pages make
goes through the REST API (session-authenticated, CSRF-checked) and so through the services."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from core.errors import PROBLEM_CONTENT_TYPE, ApplicationError, problem_body, problem_http_response
from core.timestamps import iso
from core.views import not_found
from orders.lifecycle import ACTIVE_STATUSES
from orders.models import DeliveryType, OrderStatus
from orders.tracking_links import TrackingLinkGone, tracking_link_path
from pages.selectors import (
    BOARD_COLUMNS,
    CUSTOMER_CANCELLABLE,
    customer_order,
    customer_orders,
    demo_tracking_token,
    kitchen_actor,
    kitchen_panel,
    kitchen_restaurants,
    kitchen_tickets,
    operator_summary,
    order_refund,
    ticket_courier,
)
from restaurants.serializers import QueueOrderSerializer
from tracking.public import public_snapshot, tracked_order_page, tracking_steps
from tracking.selectors import event_payloads_after


def not_found_page(request, message: str = ""):
    """The friendly 404 page, whatever DEBUG says (Django's debug page lists every URL pattern)."""
    return render(request, "404.html", {"message": message}, status=404)


@csrf_exempt  # a 404 changes nothing; CSRF's 403 would hide it (as core.views.api_not_found)
def unknown_page(request, path=""):
    """The last route of all: an unknown path outside /api/ and /admin/ gets the 404 page (other
    clients problem+json), also under DEBUG. A read of a path that only lacks its trailing slash
    is redirected, as APPEND_SLASH would."""
    if request.method in ("GET", "HEAD") and settings.APPEND_SLASH and not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not unknown_page:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return not_found(request)


def _map_settings() -> dict:
    return {
        "tileUrl": settings.ORDERFLOW_MAP_TILE_URL,
        "tileAttribution": settings.ORDERFLOW_MAP_TILE_ATTRIBUTION,
    }


def _pickup_place(order) -> dict | None:
    """Where a self-pickup order is collected, and whether the restaurant is open now."""
    if order.delivery_type != DeliveryType.PICKUP:
        return None
    return {"address": order.restaurant.address, "open": order.restaurant.is_open}


def _live_settings() -> dict:
    return {
        "pollSeconds": settings.ORDERFLOW_PAGE_POLL_SECONDS,
        "reconnectMaxSeconds": settings.ORDERFLOW_PAGE_RECONNECT_MAX_SECONDS,
    }


@require_safe
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's)."""
    return redirect(static("pages/favicon.svg"), permanent=True)


@require_safe
def landing(request):
    token = demo_tracking_token()
    return render(request, "pages/landing.html", {"demo_tracking_path": tracking_link_path(token)})


def _link_gone(request, gone: TrackingLinkGone) -> HttpResponse:
    """410 Gone: the page for a browser, problem+json for any other client."""
    if request.get_preferred_type([PROBLEM_CONTENT_TYPE, "application/json", "text/html"]) == "text/html":
        return render(request, "410.html", status=410)
    body = problem_body(status=410, code=gone.code, title=gone.title, detail=gone.detail)
    return HttpResponse(json.dumps(body), status=410, content_type=PROBLEM_CONTENT_TYPE)


@require_safe
def track(request, token):
    try:
        page = tracked_order_page(token)
    except TrackingLinkGone as gone:
        return _link_gone(request, gone)
    except ApplicationError:
        return not_found_page(request, "A tracking link stops working when its owner revokes it.")
    order = page.pop("order")
    config = {
        **_live_settings(),
        "map": _map_settings(),
        "pickup": _pickup_place(order),
        "mode": "public",
        "socketPath": f"/ws/track/{token}/",
        "statusUrl": f"/api/track/{token}/status/",
        "eventsUrl": f"/api/track/{token}/events/",
        "viewUrl": f"/api/track/{token}/",
        **page,
    }
    return render(request, "pages/track.html", {"config": config, "snapshot": page["snapshot"], "public": True})


@require_safe
@login_required
def customer_order_page(request, order_id):
    try:
        order = customer_order(user=request.user, order_id=order_id)
    except ApplicationError:
        return not_found_page(request, "This is not one of your orders.")
    snapshot = public_snapshot(order)
    refund = order_refund(order)
    config = {
        **_live_settings(),
        "map": _map_settings(),
        "pickup": _pickup_place(order),
        "paymentMethod": order.payment_method,
        "refund": (
            {"amount": str(refund.amount), "currency": refund.currency, "status": refund.status} if refund else None
        ),
        "total": {"amount": str(order.total), "currency": order.currency},
        "mode": "customer",
        "orderId": str(order.pk),
        "socketPath": f"/ws/orders/{order.pk}/",
        "statusUrl": f"/api/orders/{order.pk}/status/",
        "historyUrl": f"/api/orders/{order.pk}/history/",
        "detailUrl": f"/api/orders/{order.pk}/",
        "etaUrl": f"/api/orders/{order.pk}/eta/",
        "codeUrl": f"/api/orders/{order.pk}/otp/",
        "cancelUrl": f"/api/orders/{order.pk}/cancel/",
        "linkUrl": f"/api/orders/{order.pk}/tracking-link/",
        "cancellable": CUSTOMER_CANCELLABLE,
        "snapshot": snapshot,
        "steps": tracking_steps(delivery_type=order.delivery_type, payment_method=order.payment_method),
        "events": event_payloads_after(order_id=order.pk, after=0),
        "destination": (
            {"latitude": float(order.delivery_latitude), "longitude": float(order.delivery_longitude)}
            if order.delivery_latitude is not None and order.delivery_longitude is not None
            else None
        ),
    }
    tracking_path = tracking_link_path(order.tracking_token)
    context = {
        "config": config,
        "snapshot": snapshot,
        "order": order,
        "tracking_url": request.build_absolute_uri(tracking_path) if tracking_path else "",
        "cancellable": order.status in CUSTOMER_CANCELLABLE,
    }
    return render(request, "pages/customer_order.html", context)


@require_safe
@login_required
def my_orders(request):
    orders = customer_orders(user=request.user)
    config = {
        **_live_settings(),
        "orders": [{"id": str(order.pk)} for order in orders if order.status in ACTIVE_STATUSES],
        "statusUrl": "/api/orders/{id}/status/",
        "statusNames": {status.value: status.label for status in OrderStatus},
    }
    return render(request, "pages/my_orders.html", {"orders": orders, "config": config})


@require_safe
@login_required
def kitchen_index(request):
    restaurants = kitchen_restaurants(user=request.user)
    if len(restaurants) == 1:
        return redirect("kitchen-board", restaurant_id=restaurants[0].pk)
    return render(request, "pages/kitchen_index.html", {"restaurants": restaurants})


@require_safe
@login_required
def kitchen_board(request, restaurant_id):
    restaurant = next((r for r in kitchen_restaurants(user=request.user) if r.pk == restaurant_id), None)
    if restaurant is None:
        return not_found_page(request, "This is not one of your restaurants.")
    actor = kitchen_actor(user=request.user, restaurant_id=restaurant.pk)
    config = {
        **_live_settings(),
        "restaurantId": str(restaurant.pk),
        # A platform admin watches; the kitchen's actions are its staff's (or the admin's order page).
        "canAct": actor is not None and actor.role == "restaurant",
        "adminOrderUrl": "/admin/orders/order/{id}/change/",
        "socketPath": f"/ws/restaurants/{restaurant.pk}/orders/",
        "queueUrl": f"/kitchen/{restaurant.pk}/tickets/",
        "actionUrl": "/api/restaurants/orders/{id}/{action}/",
        "kitchenUrl": f"/api/restaurants/{restaurant.pk}/kitchen/",
        "codeUrl": "/api/orders/{id}/otp/?type=pickup",
        "columns": [{"key": key, "title": title, "statuses": list(statuses)} for key, title, statuses in BOARD_COLUMNS],
        "statusNames": {status.value: status.label for status in OrderStatus},
    }
    return render(
        request,
        "pages/kitchen.html",
        {
            "restaurant": restaurant,
            "config": config,
            "columns": BOARD_COLUMNS,
            "others": kitchen_restaurants(user=request.user),
        },
    )


@require_safe
@login_required
def kitchen_board_tickets(request, restaurant_id):
    """The board's tickets: the kitchen's queue (as GET /api/restaurants/orders/queue/) with the
    courier coming for each delivery order and their distance from the restaurant."""
    actor = kitchen_actor(user=request.user, restaurant_id=restaurant_id)
    if actor is None:
        return problem_http_response("not_found", "No restaurant with this id is yours.")
    orders = kitchen_tickets(actor=actor, restaurant_id=restaurant_id)
    tickets = QueueOrderSerializer(orders, many=True).data
    for ticket, order in zip(tickets, orders, strict=True):
        ticket["courier"] = ticket_courier(order)
    panel = kitchen_panel(restaurant_id=restaurant_id)
    return JsonResponse({"count": len(tickets), "orders": tickets, "now": iso(timezone.now()), **panel})


@require_safe
@login_required
def operator(request):
    """The operator's summary: platform admins (superusers) only; anyone else finds nothing."""
    if not request.user.is_superuser:
        return not_found_page(request)
    summary = operator_summary()
    # The chart's bars, in the SVG's units: 120 high at the busiest ten minutes.
    for index, bucket in enumerate(summary["buckets"]):
        bucket["x"] = 40 + index * 53
        for kind in ("placed", "delivered"):
            height = round(120 * bucket[kind] / summary["bucket_max"])
            bucket[f"{kind}_height"], bucket[f"{kind}_y"] = height, 140 - height
    return render(request, "pages/operator.html", {"summary": summary})

"""Server-rendered pages: the landing page, the public tracking page, the signed-in customer's
order page and the kitchen board. Thin: reads come from selectors, every change the pages make
goes through the REST API (session-authenticated, CSRF-checked) and so through the services."""

import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_safe

from core.errors import PROBLEM_CONTENT_TYPE, ApplicationError, problem_body
from orders.models import OrderStatus
from orders.tracking_links import TrackingLinkGone, tracking_link_path
from pages.selectors import (
    BOARD_COLUMNS,
    CUSTOMER_CANCELLABLE,
    customer_order,
    demo_tracking_token,
    kitchen_restaurants,
)
from tracking.public import public_snapshot, tracked_order_page, tracking_steps
from tracking.selectors import event_payloads_after


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
        raise Http404("No order is tracked by this link.") from None
    config = {
        **_live_settings(),
        "mode": "public",
        "socketPath": f"/ws/track/{token}/",
        "statusUrl": f"/api/track/{token}/status/",
        "eventsUrl": f"/api/track/{token}/events/",
        "viewUrl": f"/api/track/{token}/",
        **page,
    }
    return render(request, "pages/track.html", {"config": config, "snapshot": page["snapshot"]})


@require_safe
@login_required
def customer_order_page(request, order_id):
    try:
        order = customer_order(user=request.user, order_id=order_id)
    except ApplicationError:
        raise Http404("No such order of yours.") from None
    snapshot = public_snapshot(order)
    config = {
        **_live_settings(),
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
        raise Http404("No such restaurant of yours.")
    config = {
        **_live_settings(),
        "restaurantId": str(restaurant.pk),
        "socketPath": f"/ws/restaurants/{restaurant.pk}/orders/",
        "queueUrl": f"/api/restaurants/orders/queue/?restaurant={restaurant.pk}",
        "actionUrl": "/api/restaurants/orders/{id}/{action}/",
        "codeUrl": "/api/orders/{id}/otp/?type=pickup",
        "columns": [{"key": key, "title": title, "statuses": list(statuses)} for key, title, statuses in BOARD_COLUMNS],
        "statusNames": {status.value: status.label for status in OrderStatus},
    }
    return render(
        request,
        "pages/kitchen.html",
        {"restaurant": restaurant, "config": config, "columns": BOARD_COLUMNS},
    )

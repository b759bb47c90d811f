"""The three-status order API's Python examples, token for token as its document publishes
them (the document's line breaks were lost in transit; they are restored, nothing else is
changed). The tests run them with `exec`, after replacing the base URL, the access token and
the example ids (order, location) with the live server's."""

RETRIEVE = """
import requests

BASE_URL = "https://sandbox.api.tote.ai/v1/online-ordering"
headers = {"Authorization": "Bearer YOUR_ACCESS_TOKEN"}
order_id = "f9a8b7c6-d5e4-3210-fedc-ba9876543210"

response = requests.get(
    f"{BASE_URL}/orders/{order_id}",
    headers=headers,
)
order = response.json()

print(f"Status: {order['status']}")
print(f"Payment: {order['payment_status']}")
print(f"Fulfillment: {order['fulfillment_status']}")
print(f"Total: ${order['total']['amount'] / 100:.2f}")
print(f"Paid: ${order['total_paid']['amount'] / 100:.2f}")
print(f"Balance due: ${order['balance_due']['amount'] / 100:.2f}")
"""

AT_A_LOCATION = """
response = requests.get(
    f"{BASE_URL}/orders",
    headers=headers,
    params={
        "location_id": "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d",
        "limit": 20
    },
)
data = response.json()
orders = data["data"]
pagination = data["pagination"]

for order in orders:
    print(f"{order['id']} | {order['status']} | {order['fulfillment_status']} | ${order['total']['amount'] / 100:.2f}")
"""

NEEDING_ATTENTION = """
response = requests.get(
    f"{BASE_URL}/orders",
    headers=headers,
    params={
        "status": "CONFIRMED",
        "fulfillment_status": "READY_FOR_PICKUP",
        "location_id": "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d"
    },
)
ready_orders = response.json()["data"]
print(f"{len(ready_orders)} orders ready for pickup")
"""

FROM_TODAY = """
from datetime import datetime, timezone

today_start = datetime.now(timezone.utc).replace(
    hour=0, minute=0, second=0, microsecond=0
).isoformat()

response = requests.get(
    f"{BASE_URL}/orders",
    headers=headers,
    params={
        "date_from": today_start,
        "location_id": "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d"
    },
)
todays_orders = response.json()["data"]
"""

FETCH_ALL = '''
def fetch_all_orders(headers, params):
    """Fetch all orders with automatic pagination."""
    all_orders = []
    cursor = None

    while True:
        if cursor:
            params["cursor"] = cursor

        response = requests.get(
            f"{BASE_URL}/orders",
            headers=headers,
            params=params,
        )
        data = response.json()
        all_orders.extend(data["data"])

        if not data["pagination"]["has_more"]:
            break
        cursor = data["pagination"]["next_cursor"]

    return all_orders

# Fetch all confirmed orders at a location
all_confirmed = fetch_all_orders(headers, {
    "status": "CONFIRMED",
    "location_id": "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d",
    "limit": 50
})
print(f"Total confirmed orders: {len(all_confirmed)}")
'''

POLL = '''
import time

def poll_order_status(order_id, headers, target_status, max_attempts=30):
    """
    Poll an order until it reaches the target fulfillment status.
    Uses exponential backoff starting at 2 seconds, capping at 30 seconds.
    """
    base_delay = 2
    max_delay = 30

    for attempt in range(max_attempts):
        response = requests.get(
            f"{BASE_URL}/orders/{order_id}",
            headers=headers,
        )
        order = response.json()
        current = order["fulfillment_status"]

        print(f"[Attempt {attempt + 1}] Fulfillment: {current}")

        if current == target_status:
            return order

        if current == "CANCELLED":
            raise Exception("Order was cancelled")

        # Exponential backoff: 2s, 4s, 8s, 16s, 30s, 30s, ...
        delay = min(base_delay * (2 ** attempt), max_delay)
        time.sleep(delay)

    raise TimeoutError(f"Order did not reach {target_status} after {max_attempts} attempts")

# Wait for order to be ready for pickup
order = poll_order_status(
    "f9a8b7c6-d5e4-3210-fedc-ba9876543210",
    headers,
    target_status="READY_FOR_PICKUP",
)
print(f"Order is ready! Status: {order['fulfillment_status']}")
'''

CANCEL = """
order_id = "f9a8b7c6-d5e4-3210-fedc-ba9876543210"

cancel_response = requests.post(
    f"{BASE_URL}/orders/{order_id}/cancel",
    headers={**headers, "Idempotency-Key": str(uuid4())},
    json={"reason": "Customer changed their mind"},
)
"""

HANDLING_409 = """
from uuid import uuid4

cancel_response = requests.post(
    f"{BASE_URL}/orders/{order_id}/cancel",
    headers={**headers, "Idempotency-Key": str(uuid4())},
    json={"reason": "Customer changed their mind"},
)

if cancel_response.status_code == 409:
    error = cancel_response.json()["error"]
    print(f"Cannot cancel: {error['message']}")
    print("The order is already being prepared.")
    print("Contact the store directly to request cancellation.")
elif cancel_response.status_code == 200:
    print("Order cancelled successfully.")
    cancelled_order = cancel_response.json()
    print(f"Status: {cancelled_order['status']}")
"""

EXAMPLE_BASE_URL = "https://sandbox.api.tote.ai/v1/online-ordering"
EXAMPLE_TOKEN = "YOUR_ACCESS_TOKEN"
EXAMPLE_ORDER_ID = "f9a8b7c6-d5e4-3210-fedc-ba9876543210"
EXAMPLE_LOCATION_ID = "b5a7c8d9-e0f1-4a2b-8c3d-4e5f6a7b8c9d"

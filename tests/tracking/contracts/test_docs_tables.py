"""The client-contract pages' tables (docs/contracts/) are the code's: every status table is its
contract's vocabulary, and every list endpoint accepts exactly the query parameters the pages list."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.factories import place_order
from tracking.contracts import customer_tracking, mobile_orders, poll_status, three_status

CONTRACTS = Path(__file__).resolve().parents[3] / "docs" / "contracts"
PAGES = (
    "customer-tracking.md",
    "order-process.md",
    "three-status.md",
    "poll-status.md",
    "mobile-orders.md",
    "index.md",
)
SECTION = "\n".join((CONTRACTS / page).read_text() for page in PAGES)

# In the order the pages print them.
VOCABULARIES = [
    customer_tracking.STATUSES,
    three_status.STATUSES,
    three_status.FULFILLMENT_STATUSES,
    poll_status.STATUSES,
    mobile_orders.STATUSES,
]


def tables(header_start: str) -> list[list[list[str]]]:
    found: list[list[list[str]]] = []
    current: list[list[str]] | None = None
    for line in SECTION.splitlines():
        if line.startswith(header_start):
            current = []
            found.append(current)
        elif current is not None and line.startswith("|"):
            if not line.startswith("| ---"):
                current.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
        else:
            current = None
    return found


def test_the_status_tables_are_the_vocabularies():
    printed = tables("| canonical status | when |")
    assert len(printed) == len(VOCABULARIES)
    for rows, vocabulary in zip(printed, VOCABULARIES, strict=True):
        assert [tuple(row) for row in rows] == vocabulary.table()


def documented_params() -> dict[str, list[str]]:
    (rows,) = tables("| list endpoint | query parameters |")
    params = {}
    for endpoint, names in rows:
        path = endpoint.removeprefix("GET ").strip("`")
        params[path] = [] if names == "none" else [name.strip().strip("`") for name in names.split(",")]
    return params


def test_the_readme_lists_every_list_endpoint():
    assert set(documented_params()) == {
        "/api/orders/",
        "/api/orders/available/",
        "/api/restaurants/",
        "/api/restaurants/orders/queue/",
        "/api/delivery/offers/",
        "/api/orders/{id}/history/",
        "/api/v1/orders/my",
        "/v1/online-ordering/orders",
        "/mobile/api/orders",
    }


def refused_as_unknown(response, name: str) -> bool:
    text = response.content.decode()
    return response.status_code == 400 and "Unknown query parameter" in text and name in text


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(documented_params()))
def test_each_list_endpoint_takes_its_documented_parameters_and_refuses_any_other(
    path, customer, staff_user, courier_user, menu
):
    user = {"/api/orders/available/": courier_user, "/api/delivery/offers/": courier_user}.get(path, customer)
    if path == "/api/restaurants/orders/queue/":
        user = staff_user
    client = APIClient()
    client.force_authenticate(user)
    documented = documented_params()[path]
    if "{id}" in path:
        path = path.format(id=place_order(customer, menu["pizza"]).pk)
    for name in documented:
        # The value may be refused (a 400 or 422 about the value); the parameter itself may not be.
        response = client.get(path, {name: "1"})
        assert not refused_as_unknown(response, name), (path, name, response.content)
    for name in ("pageNumber", "page_size", "limit", "filter[status]", "sort", "Page", "status "):
        if name in documented:
            continue
        response = client.get(path, {name: "1"})
        assert refused_as_unknown(response, name), (path, name, response.status_code, response.content)

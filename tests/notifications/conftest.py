import pytest

from notifications.models import WebhookEndpoint
from tests.notifications.receiver import Receiver


@pytest.fixture
def receivers():
    started = []

    def start(*script, **kwargs) -> Receiver:
        receiver = Receiver(*script, **kwargs)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.close()


@pytest.fixture
def endpoint_for(db):
    def create(receiver, **fields) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(
            name=fields.pop("name", "POS"),
            url=fields.pop("url", receiver.url if receiver else ""),
            secret=fields.pop("secret", "whsec_current"),
            **fields,
        )

    return create

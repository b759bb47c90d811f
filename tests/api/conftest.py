import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: every test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def client_for():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def alice(customer, client_for):
    return client_for(customer)


@pytest.fixture
def carol(other_customer, client_for):
    return client_for(other_customer)


@pytest.fixture
def kitchen(staff_user, client_for):
    return client_for(staff_user)


@pytest.fixture
def other_kitchen(other_staff_user, client_for):
    return client_for(other_staff_user)


@pytest.fixture
def dave(courier_user, client_for):
    return client_for(courier_user)


@pytest.fixture
def erin(other_courier_user, client_for):
    return client_for(other_courier_user)


@pytest.fixture
def admin(admin_user, client_for):
    return client_for(admin_user)

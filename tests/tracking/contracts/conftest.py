import pytest
from django.conf import settings

from tests.tracking.live import ServerProcess, database_url


@pytest.fixture(scope="module")
def server(django_db_setup):
    """A real server process (daphne) on the test database, for the clients the documents show."""
    process = ServerProcess(database_url=database_url(), redis_url=settings.REDIS_URL)
    yield process
    process.stop()

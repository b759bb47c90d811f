import pytest

UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.5},
    }
}


@pytest.mark.django_db
def test_health_reports_database_and_cache(client):
    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@pytest.mark.django_db
def test_health_is_503_when_the_cache_is_down(client, settings):
    settings.CACHES = UNREACHABLE_REDIS

    response = client.get("/health/")

    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "ok", "cache": "down"}


@pytest.mark.integration
@pytest.mark.django_db
def test_health_uses_the_real_redis(client, settings):
    assert "RedisCache" in settings.CACHES["default"]["BACKEND"]

    response = client.get("/health/")

    assert response.json()["cache"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_the_check_hands_its_database_connection_back_before_the_request_ends(rf):
    """A balancer that gives up on a slow check abandons the request: the connection must not
    wait for the end of the request to go back to its pool."""
    from django.db import connection

    from config.health import health

    assert health(rf.get("/health/")).status_code == 200
    assert connection.connection is None

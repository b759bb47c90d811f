from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088
COURIER_SPEED_KMH = 25.0
HANDOFF_MINUTES = 5


def haversine_km(lat1: float | Decimal, lon1: float | Decimal, lat2: float | Decimal, lon2: float | Decimal) -> float:
    phi1, phi2 = radians(float(lat1)), radians(float(lat2))
    dphi = phi2 - phi1
    dlambda = radians(float(lon2) - float(lon1))
    a = sin(dphi / 2) ** 2 + cos(phi1) * cos(phi2) * sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(sqrt(a))


def travel_minutes(distance_km: float) -> int:
    """Minutes for a courier to ride `distance_km` and hand the order over."""
    return round(distance_km / COURIER_SPEED_KMH * 60) + HANDOFF_MINUTES


def parse_coordinate(value: object, limit: int) -> Decimal | None:
    """`value` as a latitude (limit 90) or longitude (limit 180) to the micro-degree, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    if not number.is_finite() or abs(number) > limit:
        return None
    return number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)

from django.db.models import QuerySet
from django.utils import timezone

from delivery.models import CourierOffer, OfferState


def courier_offers_open(*, courier) -> QuerySet[CourierOffer]:
    """The offers a courier may still accept, soonest to expire first."""
    return (
        CourierOffer.objects.filter(courier=courier, state=OfferState.PENDING, expires_at__gt=timezone.now())
        .select_related("order", "order__restaurant")
        .order_by("expires_at")
    )

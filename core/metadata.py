"""What `OPTIONS` answers. DRF imports this module while it loads its settings, so it imports
nothing that imports DRF's views."""

from typing import TYPE_CHECKING, Any

from rest_framework.metadata import SimpleMetadata

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView


class DescriptionMetadata(SimpleMetadata):
    """`OPTIONS` answers what a view is and which media types it speaks, not its serializers'
    fields: those are in the OpenAPI document, and building them per view asked every view for a
    serializer class it may not have (a 500)."""

    def determine_metadata(self, request: "Request", view: "APIView") -> dict[str, Any]:
        metadata: dict[str, Any] = super().determine_metadata(request, view)
        metadata.pop("actions", None)
        return metadata

    def determine_actions(self, request: "Request", view: "APIView") -> dict[str, Any]:
        return {}

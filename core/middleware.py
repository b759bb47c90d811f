"""Request guards that apply to every path, the API's and the admin's alike."""

from core.errors import problem_http_response

NUL = "\x00"


class RejectUnstorableText:
    """A NUL character anywhere in the query string is a 400, whatever the view.

    PostgreSQL's text and jsonb cannot hold NUL, so any filter or search that passed one on
    failed with a DataError (a 500). JSON bodies are held to the same rule by the API's parser
    (`core.parsers.StrictJSONParser`), form fields by Django's own validators, and identifiers in
    a path by their parsers (`parse_uuid`, `parse_order_number`: not an identifier, so missing).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.GET
        if any(NUL in key or any(NUL in v for v in query.getlist(key)) for key in query):
            return problem_http_response("invalid_characters", "NUL characters are not allowed in a query string.")
        return self.get_response(request)

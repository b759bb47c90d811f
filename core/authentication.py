"""Passwords, whichever way they arrive, are checked behind one guessing limit.

Django's `authenticate()` is what every sign-in calls: simplejwt's `/api/auth/token/`, the pages'
`/login/` and the admin's `/admin/login/` (Django's AuthenticationForm). This backend is the only
one: it refuses an attempt over the limit (`TooManyRequests`, a 429, before the password is
looked at), lets Django's model backend check the password, and counts the outcome
(core.throttling.LoginAttempt). The username is checked as the sign-in forms read it (Unicode
NFKC, no surrounding whitespace), so the token endpoint and the pages agree on who it is.
"""

import unicodedata
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User
from django.http import HttpRequest

from core.throttling import LoginAttempt, client_address


class GuessLimitedModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.pop(get_user_model().USERNAME_FIELD, None)
        if request is None or not isinstance(username, str) or password is None:
            # No request (a management command, a test's force_login): nothing to count by.
            return super().authenticate(request, username=username, password=password, **kwargs)
        username = unicodedata.normalize("NFKC", username).strip()
        attempt = LoginAttempt(username=username, address=client_address(request))
        attempt.check()
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            attempt.failed()
        else:
            attempt.succeeded()
        return user

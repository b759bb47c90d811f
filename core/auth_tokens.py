"""The JWT lifecycle: who a token belongs to, and every way a refresh token stops working.

- A sign-in issues a refresh token carrying `fam` (its family: the sign-in, kept through every
  rotation) and `pwd` (a fingerprint of the user's password hash); access tokens copy both.
- Refreshing rotates: the used refresh token is blacklisted and a new one issued
  (`refresh_token_rotate`). A used one presented again means a copy exists: the whole family is
  revoked, the legitimate holder's newest token included, and the answer is 401.
- `POST /api/auth/logout/` revokes the family (`refresh_token_family_revoke`).
- A password change makes every earlier token's `pwd` stale: refresh tokens are refused at once,
  access tokens at their next use. A deactivated user's tokens are refused the same way.
- An admin's "sign out everywhere" (core/admin.py) blacklists every refresh token of the user
  (`refresh_tokens_revoke_all`), as does deactivating them there.
"""

from datetime import UTC, datetime
from typing import cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from core.models import RevokedTokenFamily

FAMILY_CLAIM = "fam"
CREDENTIALS_CLAIM = "pwd"


def credentials_fingerprint(user: AbstractBaseUser) -> str:
    """Changes whenever the password does (an HMAC of its hash, as Django's session check)."""
    return str(user.get_session_auth_hash()[:16])


def credentials_current(token: Token, user: AbstractBaseUser) -> bool:
    """False when the token was issued before the user's password last changed."""
    claimed = token.get(CREDENTIALS_CLAIM)
    return claimed is None or claimed == credentials_fingerprint(user)


class FamilyRefreshToken(RefreshToken):
    @classmethod
    # simplejwt types users as a TypeVar over AbstractBaseUser and its TokenUser; tokens here are
    # only ever made for, and resolved to, users of the database.
    def for_user(cls, user: AbstractBaseUser) -> "FamilyRefreshToken":  # type: ignore[override]
        token = cast(FamilyRefreshToken, super().for_user(user))
        token[FAMILY_CLAIM] = token[api_settings.JTI_CLAIM]
        token[CREDENTIALS_CLAIM] = credentials_fingerprint(user)
        return token


class CredentialsJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication (signature, expiry, active user), and a current password."""

    def get_user(self, validated_token: Token) -> AbstractBaseUser:  # type: ignore[override]  # as for_user
        user = super().get_user(validated_token)
        if not credentials_current(validated_token, user):
            raise AuthenticationFailed("The password has changed since this token was issued.", code="token_not_valid")
        return user


def _expiry(token: Token) -> datetime:
    return datetime.fromtimestamp(token["exp"], tz=UTC)


def refresh_token_family_revoke(*, token: RefreshToken, reason: str) -> None:
    """Revoke every refresh token of `token`'s sign-in (its family)."""
    family = token.get(FAMILY_CLAIM) or token[api_settings.JTI_CLAIM]
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    RevokedTokenFamily.objects.get_or_create(
        family=family,
        defaults={
            "user": user,
            "reason": reason,
            "revoked_at": timezone.now(),
            # The family's newest token expires at most one refresh lifetime from now.
            "expires_at": timezone.now() + api_settings.REFRESH_TOKEN_LIFETIME,
        },
    )
    token.blacklist()


def refresh_tokens_revoke_all(*, user: User) -> int:
    """Blacklist every unexpired refresh token of `user` ("sign out everywhere"); how many."""
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now()).exclude(
        blacklistedtoken__isnull=False
    )
    tokens = list(outstanding)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=token) for token in tokens], ignore_conflicts=True)
    return len(tokens)


def _signed_refresh_token(raw: str) -> FamilyRefreshToken | None:
    """The token if its signature, expiry and type are right, whatever the blacklist says."""
    try:
        # simplejwt annotates the encoded token as a Token; it is the encoded string.
        token = FamilyRefreshToken(raw, verify=False)  # type: ignore[arg-type]
        token.get_token_backend().decode(raw, verify=True)  # type: ignore[arg-type]
        token.verify_token_type()
    except (TokenError, TokenBackendError):
        return None
    return token


def refresh_token_verified(*, raw: str) -> FamilyRefreshToken:
    """A refresh token that may still be used, else 401 (InvalidToken). A used one presented
    again revokes its family before the refusal."""
    try:
        token = FamilyRefreshToken(raw)  # type: ignore[arg-type]  # as in _signed_refresh_token
    except TokenError as exc:
        reused = _signed_refresh_token(raw)
        if reused is not None and BlacklistedToken.objects.filter(token__jti=reused[api_settings.JTI_CLAIM]).exists():
            refresh_token_family_revoke(token=reused, reason="reused")
        raise InvalidToken(str(exc)) from exc
    family = token.get(FAMILY_CLAIM)
    if family and RevokedTokenFamily.objects.filter(family=family).exists():
        raise InvalidToken("This sign-in has ended.")
    user_id = token.get(api_settings.USER_ID_CLAIM)
    user = get_user_model().objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise InvalidToken("No active account found for the given token.")
    if not credentials_current(token, user):
        raise InvalidToken("The password has changed since this token was issued.")
    return token


def refresh_token_rotate(*, raw: str) -> dict[str, str]:
    """A new access token and a new refresh token of the same family; the used one is spent.

    Two requests racing with one token: the blacklist row is created once, and the request that
    did not create it is treated as a reuse. A revocation is committed before the refusal.
    """
    token = refresh_token_verified(raw=raw)
    with transaction.atomic():
        # blacklist() answers get_or_create's (token, created), whatever its annotation says.
        _, spent_now = cast("tuple[BlacklistedToken, bool]", token.blacklist())
        if spent_now:
            access = str(token.access_token)
            token.set_jti()
            token.set_exp()
            token.set_iat()
            token.outstand()
    if not spent_now:
        refresh_token_family_revoke(token=token, reason="reused")
        raise InvalidToken("Token is blacklisted")
    return {"access": access, "refresh": str(token)}


def refresh_token_sign_out(*, raw: str) -> None:
    """End the sign-in that `raw` belongs to (`POST /api/auth/logout/`)."""
    refresh_token_family_revoke(token=refresh_token_verified(raw=raw), reason="logout")

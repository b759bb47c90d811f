"""Sign-in: simplejwt's token endpoints, with unknown fields refused and wrong passwords limited
(`core.throttling.FailureLimit.login`: per account and per address, then 429 `Retry-After`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from core.inputs import InputSerializer, RejectUnknownFields
from core.schema import problems
from core.throttling import FailureLimit, client_address


class TokenObtainSerializer(RejectUnknownFields, TokenObtainPairSerializer):
    pass


class TokenRefreshInputSerializer(RejectUnknownFields, TokenRefreshSerializer):
    pass


def _account(request) -> str | None:
    data = request.data if isinstance(request.data, dict) else {}
    username = data.get("username")
    return f"account:{username}" if isinstance(username, str) and username else None


class CredentialsSerializer(InputSerializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshSerializer(InputSerializer):
    refresh = serializers.CharField()


class AccessSerializer(serializers.Serializer):
    access = serializers.CharField()


class TokenObtainView(TokenObtainPairView):
    serializer_class = TokenObtainSerializer

    @extend_schema(
        summary="Sign in: a JWT pair",
        request=CredentialsSerializer,
        responses={200: TokenPairSerializer, **problems(400, 401, 429)},
    )
    def post(self, request, *args, **kwargs):
        limit, account, address = FailureLimit.login(), _account(request), client_address(request)
        limit.check(subject=account, address=address)
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.AuthenticationFailed:
            limit.record(subject=account, address=address)
            raise


class TokenRefreshInputView(TokenRefreshView):
    serializer_class = TokenRefreshInputSerializer

    @extend_schema(
        summary="A new access token", request=RefreshSerializer, responses={200: AccessSerializer, **problems(400, 401)}
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

"""Sign-in and the JWT lifecycle (core/auth_tokens.py): a pair for a password, a rotating refresh,
sign-out. Unknown fields are refused; wrong passwords are limited by the authentication backend
(core/authentication.py: per account and address, per address, then 429 `Retry-After`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer
from rest_framework_simplejwt.views import TokenObtainPairView

from core.auth_tokens import FamilyRefreshToken, refresh_token_rotate, refresh_token_sign_out
from core.inputs import InputSerializer, RejectUnknownFields
from core.schema import problems


class TokenObtainSerializer(RejectUnknownFields, TokenObtainPairSerializer):
    token_class = FamilyRefreshToken


class CredentialsSerializer(InputSerializer):
    username = serializers.CharField()
    password = serializers.CharField(trim_whitespace=False)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshSerializer(InputSerializer):
    refresh = serializers.CharField()


class TokenObtainView(TokenObtainPairView):
    serializer_class = TokenObtainSerializer

    @extend_schema(
        summary="Sign in: a JWT pair",
        request=CredentialsSerializer,
        responses={200: TokenPairSerializer, **problems(400, 401, 429)},
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class RefreshTokenView(APIView):
    """The refresh token in the body is the credential: no other authentication, and a 401 (with
    its `WWW-Authenticate`) when it is refused."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


class TokenRefreshInputView(RefreshTokenView):
    @extend_schema(
        summary="A new access token and a new refresh token (the one sent is spent)",
        description="Sending a refresh token that was already used ends its whole sign-in: 401, and "
        "no token of that sign-in refreshes any more.",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, **problems(400, 401)},
    )
    def post(self, request, *args, **kwargs):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(refresh_token_rotate(raw=serializer.validated_data["refresh"]))


class SignOutView(RefreshTokenView):
    @extend_schema(
        summary="Sign out: the refresh token's sign-in ends",
        description="Every refresh token of the sign-in stops working; access tokens already "
        "issued expire on their own (minutes).",
        request=RefreshSerializer,
        responses={204: None, **problems(400, 401)},
    )
    def post(self, request, *args, **kwargs):
        serializer = RefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        refresh_token_sign_out(raw=serializer.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)

import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from notifications.models import WebhookEndpoint
from tests.notifications.receiver import Receiver


@pytest.fixture(autouse=True)
def _offers_dispatch(offers_dispatch):
    """Couriers are offered orders rather than assigned one: an order's events are the ones a test makes."""


@pytest.fixture
def receivers():
    started = []

    def start(*script, **kwargs) -> Receiver:
        receiver = Receiver(*script, **kwargs)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.close()


@pytest.fixture
def endpoint_for(db):
    def create(receiver, **fields) -> WebhookEndpoint:
        return WebhookEndpoint.objects.create(
            name=fields.pop("name", "POS"),
            url=fields.pop("url", receiver.url if receiver else ""),
            secret=fields.pop("secret", "whsec_current"),
            **fields,
        )

    return create


@pytest.fixture
def localhost_certificate(tmp_path) -> tuple[str, str]:
    """A self-signed certificate for the name `localhost` only: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "localhost.pem", tmp_path / "localhost.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(cert_file), str(key_file)

"""RSA key pairs and self-signed X.509 certificates for the Salesforce JWT bearer flow."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# The issue (and NIST SP 800-57 Part 1, table 2) ask for RSA of at least 2048 bits;
# Salesforce connected apps accept 2048-bit RSA certificates for JWT bearer.
RSA_KEY_BITS = 2048
# RFC 8017 / common practice: public exponent 65537.
RSA_PUBLIC_EXPONENT = 65537
# Rotation replaces the certificate long before this (maximum rotation is 90 days);
# a year leaves room for a stalled rotation without the certificate expiring.
CERTIFICATE_VALIDITY = dt.timedelta(days=365)
# Tolerate clock skew between this function and Salesforce when checking notBefore.
CLOCK_SKEW = dt.timedelta(minutes=5)


def generate_key_and_certificate(common_name: str) -> tuple[str, str]:
    """Return ``(private_key_pem, certificate_pem)``: a new RSA key and self-signed cert."""
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return private_pem, certificate.public_bytes(serialization.Encoding.PEM).decode()


def certificate_fingerprint(certificate_pem: str) -> str:
    """Return the certificate's SHA-256 fingerprint as colon-separated hex (public, safe to log)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()

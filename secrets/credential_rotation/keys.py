"""RSA key pairs (Salesforce JWT bearer certificates, Snowflake key-pair public keys)."""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections import OrderedDict

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# NIST SP 800-57 Part 1 (table 2) asks for RSA of at least 2048 bits;
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
    return _private_pem(key), certificate.public_bytes(serialization.Encoding.PEM).decode()


def certificate_fingerprint(certificate_pem: str) -> str:
    """Return the certificate's SHA-256 fingerprint as colon-separated hex (public, safe to log)."""
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def generate_key_pair() -> tuple[str, str]:
    """Return ``(private_key_pem, public_key_pem)``: a new RSA key (PKCS#8, SPKI)."""
    key = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    private_pem = _private_pem(key)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem.decode()


# Keys this execution environment loaded or made, by their PEM, most recent last.
_KEYS: OrderedDict[str, rsa.RSAPrivateKey] = OrderedDict()
_KEYS_KEPT = 16
_KEYS_LOCK = threading.Lock()


def private_key(private_key_pem: str) -> rsa.RSAPrivateKey:
    """The RSA key of a PEM, loaded once per execution environment: loading checks the key's
    consistency (about 25 ms at 2,048 bits), and one rotation signs with, or derives from,
    the same key several times; a key this module made is known from the start. A PEM that
    is not an RSA private key raises ValueError (never remembered). A key stays in memory
    only as its PEM already does, in the secret value this environment read or wrote."""
    with _KEYS_LOCK:
        known = _KEYS.get(private_key_pem)
        if known is not None:
            _KEYS.move_to_end(private_key_pem)
            return known
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"not an RSA private key but {type(key).__name__}")
    return _remember(private_key_pem, key)


def forget_private_keys() -> None:
    """Forget every key ``private_key`` knows (tests count loads from a clean start)."""
    with _KEYS_LOCK:
        _KEYS.clear()


def _remember(private_key_pem: str, key: rsa.RSAPrivateKey) -> rsa.RSAPrivateKey:
    with _KEYS_LOCK:
        _KEYS[private_key_pem] = key
        while len(_KEYS) > _KEYS_KEPT:
            _KEYS.popitem(last=False)
    return key


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    """A new key's PEM (PKCS#8, unencrypted: it goes into the secret value), remembered."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    _remember(pem, key)
    return pem


def public_key_pem(private_key_pem: str) -> str:
    """The SubjectPublicKeyInfo PEM of a private key (public, safe to log)."""
    return (
        private_key(private_key_pem)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key_fingerprint(private_key_pem: str) -> str:
    """Snowflake's fingerprint of the key: ``SHA256:`` + base64 of the SHA-256 of the public
    key's DER (Snowflake docs, "Key-pair authentication", ``RSA_PUBLIC_KEY_FP``)."""
    key = private_key(private_key_pem)
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return "SHA256:" + base64.b64encode(digest.finalize()).decode()

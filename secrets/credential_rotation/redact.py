"""Keep secret material out of log lines and exception messages.

Three layers, because any one can miss: callers log identifiers only; every
value loaded from or written to a secret is registered with ``remember`` and
replaced wherever it shows up; and shape-based patterns (PEM blocks, JWTs,
``"client_secret": "..."``) catch what was never registered.

Usage::

    from credential_rotation.redact import get_logger, remember

    LOG = get_logger()
    remember(doc["client_secret"])
    LOG.info("rotated %s", arn)        # any remembered value is replaced by "***"
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from credential_rotation.formats import SECRET_FIELDS

MASK = "***"
LOGGER_NAME = "credential_rotation"

# Shorter values are too likely to collide with ordinary words; real secrets are longer.
_MIN_REMEMBERED_LENGTH = 8
_remembered: set[str] = set()
_lock = threading.Lock()

_PATTERNS = (
    re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.DOTALL),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(
        r"""(?P<k>["']?(?:""" + "|".join(sorted(SECRET_FIELDS)) + r""")["']?\s*[:=]\s*)"""
        r"""["']?[^"',\s}]+["']?""",
        re.IGNORECASE,
    ),
)


def remember(*values: Any) -> None:
    """Register secret values so every later log line and message masks them."""
    with _lock:
        for value in values:
            if isinstance(value, str) and len(value) >= _MIN_REMEMBERED_LENGTH:
                _remembered.add(value)


def remember_secret_fields(doc: dict[str, Any]) -> None:
    """Register the secret fields of a parsed ``SecretString``."""
    remember(*(doc.get(field) for field in SECRET_FIELDS))


def redact_text(text: str) -> str:
    """Return ``text`` with remembered values and secret-shaped substrings masked."""
    with _lock:
        remembered = sorted(_remembered, key=len, reverse=True)
    for value in remembered:
        if value in text:
            text = text.replace(value, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.groupdict().get("k") or "") + MASK, text)
    return text


def redact_mapping(doc: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of a secret document with its secret fields masked, for diagnostics."""
    return {k: (MASK if k in SECRET_FIELDS else v) for k, v in doc.items()}


class RedactingFilter(logging.Filter):
    """Logging filter: pass each record's message and traceback through ``redact_text``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def get_logger() -> logging.Logger:
    """Return the bundle's single logger, with the redacting filter installed once."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger

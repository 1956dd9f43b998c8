"""The one-line messages for rejected credentials and untrusted certificates (the probe's and the
engines' connect paths say the same thing)."""

from __future__ import annotations

import ssl

from kafkactl.config import Settings


def certificate_message(exc: ssl.SSLCertVerificationError, server: str, settings: Settings) -> str:
    """One line naming the certificate problem and the setting to fix."""
    why = str(getattr(exc, "verify_message", "") or ssl_reason(exc)).rstrip(".")
    if "hostname mismatch" in why.lower() or "ip address mismatch" in why.lower():
        return (
            f"TLS certificate problem at {server}: hostname mismatch ({why}); connect with a "
            "name the broker certificate lists, or set KAFKA_SSL_CHECK_HOSTNAME=false "
            "(not for production)"
        )
    ca = settings.ssl_cafile or "the system CA store"
    return (
        f"TLS certificate problem at {server}: certificate verify failed ({why}); the broker "
        f"certificate is not trusted by {ca}: set KAFKA_SSL_CAFILE to the CA that signed it"
    )


def auth_failed_message(settings: Settings, server: str, why: str | None) -> str:
    """The one line for rejected credentials; never contains the password."""
    if settings.sasl_mechanism == "OAUTHBEARER":
        from kafkactl.kafka.oauth import refused_message

        return refused_message(settings, server, why)
    detail = f": {why.rstrip('.')}" if why else ""
    return (
        f"authentication failed for user {settings.sasl_username} "
        f"(mechanism {settings.sasl_mechanism}) at {server}{detail}; check KAFKA_SASL_USERNAME, "
        "KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE) and KAFKA_SASL_MECHANISM"
    )


def ssl_reason(exc: BaseException) -> str:
    """The reason of an SSL or OS error, as short as it gets."""
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__

"""The registry client: confluent-kafka's SchemaRegistryClient, its errors mapped to kafkactl's.

RegistryUnreachable (exit 3): no answer after the client's retries, or credentials refused.
RegistryError (exit 1): the registry answered no (incompatible or invalid schema, unknown
subject or id), with its own reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

from kafkactl.errors import KafkactlError, RegistryError, RegistryUnreachable, SchemaMismatch
from kafkactl.kafka.schemas import answers
from kafkactl.kafka.schemas.answers import RegistryAnswer
from kafkactl.schemas.model import SchemaKind
from kafkactl.terminal_text import safe_for_terminal

T = TypeVar("T")

# The client retries a refused connection or a 5xx itself: 3 more tries, 0.2s growing to 2s.
CLIENT_RETRIES = 3
REQUEST_TIMEOUT_S = 10.0
START_HINT = "check KAFKA_SCHEMA_REGISTRY_URL (locally: scripts/schema-registry-local start)"


def _reason(exc: BaseException) -> str:
    """What went wrong, in one short printable line (an error body can be anything)."""
    if isinstance(exc, SchemaRegistryError):
        return f"{_short(str(exc.error_message))} (HTTP {exc.http_status_code})"
    text = _short(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _short(text: str, most: int = 200) -> str:
    line = " ".join(safe_for_terminal(text[: most * 2]).split())
    return line if len(line) <= most else line[: most - 3] + "..."


class RegistryClient:
    """Calls to a Confluent-compatible schema registry, its errors mapped to kafkactl's (the
    codecs and the decoder use it; kafkactl.kafka.schemas.port.Registry is the port)."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        cafile: str | None = None,
    ) -> None:
        self.url = url
        conf: dict[str, Any] = {
            "url": url,
            "timeout": REQUEST_TIMEOUT_S,
            "max.retries": CLIENT_RETRIES,
            "retries.wait.ms": 200,
            "retries.max.wait.ms": 2000,
        }
        if username is not None and password is not None:
            conf["basic.auth.user.info"] = f"{username}:{password}"
        if cafile is not None:
            conf["ssl.ca.location"] = cafile
        self.client = SchemaRegistryClient(conf)
        session = getattr(getattr(self.client, "_rest_client", None), "session", None)
        if session is not None:
            answers.install(session)

    # --- errors ----------------------------------------------------------------------------

    def unreachable(self, exc: BaseException, doing: str) -> RegistryUnreachable:
        """The one line for a registry that did not answer (or refused our credentials)."""
        if isinstance(exc, SchemaRegistryError) and exc.http_status_code in (401, 403):
            return RegistryUnreachable(
                f"schema registry at {self.url} refused our credentials while {doing} "
                f"(HTTP {exc.http_status_code}); check KAFKA_SCHEMA_REGISTRY_USERNAME and "
                "KAFKA_SCHEMA_REGISTRY_PASSWORD"
            )
        if isinstance(exc, SchemaRegistryError) and exc.http_status_code >= 500:
            return RegistryUnreachable(
                f"schema registry at {self.url} kept failing while {doing} ({_reason(exc)}, "
                f"after {CLIENT_RETRIES} retries); try again later, or check the registry"
            )
        return RegistryUnreachable(
            f"schema registry at {self.url} could not be reached while {doing} "
            f"({_reason(exc)}, after {CLIENT_RETRIES} retries); {START_HINT}"
        )

    def mapped(
        self, exc: SchemaRegistryError, doing: str, subject: str | None = None
    ) -> KafkactlError:
        """kafkactl's error for what the registry answered while `doing`."""
        status, code = exc.http_status_code, exc.error_code
        if status in (401, 403) or status >= 500 or status < 0:
            return self.unreachable(exc, doing)
        if status == 404 and code in (40401, 40402) and subject is not None:
            return RegistryError(
                f"subject {subject} has no registered schema at {self.url}; give the schema "
                "file (--value-schema FILE / --key-schema FILE) to register one"
            )
        if status == 404 and code not in (40401, 40402, 40403):
            return RegistryError(
                f"{self.url} does not answer like a schema registry while {doing} "
                f"({_reason(exc)}); {START_HINT} (Apicurio: .../apis/ccompat/v7)"
            )
        if status == 409:
            return RegistryError(
                f"the schema registry refused the schema for {subject or 'the subject'}: it "
                f"is not compatible with the registered versions: {exc.error_message}"
            )
        if status == 422:
            return RegistryError(
                f"the schema registry refused the schema for {subject or 'the subject'} as "
                f"invalid: {exc.error_message}"
            )
        return RegistryError(f"schema registry error while {doing}: {_reason(exc)}")

    def odd_answer(self, exc: BaseException, doing: str) -> RegistryError:
        """The one line for an answer no schema registry gives (empty, not JSON, a redirect,
        too large, a document of the wrong shape)."""
        if not isinstance(exc, RegistryAnswer):
            exc = RegistryAnswer(f"answered with a document no registry gives ({_reason(exc)})")
        return RegistryError(
            f"schema registry at {self.url} {exc.what} while {doing}; {exc.advice}"
        )

    @contextmanager
    def calling(self, doing: str, subject: str | None = None) -> Iterator[None]:
        """Map what the client raises while `doing` to kafkactl's errors."""
        try:
            yield
        except (KafkactlError, SchemaMismatch):
            raise
        except SchemaRegistryError as exc:
            raise self.mapped(exc, doing, subject) from None
        except (RegistryAnswer, KeyError, AttributeError, TypeError, ValueError) as exc:
            # The client parses the answer's document: these are its complaints about it.
            raise self.odd_answer(exc, doing) from None
        except Exception as exc:  # httpx transport errors: refused, reset, DNS, TLS, timeout
            raise self.unreachable(exc, doing) from None

    def call(self, doing: str, fn: Callable[[], T], subject: str | None = None) -> T:
        """`fn()` with the client's errors mapped (see `calling`)."""
        with self.calling(doing, subject):
            return fn()

    # --- reads -----------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Every subject registered."""
        found: list[str] = self.call("listing subjects", self.client.get_subjects)
        return sorted(found)

    def schema_by_id(self, schema_id: int) -> Any:
        """The Schema (text, kind) with this id."""
        return self.call(
            f"fetching schema id {schema_id}", lambda: self.client.get_schema(schema_id)
        )

    def latest(self, subject: str) -> Any:
        """The subject's latest RegisteredSchema (id, version, schema)."""
        return self.call(
            f"fetching the latest version of {subject}",
            lambda: self.client.get_latest_version(subject),
            subject,
        )

    def version_of(self, subject: str, schema_id: int) -> int | None:
        """The version under `subject` of the schema with this id, when it is the latest."""
        try:
            latest = self.client.get_latest_version(subject)
        except Exception:
            return None
        return int(latest.version or 0) if latest.schema_id == schema_id else None

    # --- writes ----------------------------------------------------------------------------

    def register(self, subject: str, kind: SchemaKind, text: str) -> int:
        """Register `text` under `subject` (the registry answers with its id; an identical
        schema keeps its id)."""
        schema = Schema(text, kind)
        result = self.call(
            f"registering a schema under {subject}",
            lambda: self.client.register_schema_full_response(subject, schema),
            subject,
        )
        return int(result.schema_id or 0)

    def lookup(self, subject: str, kind: SchemaKind, text: str) -> int:
        """The id of `text` under `subject` without registering it (--no-register)."""
        schema = Schema(text, kind)
        try:
            return int(self.client.lookup_schema(subject, schema).schema_id or 0)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise RegistryError(
                    f"the schema is not registered under {subject} (--no-register); "
                    "drop --no-register to register it, or use --value-subject alone for "
                    "the latest registered version"
                ) from None
            with self.calling(f"looking the schema up under {subject}", subject):
                raise

    def close(self) -> None:
        """Close the HTTP session."""
        session = getattr(getattr(self.client, "_rest_client", None), "session", None)
        if session is not None:
            with suppress(Exception):
                session.close()

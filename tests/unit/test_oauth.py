"""OAUTHBEARER settings and token sources, -X client settings (logic only, no broker).

The OIDC source talks to a small token endpoint served by the test; MSK IAM signs with fixed
credentials (no AWS is reached: the signature is made locally)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kafkactl.config import Settings, load_settings
from kafkactl.errors import EXIT_UNREACHABLE, EXIT_USAGE, ConfigError
from kafkactl.kafka import oauth
from kafkactl.kafka.client_options import (
    check_client_options,
    kafka_python_options,
    reads_committed,
)
from kafkactl.kafka.oauth.sources import CommandSource, MskIamSource, OidcSource
from kafkactl.kafka.oauth.tokens import Token, TokenCache, TokenError
from kafkactl.log import redact

SECRET = "cl1ent-S3cret-xyz"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}


def jwt_like(claims: dict[str, Any]) -> str:
    """An unsigned JWT-shaped token (the sources read claims without checking signatures)."""

    def part(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


def oauth_env(env: dict[str, str], **extra: str) -> dict[str, str]:
    return {
        **env,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "OAUTHBEARER",
        **extra,
    }


# --- settings ---------------------------------------------------------------------------------


def test_client_credentials_with_the_secret_from_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    settings = load_settings(
        env=oauth_env(
            env,
            KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL="https://idp.example.com/oauth2/token",
            KAFKA_SASL_OAUTH_CLIENT_ID="svc",
            KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE=str(secret_file),
            KAFKA_SASL_OAUTH_EXTENSIONS="logicalCluster=lkc-1,identityPoolId=pool-2",
        )
    )
    assert settings.sasl_oauth_method == "oidc"
    assert settings.sources["sasl_oauth_method"] == (
        "default (from KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL)"
    )
    assert settings.sasl_oauth_client_secret == SECRET
    assert settings.sources["sasl_oauth_client_secret"] == "env (secret file)"
    assert settings.sasl_oauth_extensions == (
        ("logicalCluster", "lkc-1"),
        ("identityPoolId", "pool-2"),
    )
    assert SECRET in settings.secrets()
    shown = json.dumps(settings.as_dict()) + str(settings.rows()) + repr(settings)
    assert SECRET not in shown


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ({}, ["KAFKA_SASL_MECHANISM", "OAUTHBEARER needs a way to get tokens"]),
        (
            {"KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL": "https://idp/token"},
            ["KAFKA_SASL_OAUTH_CLIENT_ID", "required"],
        ),
        (
            {
                "KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL": "https://idp/token",
                "KAFKA_SASL_OAUTH_CLIENT_ID": "a",
            },
            ["KAFKA_SASL_OAUTH_CLIENT_SECRET", "KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE"],
        ),
        (
            {"KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL": "https://u:p@idp/token"},
            ["KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL", "user:password@"],
        ),
        (
            {"KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL": "ftp://idp/token"},
            ["KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL", "http"],
        ),
        (
            {
                "KAFKA_SASL_OAUTH_TOKEN_COMMAND": "x",
                "KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL": "https://i/t",
            },
            ["both a token command and a token endpoint"],
        ),
        ({"KAFKA_SASL_OAUTH_METHOD": "kerberos"}, ["KAFKA_SASL_OAUTH_METHOD", "oidc, command"]),
        (
            {
                "KAFKA_SASL_OAUTH_METHOD": "command",
                "KAFKA_SASL_OAUTH_TOKEN_COMMAND": "x",
                "KAFKA_SASL_OAUTH_EXTENSIONS": "auth=x",
            },
            ["KAFKA_SASL_OAUTH_EXTENSIONS", "not allowed"],
        ),
        (
            {"KAFKA_SASL_OAUTH_METHOD": "aws-msk-iam", "KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT"},
            ["KAFKA_SECURITY_PROTOCOL", "SASL_SSL"],
        ),
    ],
)
def test_bad_oauth_settings_are_exit_2_naming_the_setting(
    env: dict[str, str], extra: dict[str, str], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env=oauth_env(env, **extra))
    assert err.value.exit_code == EXIT_USAGE
    for fragment in fragments:
        assert fragment in str(err.value)


def test_an_oauth_mechanism_needs_no_username_or_password(env: dict[str, str]) -> None:
    settings = load_settings(env=oauth_env(env, KAFKA_SASL_OAUTH_TOKEN_COMMAND="print-token"))
    assert (settings.sasl_oauth_method, settings.sasl_username) == ("command", None)


# --- the token cache --------------------------------------------------------------------------


def test_the_cache_fetches_once_and_again_before_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    fetched: list[int] = []

    def fetch() -> Token:
        fetched.append(1)
        return Token(f"tok-{len(fetched)}", now[0] + 100, "p")

    cache = TokenCache(fetch, "test")
    assert cache.token().value == "tok-1"
    now[0] += 79
    assert cache.token().value == "tok-1"  # 79 % of its lifetime: still the same
    now[0] += 2
    assert cache.token().value == "tok-2"  # past 80 %: fetched again
    assert len(fetched) == 2
    assert redact("Bearer tok-2") == "Bearer ***"  # a token is masked in logs once fetched


def test_a_failed_refresh_keeps_a_valid_token_and_raises_after_expiry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    answers: list[Token | TokenError] = [Token("first", 1100, "p"), TokenError("idp down")]

    def fetch() -> Token:
        answer = answers[0] if len(answers) == 1 else answers.pop(0)
        if isinstance(answer, TokenError):
            raise answer
        return answer

    cache = TokenCache(fetch, "test")
    assert cache.token().value == "first"
    now[0] = 1090.0
    assert cache.token().value == "first"  # the refresh failed; the token is still valid
    now[0] = 1101.0
    with pytest.raises(TokenError, match="idp down") as err:
        cache.token()
    assert err.value.exit_code == EXIT_UNREACHABLE


# --- the token command ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "lifetime"),
    [
        ('{"token": "abc", "expires_in": 120}', 120),
        ('{"access_token": "abc", "expires_in": "60", "token_type": "Bearer"}', 60),
        ("abc\n", 300),  # a token alone: five minutes
    ],
)
def test_the_token_command_output(tmp_path: Path, printed: str, lifetime: float) -> None:
    out = tmp_path / "out"
    out.write_text(printed)
    started = time.time()
    token = CommandSource(f"cat {out}").fetch()
    assert token.value == "abc"
    assert abs(token.expires_at - started - lifetime) < 5


def test_a_jwt_alone_lives_until_its_exp(tmp_path: Path) -> None:
    exp = int(time.time()) + 900
    value = jwt_like({"sub": "svc-1", "exp": exp})
    out = tmp_path / "out"
    out.write_text(value + "\n")
    token = CommandSource(f"cat {out}").fetch()
    assert (token.value, token.expires_at, token.principal) == (value, exp, "svc-1")


def test_a_hanging_token_command_is_stopped_with_its_children() -> None:
    started = time.monotonic()
    with pytest.raises(TokenError, match="did not finish within 1s"):
        CommandSource("sleep 30 & sleep 30; echo late", timeout=1).fetch()
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("command", "fragment"),
    [
        ("exit 7", "exited with status 7"),
        ("echo 'no such profile' >&2; exit 1", "no such profile"),
        ("true", "printed nothing"),
        ("echo '{\"expires_in\": 5}'", "no access_token"),
        ('echo \'{"token": "a", "expires_in": "soon"}\'', "not a number"),
        ("echo '{broken'", "not JSON"),
        ("echo 'two words'", "print the token alone"),
    ],
)
def test_a_failing_token_command_is_one_line(command: str, fragment: str) -> None:
    with pytest.raises(TokenError) as err:
        CommandSource(command).fetch()
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


# --- the OIDC token endpoint ------------------------------------------------------------------


@pytest.fixture
def token_endpoint() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A token endpoint that issues `tok` to client svc with SECRET; records each request."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            seen.append({"auth": self.headers.get("Authorization", ""), "body": body})
            good = "Basic " + base64.b64encode(f"svc:{SECRET}".encode()).decode()
            answer: dict[str, object]
            if self.headers.get("Authorization") != good:
                status, answer = 401, {"error": "invalid_client"}
            elif self.path == "/huge":
                status, answer = 200, {"access_token": "x" * (2 * 1024 * 1024)}
            else:
                status, answer = 200, {"access_token": "tok", "expires_in": 30}
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


def test_client_credentials_grant(token_endpoint: tuple[str, list[dict[str, str]]]) -> None:
    url, seen = token_endpoint
    token = OidcSource(f"{url}/token", "svc", SECRET, "kafka read", 5).fetch()
    assert token.value == "tok"
    assert seen[0]["body"] == "grant_type=client_credentials&scope=kafka+read"


def test_a_wrong_secret_is_one_line_without_the_secret(
    token_endpoint: tuple[str, list[dict[str, str]]],
) -> None:
    url, _ = token_endpoint
    with pytest.raises(TokenError) as err:
        OidcSource(f"{url}/token", "svc", "wrong-secret", None, 5).fetch()
    text = str(err.value)
    assert "refused client svc (HTTP 401 invalid_client)" in text
    assert "wrong-secret" not in text


def test_an_answer_over_1_mib_is_refused(token_endpoint: tuple[str, list[dict[str, str]]]) -> None:
    url, _ = token_endpoint
    with pytest.raises(TokenError, match="more than 1 MiB"):
        OidcSource(f"{url}/huge", "svc", SECRET, None, 5).fetch()


def test_an_unreachable_endpoint_is_one_line() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TokenError, match="cannot reach the token endpoint"):
        OidcSource(f"http://127.0.0.1:{port}/token", "svc", SECRET, None, 2).fetch()


# --- AWS MSK IAM ------------------------------------------------------------------------------


def test_msk_iam_signs_with_the_default_credential_chain(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    pytest.importorskip("aws_msk_iam_sasl_signer", reason="the aws extra is not installed")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    settings = load_settings(env=oauth_env(env, KAFKA_SASL_OAUTH_METHOD="aws-msk-iam"))
    source = MskIamSource(settings.sasl_oauth_aws_region)
    assert source.region == "eu-west-1"
    token = source.fetch()
    url = base64.urlsafe_b64decode(token.value + "=" * (-len(token.value) % 4)).decode()
    assert url.startswith("https://kafka.eu-west-1.amazonaws.com/?Action=kafka-cluster%3AConnect")
    assert "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE" in url
    assert 0 < token.expires_at - time.time() <= 900
    # the region setting wins over the environment's
    assert MskIamSource("us-east-2").region == "us-east-2"


def test_msk_iam_without_a_region_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("aws_msk_iam_sasl_signer", reason="the aws extra is not installed")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigError, match="no AWS region found") as err:
        MskIamSource(None)
    assert err.value.exit_code == EXIT_USAGE


# --- the engines' hooks -----------------------------------------------------------------------


def test_librdkafka_callback_and_kafka_python_provider(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text(json.dumps({"token": jwt_like({"sub": "svc-9"}), "expires_in": 60}))
    settings = load_settings(
        env=oauth_env(
            env, KAFKA_SASL_OAUTH_TOKEN_COMMAND=f"cat {out}", KAFKA_SASL_OAUTH_EXTENSIONS="a=1"
        )
    )
    value, expiry, principal, extensions = oauth.librdkafka_callback(settings)("")
    assert (principal, extensions) == ("svc-9", {"a": "1"})
    assert 50 < expiry - time.time() <= 60
    from kafkactl.kafka.kafka_python.config import producer_config

    provider = producer_config(settings)["sasl_oauth_token_provider"]
    assert (provider.token(), provider.extensions()) == (value, {"a": "1"})


def test_a_refused_token_says_whether_it_had_expired(env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text(jwt_like({"sub": "x", "exp": int(time.time()) - 120}))
    settings = load_settings(env=oauth_env(env, KAFKA_SASL_OAUTH_TOKEN_COMMAND=f"cat {out}"))
    oauth.token_cache(settings).token()
    text = oauth.refused_message(settings, "b:9092", '{"status":"invalid_token"}')
    assert "expired 12" in text and "the broker said: invalid_token" in text


# --- -X client settings -----------------------------------------------------------------------


def _with_options(env: dict[str, str], *options: str) -> Settings:
    return load_settings(flags={"client_options": list(options)}, env=env)


def test_kafka_python_translates_dotted_names_and_types_values(env: dict[str, str]) -> None:
    settings = _with_options(
        env, "linger.ms=7", "ssl.ca.location=/ca.pem", "socket.keepalive.enable=true"
    )
    with pytest.raises(ConfigError, match=r"keepalive\.enable is not a kafka-python"):
        check_client_options(settings, "kafka-python")
    settings = _with_options(env, "linger.ms=7", "ssl.ca.location=/ca.pem", "fetch_max_wait_ms=50")
    check_client_options(settings, "kafka-python")
    assert kafka_python_options(settings, "producer") == {"linger_ms": 7, "ssl_cafile": "/ca.pem"}
    assert kafka_python_options(settings, "consumer") == {
        "ssl_cafile": "/ca.pem",
        "fetch_max_wait_ms": 50,
    }


@pytest.mark.parametrize(
    ("option", "engine", "fragment"),
    [
        ("linger.ms=soon", "kafka-python", "must be a whole number"),
        ("enable.auto.commit=true", "kafka-python", "set by kafkactl"),
        ("group.id=x", "librdkafka", "set by kafkactl"),
        ("no.such.thing=1", "librdkafka", "no.such.thing: librdkafka refused it"),
        ("linger.ms=soon", "librdkafka", "linger.ms: librdkafka refused it"),
        ("key_serializer=x", "kafka-python", "not a kafka-python setting"),
    ],
)
def test_bad_client_options_are_exit_2(
    env: dict[str, str], option: str, engine: str, fragment: str
) -> None:
    if engine == "librdkafka":
        pytest.importorskip("confluent_kafka")
    with pytest.raises(ConfigError) as err:
        check_client_options(_with_options(env, option), engine)
    assert err.value.exit_code == EXIT_USAGE
    assert fragment in str(err.value) and str(err.value).startswith("-X (from flag)")


def test_client_option_secrets_are_masked(env: dict[str, str]) -> None:
    settings = _with_options(env, "sasl.password=hunter2", "linger.ms=5")
    assert "hunter2" in settings.secrets()
    shown = json.dumps(settings.as_dict()) + str(settings.rows()) + repr(settings)
    assert "hunter2" not in shown and "linger.ms=5" in shown


def test_isolation_level_setting(env: dict[str, str]) -> None:
    default = load_settings(env=env)
    assert (reads_committed(default, False), reads_committed(default, True)) == (False, True)
    chosen = load_settings(flags={"consumer_isolation_level": "read_uncommitted"}, env=env)
    assert reads_committed(chosen, True) is False

"""SASL/OAUTHBEARER end to end against a broker that validates signed JWTs (DESIGN §3.5).

The test is its own identity provider: an http.server thread on 127.0.0.1 serves a JWKS and
a client-credentials token endpoint, signing RS256 JWTs. A broker of its own (fixture
`oauth_broker`, scripts/kafka-local with KAFKA_LOCAL_OAUTH_JWKS_URL) checks every token against
that JWKS with Kafka's OAuthBearerValidatorCallbackHandler. Both engines.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import KAFKA_LOCAL, REPO
from tests.integration.hostile_cases import assert_one_error, kafkactl, kcat_count

pytestmark = pytest.mark.integration

CLIENT_ID = "kafkactl-test"
KID = "test-key-1"


class IdentityProvider:
    """A JWKS (GET /jwks) and a client-credentials token endpoint (POST /token)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.secret = f"s3cr3t-{uuid.uuid4().hex[:16]}"
        self.lifetime = 3600
        self.token_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self._answer(404, {"error": "not_found"})
                    return
                jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                self._answer(200, {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode()
                provider.token_requests += 1
                auth = self.headers.get("Authorization", "")
                expected = base64.b64encode(f"{CLIENT_ID}:{provider.secret}".encode()).decode()
                if self.path != "/token" or "grant_type=client_credentials" not in form:
                    self._answer(400, {"error": "unsupported_grant_type"})
                elif auth != f"Basic {expected}":
                    self._answer(401, {"error": "invalid_client"})
                else:
                    token = provider.mint(CLIENT_ID, provider.lifetime)
                    self._answer(
                        200,
                        {
                            "access_token": token,
                            "token_type": "Bearer",
                            "expires_in": provider.lifetime,
                        },
                    )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jwks"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def mint(self, sub: str, lifetime: float, key: Any = None) -> str:
        """A signed RS256 JWT for `sub`, valid `lifetime` seconds from now (negative: expired)."""
        now = int(time.time())
        claims = {"sub": sub, "iat": now - 5, "exp": int(now + lifetime), "scope": "kafka"}
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KID})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class OAuthBroker:
    idp: IdentityProvider
    plaintext: str  # 127.0.0.1:port of the PLAINTEXT listener (kcat, setup)
    oauth: str  # 127.0.0.1:port of the SASL_PLAINTEXT OAUTHBEARER listener


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for sock in socks:
        sock.close()
    return ports


@pytest.fixture(scope="module")
def oauth_broker() -> Iterator[OAuthBroker]:
    """An identity provider, then a broker of its own whose OAuth listener trusts its JWKS."""
    idp = IdentityProvider()
    data_dir = tempfile.mkdtemp(prefix="kafkactl-test-oauth-")
    port, cport, oauth_port = _free_ports(3)
    env = {
        **os.environ,
        "KAFKA_LOCAL_PORT": str(port),
        "KAFKA_LOCAL_CONTROLLER_PORT": str(cport),
        "KAFKA_LOCAL_DIR": data_dir,
        "KAFKA_LOCAL_SECURE": "0",
        "KAFKA_LOCAL_HEAP": "384m",
        "KAFKA_LOCAL_OAUTH_JWKS_URL": idp.jwks_url,
        "KAFKA_LOCAL_OAUTH_PORT": str(oauth_port),
        "KAFKA_LOCAL_JAVA_OPTS": f"-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls={idp.jwks_url}",
    }
    # Reuse the Kafka jars the shared broker resolved (Maven runs only when there are none).
    for folder in (os.environ.get("KAFKA_LOCAL_DIR"), str(REPO / ".kafka-local")):
        shared = Path(folder or "-") / "classpath.txt"
        if shared.is_file():
            shutil.copy(shared, Path(data_dir) / "classpath.txt")
            break
    try:
        subprocess.run([str(KAFKA_LOCAL), "start"], env=env, check=True, timeout=180)
        yield OAuthBroker(idp, f"127.0.0.1:{port}", f"127.0.0.1:{oauth_port}")
    finally:
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, check=False, timeout=180)
        shutil.rmtree(data_dir, ignore_errors=True)
        idp.close()


def _env(engine: str, tmp_path: Path, brokers: str, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "KAFKACTL_"))}
    env.update(
        KAFKA_BROKERS=brokers,
        KAFKA_ENGINE=engine,
        KAFKA_LOG_FORMAT="json",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=os.pathsep.join([str(REPO), str(tmp_path)]),
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="OAUTHBEARER",
        KAFKA_CONNECT_TIMEOUT="15s",
    )
    env.update(settings)
    return env


def _oidc_env(broker: OAuthBroker, engine: str, tmp_path: Path, secret: str, **extra: str) -> dict:
    secret_file = tmp_path / f"client-secret-{uuid.uuid4().hex[:6]}"
    secret_file.write_text(secret + "\n")
    return _env(
        engine,
        tmp_path,
        broker.oauth,
        KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL=extra.pop("url", broker.idp.token_url),
        KAFKA_SASL_OAUTH_CLIENT_ID=CLIENT_ID,
        KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE=str(secret_file),
        KAFKA_SASL_OAUTH_SCOPE="kafka",
        KAFKA_SASL_OAUTH_EXTENSIONS="traceId=abc123",
        **extra,
    )


def _command_env(broker: OAuthBroker, engine: str, tmp_path: Path, output: str) -> dict:
    """A token command that prints `output` (cat of a file the test wrote)."""
    out = tmp_path / f"token-{uuid.uuid4().hex[:6]}.out"
    out.write_text(output)
    return _env(engine, tmp_path, broker.oauth, KAFKA_SASL_OAUTH_TOKEN_COMMAND=f"cat {out}")


HANDLER = """
from kafkactl import FatalError


def handle(message):
    if message.json()["n"] % 5 == 0:
        raise FatalError("rejected on purpose")
"""


def _pipeline(broker: OAuthBroker, env: dict[str, str], tmp_path: Path) -> None:
    """create-topics, produce 30, consume with a handler dead-lettering every fifth: all over
    OAUTHBEARER; counted with kcat on the plaintext listener."""
    (tmp_path / "oauth_handlers.py").write_text(HANDLER)
    topic, group = f"oauth-{uuid.uuid4().hex[:8]}", "billing"
    created = kafkactl("create-topics", topic, "-g", group, env=env, timeout=60)
    assert created.returncode == 0, created
    lines = "".join(json.dumps({"n": n}) + "\n" for n in range(30))
    produced = kafkactl("produce", topic, env=env, input=lines.encode(), timeout=60)
    assert produced.returncode == 0, produced
    consume = ["consume", topic, "-g", group, "--handler", "oauth_handlers:handle", "-e"]
    consumed = kafkactl(
        *consume, env={**env, "KAFKA_RETRY_DELAYS": "100ms"}, cwd=tmp_path, timeout=90
    )
    assert consumed.returncode == 0, consumed
    assert kcat_count(broker.plaintext, topic) == 30
    assert kcat_count(broker.plaintext, f"{topic}.{group}.dlq") == 6


@pytest.mark.timeout(240)
def test_client_credentials_produce_consume_dlq(
    oauth_broker: OAuthBroker, engine: str, tmp_path: Path
) -> None:
    env = _oidc_env(oauth_broker, engine, tmp_path, oauth_broker.idp.secret)
    before = oauth_broker.idp.token_requests
    _pipeline(oauth_broker, env, tmp_path)
    # One token per run, shared by its admin client, producer, consumer and the probe.
    assert oauth_broker.idp.token_requests - before == 3


@pytest.mark.timeout(240)
def test_token_command_produce_consume_dlq(
    oauth_broker: OAuthBroker, engine: str, tmp_path: Path
) -> None:
    token = oauth_broker.idp.mint("command-user", 600)
    env = _command_env(
        oauth_broker, engine, tmp_path, json.dumps({"token": token, "expires_in": 600})
    )
    _pipeline(oauth_broker, env, tmp_path)
    # DEBUG logs (kafka-python dumps configs and SASL bytes; a librdkafka run, which loads no
    # kafka-python since its admin client is confluent-kafka's, logs kafkactl's own lines)
    # never carry the token.
    debug = kafkactl("health", env={**env, "KAFKA_LOG_LEVEL": "DEBUG"}, timeout=60)
    assert debug.returncode == 0, debug
    lines = debug.err.splitlines()
    assert len(lines) > (20 if engine == "kafka-python" else 5), "DEBUG logged almost nothing"
    assert any("OAuth token from the token command" in line for line in lines)
    assert token not in debug.out + debug.err


def test_config_shows_where_each_oauth_setting_came_from(
    oauth_broker: OAuthBroker, engine: str, tmp_path: Path
) -> None:
    env = _oidc_env(oauth_broker, engine, tmp_path, oauth_broker.idp.secret)
    shown = kafkactl("config", "--json", env=env)
    assert shown.returncode == 0, shown
    settings = json.loads(shown.out)["settings"]
    assert settings["sasl_oauth_method"]["source"].startswith(
        "default (from KAFKA_SASL_OAUTH_TOKEN"
    )
    assert settings["sasl_oauth_client_secret"]["value"] == "********"
    assert "secret file" in settings["sasl_oauth_client_secret"]["source"]
    assert oauth_broker.idp.secret not in shown.out + shown.err


def _failures(
    broker: OAuthBroker, engine: str, tmp_path: Path
) -> list[tuple[str, dict[str, str], list[str], list[str]]]:
    """(case, environment, words of the error line, secrets no output may hold)."""
    idp = broker.idp
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    closed = _free_ports(1)[0]
    expired = idp.mint("late", -3600)
    forged = idp.mint("forger", 600, other_key)
    return [
        (
            "wrong secret",
            _oidc_env(broker, engine, tmp_path, "not-the-secret"),
            ["refused client", "HTTP 401", "invalid_client"],
            ["not-the-secret"],
        ),
        (
            "expired token",
            _command_env(broker, engine, tmp_path, expired + "\n"),
            ["refused the OAuth token", "expired"],
            [expired],
        ),
        (
            "bad signature",
            _command_env(
                broker,
                engine,
                tmp_path,
                json.dumps({"access_token": forged, "expires_in": 600}),
            ),
            ["refused the OAuth token", "signature"],
            [forged],
        ),
        (
            "unreachable token endpoint",
            _oidc_env(broker, engine, tmp_path, idp.secret, url=f"http://127.0.0.1:{closed}/token"),
            ["cannot reach", "KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL"],
            [idp.secret],
        ),
    ]


def test_refusals_are_one_line_exit_3_and_no_secret_is_logged(
    oauth_broker: OAuthBroker, engine: str, tmp_path: Path
) -> None:
    topic = f"oauth-{uuid.uuid4().hex[:8]}"
    setup = kafkactl(
        "create-topics",
        topic,
        "--brokers",
        oauth_broker.plaintext,
        env={
            **_env(engine, tmp_path, oauth_broker.plaintext),
            "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
            "KAFKA_SASL_MECHANISM": "",
        },
    )
    assert setup.returncode == 0, setup
    for name, env, keywords, secrets in _failures(oauth_broker, engine, tmp_path):
        for level in ("INFO", "DEBUG"):
            t0 = time.monotonic()
            ran = kafkactl(
                "produce", topic, env={**env, "KAFKA_LOG_LEVEL": level}, input=b'{"a":1}\n'
            )
            took = time.monotonic() - t0
            assert ran.returncode == 3, f"{name}: {ran}"
            if level == "INFO":
                assert_one_error(ran, keywords)
            assert took < 10, f"{name}: took {took:.1f}s, not at once"
            for secret in (oauth_broker.idp.secret, *secrets):
                assert secret not in ran.out + ran.err, f"{name}: a secret in the output"
    assert kcat_count(oauth_broker.plaintext, topic) == 0

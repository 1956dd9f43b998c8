"""Where OAUTHBEARER tokens come from: an OIDC token endpoint (client credentials grant), a
token command, or AWS MSK IAM (the `kafkactl[aws]` extra). Each `fetch` returns a Token or
raises TokenError (exit 3) in one line that never holds a secret."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kafkactl.errors import ConfigError
from kafkactl.kafka.oauth.tokens import Token, TokenError, jwt_claims, principal_of
from kafkactl.log import register_secrets

# An OAuth answer or a command's output is a few kilobytes; read no more than this.
MAX_ANSWER_BYTES = 1024 * 1024
# A token printed alone, not a JWT with an expiry: fetched again after this long.
DEFAULT_LIFETIME_S = 300.0
COMMAND_TIMEOUT_S = 30.0
INSTALL_AWS = "pip install 'kafkactl[aws]' (or: pip install aws-msk-iam-sasl-signer-python)"


def _token_from_answer(answer: Any, what: str, now: float) -> Token:
    """A Token from an OAuth-style JSON object: `access_token` (or `token`) and `expires_in`
    seconds (or `expires_at` epoch seconds); a JWT's `exp` when neither is given."""
    if not isinstance(answer, dict):
        raise TokenError(f"{what} did not give a JSON object with access_token")
    value = answer.get("access_token", answer.get("token"))
    if not isinstance(value, str) or not value.strip():
        raise TokenError(f"{what} gave no access_token (or token) string")
    value = value.strip()
    expires_at = _expiry(answer, value, now, what)
    return Token(value, expires_at, principal_of(value))


def _expiry(answer: dict[str, Any], value: str, now: float, what: str) -> float:
    for key, base in (("expires_in", now), ("expires_at", 0.0)):
        raw = answer.get(key)
        if raw is None:
            continue
        try:
            seconds = float(raw)
        except (TypeError, ValueError):
            raise TokenError(f"{what} gave {key}={raw!r}, not a number of seconds") from None
        if not math.isfinite(seconds):
            raise TokenError(f"{what} gave {key}={raw!r}, not a number of seconds")
        return base + seconds
    exp = jwt_claims(value).get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        return float(exp)
    return now + DEFAULT_LIFETIME_S


class OidcSource:
    """The client credentials grant (RFC 6749 §4.4) at a token endpoint, HTTP Basic auth."""

    def __init__(
        self,
        url: str,
        client_id: str,
        secret: str,
        scope: str | None,
        timeout: float,
    ) -> None:
        self.url, self.client_id, self.scope = url, client_id, scope
        self._secret = secret
        self._timeout = timeout
        self.what = f"the token endpoint {url}"

    def fetch(self) -> Token:
        """POST grant_type=client_credentials and read the access token from the answer."""
        form = {"grant_type": "client_credentials", **({"scope": self.scope} if self.scope else {})}
        quote = urllib.parse.quote
        basic = f"{quote(self.client_id, safe='')}:{quote(self._secret, safe='')}"
        encoded = base64.b64encode(basic.encode()).decode()
        register_secrets([encoded, quote(self._secret, safe="")])  # in a logged request, too
        request = urllib.request.Request(
            self.url,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Authorization": f"Basic {encoded}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        started = time.time()
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as answer:
                body = answer.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise TokenError(self._refused(exc)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TokenError(
                f"cannot reach {self.what}: {reason}; check KAFKA_SASL_OAUTH_TOKEN_ENDPOINT_URL "
                "and that the identity provider is up"
            ) from None
        if len(body) > MAX_ANSWER_BYTES:
            raise TokenError(f"{self.what} answered with more than 1 MiB; not a token answer")
        try:
            answer_json = json.loads(body)
        except ValueError:
            raise TokenError(f"{self.what} did not answer with JSON") from None
        return _token_from_answer(answer_json, self.what, started)

    def _refused(self, exc: urllib.error.HTTPError) -> str:
        """One line for an HTTP error answer, with the OAuth `error` code when there is one."""
        code = ""
        try:
            detail = json.loads(exc.read(64 * 1024))
            if isinstance(detail, dict) and isinstance(detail.get("error"), str):
                code = f" {detail['error']}"
        except (ValueError, OSError):
            pass
        if exc.code in (400, 401, 403):
            return (
                f"{self.what} refused client {self.client_id} (HTTP {exc.code}{code}); check "
                "KAFKA_SASL_OAUTH_CLIENT_ID, KAFKA_SASL_OAUTH_CLIENT_SECRET_FILE (or "
                "KAFKA_SASL_OAUTH_CLIENT_SECRET) and KAFKA_SASL_OAUTH_SCOPE"
            )
        return f"{self.what} answered HTTP {exc.code}{code}; no token was issued"


class CommandSource:
    """A program that prints a token: an OAuth-style JSON object (`access_token` or `token`,
    `expires_in` or `expires_at`), or the token alone on its first line (a JWT's `exp`
    decides when it is run again, else 5 minutes)."""

    def __init__(self, command: str, timeout: float = COMMAND_TIMEOUT_S) -> None:
        self.command = command
        self.timeout = timeout
        self.what = "the token command (KAFKA_SASL_OAUTH_TOKEN_COMMAND)"

    def fetch(self) -> Token:
        """Run the command (through the shell, within the timeout) and read what it prints."""
        started = time.time()
        code, stdout, stderr = self._run()
        if code != 0:
            from kafkactl.log import redact
            from kafkactl.units import printable

            last = stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            why = f": {printable(redact(last[0]))[:200]}" if last else ""
            raise TokenError(f"{self.what} exited with status {code}{why}")
        out = stdout[: MAX_ANSWER_BYTES + 1]
        if len(out) > MAX_ANSWER_BYTES:
            raise TokenError(f"{self.what} printed more than 1 MiB; print the token only")
        text = out.decode("utf-8", "replace").strip()
        if not text:
            raise TokenError(f"{self.what} printed nothing; it must print a token")
        if text.startswith("{"):
            try:
                answer = json.loads(text)
            except ValueError:
                raise TokenError(
                    f"{self.what} printed text starting with {{ that is not JSON"
                ) from None
            return _token_from_answer(answer, self.what, started)
        value = text.splitlines()[0].strip()
        if any(c.isspace() for c in value):
            raise TokenError(f"{self.what} printed a first line with spaces; print the token alone")
        return Token(value, _expiry({}, value, started, self.what), principal_of(value))

    def _run(self) -> tuple[int, bytes, bytes]:
        """Exit status, stdout and stderr; the command's whole process group is killed at the
        timeout (a child left holding the pipe would otherwise keep the read waiting)."""
        import os
        import signal

        try:
            proc = subprocess.Popen(
                self.command,
                shell=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise TokenError(f"{self.what} could not be run: {exc.strerror or exc}") from None
        try:
            stdout, stderr = proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise TokenError(f"{self.what} did not finish within {self.timeout:g}s") from None
        return proc.returncode, stdout, stderr


class MskIamSource:
    """AWS MSK IAM: a signed token from AWS's signer library, with the default credential
    chain (environment, profile, SSO, container or instance role) and region."""

    def __init__(self, region: str | None) -> None:
        try:
            from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
        except ImportError:
            raise ConfigError(
                "KAFKA_SASL_OAUTH_METHOD",
                "aws-msk-iam",
                f"MSK IAM needs the aws extra, which is not installed: {INSTALL_AWS}",
            ) from None
        self._signer = MSKAuthTokenProvider
        self.region = region or default_aws_region()
        if not self.region:
            raise ConfigError(
                "KAFKA_SASL_OAUTH_AWS_REGION",
                "default",
                "no AWS region found; set KAFKA_SASL_OAUTH_AWS_REGION or AWS_REGION "
                "(the region of the MSK cluster)",
            )
        self.what = f"AWS MSK IAM ({self.region})"

    def fetch(self) -> Token:
        """Sign a token with the credentials the default AWS chain finds."""
        try:
            value, expiry_ms = self._signer.generate_auth_token(self.region)
        except Exception as exc:  # botocore's errors: no credentials, an expired SSO session, ...
            from kafkactl.log import redact

            why = redact(str(exc)) or type(exc).__name__
            raise TokenError(
                f"cannot sign an MSK IAM token in {self.region}: {why}; "
                "check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID, aws sso login)"
            ) from None
        return Token(str(value), float(expiry_ms) / 1000.0, "kafkactl")


def default_aws_region() -> str | None:
    """The region the AWS tools would use: AWS_REGION, AWS_DEFAULT_REGION, then the profile."""
    import os

    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    try:
        import botocore.session

        region = botocore.session.Session().get_config_variable("region")
    except Exception:
        return None
    return str(region) if region else None

"""A raw look at a bootstrap server before kafka-python connects, so security mistakes fail fast.

kafka-python 3 turns most security mistakes into a 30 s "Unable to bootstrap" timeout: a wrong
SASL password, an untrusted certificate, or the wrong protocol for the port only show up in its
logs, and a TLS handshake with a silent peer can hang. This module talks to one bootstrap server
itself, with a socket timeout on every step, using the same settings as the clients:

- TCP connect, then (SSL, SASL_SSL) a TLS handshake with the client's SSL context;
- SASL_*: SaslHandshake and SaslAuthenticate (the mechanism classes of kafka-python);
- otherwise ApiVersions and an empty Metadata request.

A definite answer the operator must fix (bad credentials, certificate problem, plaintext where
TLS is expected, a SASL listener reached without SASL, ...) raises SecurityProblem with one line
that says what is wrong and what to do. Anything else (refused, timed out, odd bytes) is left to
the normal connect-with-backoff path: the probe never blocks a connection it does not understand.

outcomes.py    SecurityProblem, Inconclusive, NoAnswer, ProbeResult
probes.py      check: the probe of the bootstrap servers (plaintext/TLS requests)
tls.py         the client's SSL context and the TLS handshake
sasl.py        SASL handshake and authentication (kafka-python's mechanism classes)
wire.py        the Kafka wire codec: framing, deadline-bounded socket steps, request/answer codecs
messages.py    the one-line messages shared with the engines' connect paths
guards.py      call_with_deadline: a deadline around a client constructor
logcapture.py  KafkaLogCapture: kafka-python's log read while a client connects
"""

from kafkactl.kafka.preflight.guards import ClientTimeout, call_with_deadline
from kafkactl.kafka.preflight.logcapture import KafkaLogCapture
from kafkactl.kafka.preflight.messages import auth_failed_message, certificate_message
from kafkactl.kafka.preflight.outcomes import Inconclusive, NoAnswer, ProbeResult, SecurityProblem
from kafkactl.kafka.preflight.probes import check
from kafkactl.kafka.preflight.tls import client_ssl_context

__all__ = [
    "ClientTimeout",
    "Inconclusive",
    "KafkaLogCapture",
    "NoAnswer",
    "ProbeResult",
    "SecurityProblem",
    "auth_failed_message",
    "call_with_deadline",
    "certificate_message",
    "check",
    "client_ssl_context",
]

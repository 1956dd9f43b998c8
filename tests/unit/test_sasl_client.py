"""The preflight probe's own SASL client speaks each mechanism as the RFCs say."""

from __future__ import annotations

import pytest

from kafkactl.kafka.preflight.sasl_client import OAuthBearerClient, PlainClient, ScramClient


def test_scram_sha_256_matches_the_rfc_7677_example():
    client = ScramClient("user", "pencil", "sha256", nonce="rOprNGfwEbeRWgbNEkqO")
    assert client.auth_bytes() == b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
    client.receive(
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    )
    assert client.auth_bytes() == (
        b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    )
    assert not client.is_done()
    client.receive(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
    assert client.is_done()


def test_a_scram_server_with_a_wrong_signature_or_nonce_is_refused():
    client = ScramClient("user", "pencil", "sha256", nonce="abc")
    with pytest.raises(ValueError, match="challenge"):
        client.receive(b"r=xyz,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    client = ScramClient("user", "pencil", "sha256", nonce="abc")
    client.receive(b"r=abcdef,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
    with pytest.raises(ValueError, match="signature is wrong"):
        client.receive(b"v=AAAA")


def test_plain_and_oauthbearer_messages():
    assert PlainClient("alice", "s3cret").auth_bytes() == b"\0alice\0s3cret"
    bearer = OAuthBearerClient("tok", {"logicalCluster": "lkc-1"})
    assert bearer.auth_bytes() == b"n,,\x01auth=Bearer tok\x01logicalCluster=lkc-1\x01\x01"
    with pytest.raises(ValueError, match="invalid_token"):
        bearer.receive(b'{"status":"invalid_token"}')
    bearer.receive(b"")
    assert bearer.is_done()

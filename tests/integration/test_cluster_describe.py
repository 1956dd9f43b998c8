"""cluster describe against the real broker, both engines, compared with kafka-python's own
admin client: id, controller, brokers, version; --configs marks what the broker sets."""

from __future__ import annotations

import json


def test_cluster_describe_matches_the_cluster(run_cli, admin):
    ran = run_cli("cluster", "describe", "--configs", "--json")
    assert ran.returncode == 0, ran.stderr.decode()[-2000:]
    info = json.loads(ran.stdout)
    truth = admin.describe_cluster()
    assert info["cluster_id"] == truth["cluster_id"]
    assert info["controller_id"] == truth["controller_id"]
    assert [(b["broker_id"], b["host"], b["port"], b["rack"]) for b in info["brokers"]] == sorted(
        (b["broker_id"], b["host"], b["port"], b["rack"]) for b in truth["brokers"]
    )
    assert all(b["version"] and b["version"][0].isdigit() for b in info["brokers"])
    assert info["metadata_version"] and info["metadata_version"] > 0
    configs = {c["name"]: c for c in info["brokers"][0]["configs"]}
    # The test broker sets node.id and listeners itself; log.cleaner.threads is left default.
    assert configs["node.id"]["non_default"] and configs["listeners"]["non_default"]
    assert not configs["log.cleaner.threads"]["non_default"]

    table = run_cli("cluster", "describe")
    assert table.returncode == 0 and table.stdout == b""
    text = table.stderr.decode()
    assert truth["cluster_id"] in text and "controller" in text
    quiet = run_cli("cluster", "describe", "-q")
    assert quiet.returncode == 0 and quiet.stderr == b"" and quiet.stdout == b""

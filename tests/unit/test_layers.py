"""The adapter layer holds: only kafkactl/kafka/ imports a Kafka client library (SPEC §16)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "kafkactl"
LIBRARIES = {"kafka", "confluent_kafka"}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_module_outside_the_adapter_layer_imports_a_kafka_library():
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(_imported_roots(path) & LIBRARIES)
        for path in PACKAGE.rglob("*.py")
        if "kafka" not in path.relative_to(PACKAGE).parts[:1]
    }
    offenders = {name: libs for name, libs in offenders.items() if libs}
    assert offenders == {}, f"only kafkactl/kafka/ may import a Kafka library: {offenders}"


def test_the_scan_sees_imports_inside_functions(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from confluent_kafka import Producer\n    import kafka.errors\n"
    )
    assert _imported_roots(sample) >= LIBRARIES


def test_each_engine_adapter_imports_only_its_own_library():
    for engine, allowed, banned in (
        ("kafka_python", "kafka", "confluent_kafka"),
        ("librdkafka", "confluent_kafka", "kafka"),
    ):
        for path in (PACKAGE / "kafka" / engine).rglob("*.py"):
            assert banned not in _imported_roots(path), f"{path} imports {banned}"
        assert any(
            allowed in _imported_roots(p) for p in (PACKAGE / "kafka" / engine).rglob("*.py")
        )

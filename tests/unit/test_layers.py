"""The adapter layer holds: only kafkactl/kafka/ imports a Kafka client library (DESIGN §2.5)."""

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


# Outside the engine adapters, the few modules of kafkactl/kafka/ that may import a Kafka
# library, and why: none of them runs on the other engine's path.
ENGINE_NEUTRAL = {
    # engine choice: probes whether confluent-kafka imports, and reports library versions
    "kafka/__init__.py": {"confluent_kafka"},
    # -X checked against the table of the engine the run uses (each inside its own function)
    "kafka/client_options.py": {"kafka", "confluent_kafka"},
}


def test_only_an_engine_adapter_imports_its_kafka_client_library():
    """kafka-python only in kafka/kafka_python/, confluent-kafka's clients only in
    kafka/librdkafka/ (its schema registry client: only in kafka/schemas/)."""
    offenders: dict[str, list[str]] = {}
    for path in (PACKAGE / "kafka").rglob("*.py"):
        where = str(path.relative_to(PACKAGE))
        if where.startswith(("kafka/kafka_python/", "kafka/librdkafka/")):
            continue
        allowed = set(ENGINE_NEUTRAL.get(where, set()))
        if where.startswith("kafka/schemas/"):
            allowed.add("confluent_kafka")  # confluent_kafka.schema_registry, not a Kafka client
        found = (_imported_roots(path) & LIBRARIES) - allowed
        if found:
            offenders[where] = sorted(found)
    assert offenders == {}, f"Kafka libraries imported outside their engine adapter: {offenders}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path, modules: set[str]) -> set[str]:
    """kafkactl modules imported when `path` is imported (not inside functions or TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from pkg import mod` imports the module; `from pkg import name`, the package.
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in modules
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def test_no_import_cycle_between_modules():
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph = {name: _top_level_imports(path, modules) - {name} for name, path in paths.items()}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep) :], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], f"import cycles: {cycles}"


def test_only_the_tracing_backend_imports_opentelemetry():
    allowed = PACKAGE / "tracing" / "otel.py"
    offenders = sorted(
        str(path.relative_to(PACKAGE.parent))
        for path in PACKAGE.rglob("*.py")
        if path != allowed and "opentelemetry" in _imported_roots(path)
    )
    assert offenders == [], f"only kafkactl/tracing/otel.py may import opentelemetry: {offenders}"


SCHEMA_LIBRARIES = {"fastavro", "jsonschema", "google", "grpc_tools", "avro"}


def test_only_the_registry_adapter_imports_the_schema_libraries():
    adapter = PACKAGE / "kafka" / "schemas"
    offenders = {
        str(path.relative_to(PACKAGE.parent)): sorted(_imported_roots(path) & SCHEMA_LIBRARIES)
        for path in PACKAGE.rglob("*.py")
        if adapter not in path.parents
    }
    assert {name: libs for name, libs in offenders.items() if libs} == {}


def test_the_registry_adapter_works_with_either_engine():
    # It uses confluent-kafka's schema_registry package only, never kafka-python, so schemas
    # work with --engine kafka-python too (the schemas extra brings confluent-kafka).
    for path in (PACKAGE / "kafka" / "schemas").rglob("*.py"):
        roots = _imported_roots(path)
        assert "kafka" not in roots, path
    adapter = PACKAGE / "kafka" / "schemas"
    assert any("confluent_kafka" in _imported_roots(p) for p in adapter.rglob("*.py"))

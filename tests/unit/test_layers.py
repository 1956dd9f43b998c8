"""The layers hold (DESIGN §2): only kafkactl/kafka/ imports a Kafka client library (§2.5),
the core imports neither the CLI nor Rich, and no import circle, deferred imports included."""

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
    return _imports(path, modules, deferred=False)


def _imports(path: Path, modules: set[str], deferred: bool = True) -> set[str]:
    """kafkactl modules `path` imports; `deferred`: inside functions and under TYPE_CHECKING too."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree) if deferred else tree.body:
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


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a path back to its start) per back edge found by a depth-first walk."""
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
    return cycles


def _graph(deferred: bool) -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {name: _imports(path, modules, deferred) - {name} for name, path in paths.items()}


def test_no_import_cycle_between_modules():
    assert _cycles(_graph(deferred=False)) == []


def test_no_import_cycle_deferred_imports_included():
    """Imports inside functions and under TYPE_CHECKING close no circle either (DESIGN §2.5)."""
    assert _cycles(_graph(deferred=True)) == []


def test_the_cycle_finder_sees_a_deferred_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]


# The core knows nothing of the CLI or the terminal: Typer, Rich, kafkactl.cli and
# kafkactl.render are imported only by cli/ and render/ (and the entry point), deferred
# imports included (DESIGN §2).
PRESENTATION = {"typer", "rich", "kafkactl.cli", "kafkactl.render"}


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_core_imports_no_cli_and_no_terminal_library():
    offenders: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        where = path.relative_to(PACKAGE)
        if where.parts[0] in ("cli", "render") or str(where) == "__main__.py":
            continue
        found = sorted(
            name
            for name in _imported_names(path)
            if any(name == top or name.startswith(top + ".") for top in PRESENTATION)
        )
        if found:
            offenders[str(where)] = found
    assert offenders == {}, f"core modules importing the CLI or Rich: {offenders}"


def test_render_does_not_import_the_cli():
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imported_names(path) if name.split(".")[:2] == ["kafkactl", "cli"]
        )
        for path in (PACKAGE / "render").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_cycle_scan_sees_deferred_imports(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import kafkactl.log\n"
        "def f():\n    from kafkactl.render import log_line\n"
    )
    modules = {"kafkactl.log", "kafkactl.render"}
    assert _imports(sample, modules) == modules
    assert _imports(sample, modules, deferred=False) == set()


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

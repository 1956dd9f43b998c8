"""Protobuf message classes built at run time: from a .proto text (compiled by protoc from the
grpcio-tools package) or from the base64 FileDescriptorProto confluent-kafka registers.

confluent-kafka's Protobuf serializers need a generated message class; kafkactl has none, so it
builds one from the schema: no generated code, no protoc on the PATH.
"""

from __future__ import annotations

import base64
import binascii
import os
import subprocess
import sys
import tempfile
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message_factory import GetMessageClass

from kafkactl.errors import SchemaMismatch

PROTOC_TIMEOUT_S = 60.0


def _well_known_pool() -> Any:
    """A fresh pool holding the well-known types (Timestamp, Any, wrappers, ...)."""
    from google.protobuf import (
        any_pb2,
        duration_pb2,
        empty_pb2,
        field_mask_pb2,
        struct_pb2,
        timestamp_pb2,
        wrappers_pb2,
    )

    pool = descriptor_pool.DescriptorPool()
    for module in (
        any_pb2,
        duration_pb2,
        empty_pb2,
        field_mask_pb2,
        struct_pb2,
        timestamp_pb2,
        wrappers_pb2,
    ):
        proto = descriptor_pb2.FileDescriptorProto()
        module.DESCRIPTOR.CopyToProto(proto)
        pool.Add(proto)
    return pool


def compile_proto(text: str, name: str = "schema.proto", include: str | None = None) -> Any:
    """The FileDescriptorSet of a .proto text (with its imports), compiled by grpc_tools.protoc.

    SchemaMismatch carries protoc's own error lines when the text does not compile.
    """
    import grpc_tools

    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    with tempfile.TemporaryDirectory(prefix="kafkactl-proto-") as tmp:
        source = os.path.join(tmp, os.path.basename(name))
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(text)
        out = os.path.join(tmp, "set.pb")
        args = [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp}"]
        if include:
            args.append(f"-I{include}")
        args += [f"-I{well_known}", f"--descriptor_set_out={out}", "--include_imports", source]
        try:
            done = subprocess.run(
                args, capture_output=True, timeout=PROTOC_TIMEOUT_S, stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SchemaMismatch(f"protoc could not run: {exc}") from None
        if done.returncode != 0:
            lines = done.stderr.decode("utf-8", "replace").replace(tmp + os.sep, "").strip()
            raise SchemaMismatch("; ".join(lines.splitlines()[:3]) or "protoc failed")
        files = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as handle:
            files.ParseFromString(handle.read())
    return files


def pool_of_set(files: Any) -> tuple[Any, Any]:
    """A pool holding every file of a FileDescriptorSet, and the last file (the one compiled)."""
    pool = _well_known_pool()
    main = None
    for proto in files.file:
        try:
            pool.FindFileByName(proto.name)
        except KeyError:
            pool.Add(proto)
        main = proto
    if main is None:
        raise SchemaMismatch("the .proto file defines nothing")
    return pool, main


def pool_of_registry_text(text: str) -> tuple[Any, Any]:
    """The pool and file of a Protobuf schema as a registry returns it: the base64
    FileDescriptorProto confluent-kafka registers, or .proto text other tools register."""
    stripped = text.strip()
    if "syntax" not in stripped and "message" not in stripped:
        try:
            data = base64.b64decode(stripped, validate=True)
            proto = descriptor_pb2.FileDescriptorProto()
            proto.ParseFromString(data)
        except (binascii.Error, ValueError, Exception) as exc:
            raise SchemaMismatch(f"the registry's Protobuf schema does not parse: {exc}") from None
        pool = _well_known_pool()
        pool.Add(proto)
        return pool, proto
    return pool_of_set(compile_proto(text))


def message_names(file: Any) -> list[str]:
    """Full names of a file's top-level messages, in order."""
    prefix = f"{file.package}." if file.package else ""
    return [prefix + message.name for message in file.message_type]


def message_class(pool: Any, file: Any, name: str | None) -> type:
    """The class of message `name` (full name, or a top-level name of the file; None: the
    file's first message); SchemaMismatch naming the messages there are."""
    names = message_names(file)
    if not names:
        raise SchemaMismatch("the .proto file defines no message")
    if name is None:
        full = names[0]
    elif name in names:
        full = name
    else:
        prefix = f"{file.package}." if file.package else ""
        full = prefix + name
    try:
        descriptor = pool.FindMessageTypeByName(full)
    except KeyError:
        raise SchemaMismatch(
            f"no message {name!r} in the .proto file; it has {', '.join(names)}"
        ) from None
    cls: type = GetMessageClass(descriptor)
    return cls


def message_by_indexes(pool: Any, file: Any, indexes: list[int]) -> type:
    """The message class a wire-format record's message indexes point at ([0]: the first)."""
    path: list[str] = []
    messages = list(file.message_type)
    for index in indexes or [0]:
        if not 0 <= index < len(messages):
            raise SchemaMismatch(f"message index {index} is not in the schema")
        message = messages[index]
        path.append(message.name)
        messages = list(message.nested_type)
    prefix = f"{file.package}." if file.package else ""
    cls: type = GetMessageClass(pool.FindMessageTypeByName(prefix + ".".join(path)))
    return cls

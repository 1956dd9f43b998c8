"""A handler that does nothing: measures the pipeline's own cost (benchmarks/bench_consume.py)."""

from kafkactl import Message


def handle(message: Message) -> None:
    """Succeed at once."""

"""The consumer-group pipeline of `kafkactl consume -g` (DESIGN §6), split by job:

- `pipeline`: ConsumerPipeline, the lifecycle of a run and its poll loop
- `handling`: running the handler (on workers, or inline) and handing each outcome on
- `failures`: a handler's exception as a `headers.Failure` (its kind, class, message, trace)
- `flow`: pauses: due times of tier partitions, backpressure, pause/resume reconciliation
- `commits`: commit points, one asynchronous commit at a time, lost-partition recommits
- `rebalance`: PartitionListener, the pipeline's side of a rebalance
- `state`: the partitions' epochs, in-flight counts and offsets, under the one lock
- `topics`: the topics a run needs, and the largest copy each takes
- `options`: ConsumeOptions and ConsumeSummary
"""

from kafkactl.consumer.options import ConsumeOptions, ConsumeSummary, OnFailure
from kafkactl.consumer.pipeline import ConsumerFactory, ConsumerPipeline

__all__ = ["ConsumeOptions", "ConsumeSummary", "ConsumerFactory", "ConsumerPipeline", "OnFailure"]

"""Everything `kafkactl consume` runs (DESIGN §6, §7), split by job. `operation` is the
command's one core call: it picks the reader (no group) or the pipeline (a group) and applies the
group rules. Nothing is imported here, so reader mode loads none of the pipeline.

The pipeline (`consume -g`):

- `pipeline`: ConsumerPipeline, the lifecycle of a run and its poll loop
- `handling`, `batch`, `handoff`: running the handler (on workers, or inline), settling
  successes per batch, handing failures on
- `dispatch`: WorkerPool, per-key / per-partition lanes
- `offsets`: OffsetTracker, which offset of each partition is safe to commit
- `router`: RetryRouter, where a failure goes next (tier n+1 or the DLQ)
- `dedupe`: the dedupe stores
- `failures`: a handler's exception as a `headers.Failure` (its kind, class, message, trace)
- `flow`: pauses: due times of tier partitions, backpressure, pause/resume reconciliation
- `commits`: commit points, one asynchronous commit at a time, lost-partition recommits
- `rebalance`: PartitionListener, the pipeline's side of a rebalance
- `state`: the partitions' epochs, in-flight counts and offsets, under the one lock
- `breaker`, `holding`: the failure-storm breaker; `keyorder`, `keyscan`, `strict`: key-strict
- `topics`: the topics a run needs, and the largest copy each takes
- `options`: ConsumeOptions and ConsumeSummary

Reader mode (`consume` without a group): `reader` (TopicReader), `startup`, `filters`.
"""

"""The demo's order handler (scripts/demo.sh): a bug sends some orders to retry and the DLQ.

- a negative amount can never be billed: FatalError, straight to the DLQ;
- currency "XXX" hits a "bug" (an unknown currency) that fails every attempt, so those orders
  go through the retry tiers into the DLQ, until DEMO_FIXED=1 says the bug is fixed;
- order ids ending in 7 time out on their first attempt only, and succeed on the retry.

DEMO_HANDLER_MS makes each call take that long (scripts/screenshots.sh: a run long enough to
be photographed mid-way).
"""

from __future__ import annotations

import os
import time

from kafkactl import FatalError, Message


def process(message: Message) -> None:
    """Bill one order."""
    time.sleep(float(os.environ.get("DEMO_HANDLER_MS", "0")) / 1000)
    order = message.json()
    if order["amount"] < 0:
        raise FatalError(f"order {order['id']}: negative amount {order['amount']}")
    if order["currency"] == "XXX" and os.environ.get("DEMO_FIXED") != "1":
        raise LookupError(f"order {order['id']}: unknown currency XXX")
    if order["id"] % 10 == 7 and message.attempt == 1:
        raise TimeoutError(f"order {order['id']}: payment service timed out")

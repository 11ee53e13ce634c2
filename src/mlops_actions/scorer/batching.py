"""Adaptive micro-batching: concurrent requests share one predict call.

Requests queue on the event loop; one task takes them to the single predict
thread. While a predict runs, new requests pile up, and the next call takes
all of them with the same columns (up to ``max_rows``): the busier the
server, the bigger the batches.

A batch that could still grow may wait, at most ``max_wait`` seconds, for
requests being read and for clients that sent within the last
``2 * max_wait + 1 ms`` but have nothing in it yet: a keep-alive client sends
its next request as soon as it is answered, so waiting a fraction of a
millisecond for it saves a whole predict call. A lone request on an idle
server goes at once, predicted on the event loop itself when requests that
size predict in under a millisecond. ``max_rows=1`` turns batching off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mlops_actions.scorer.model.predict import ParsedInput
from mlops_actions.scorer.model.predict import Outcome

log = logging.getLogger("mlops_actions.scorer")
#: A lone request whose predict is this quick runs on the event loop: the hop
#: to the predict thread and back costs 35-55 us (uvloop, measured), a tenth
#: of a small model's whole request (GradientBoosting, one row, one client:
#: 1,490-1,660 req/s through the thread, 1,650-1,760 inline). Longer
#: predicts keep the loop free for health probes and the next requests.
INLINE_SECONDS = 0.001


@dataclass
class _Pending:
    item: ParsedInput
    future: asyncio.Future = field(repr=False)
    client: Hashable = None


class MicroBatcher:
    """Coalesces :meth:`submit` calls into calls of ``predict`` (a list of
    inputs -> one outcome each), run one at a time on a worker thread.

    ``arriving`` is kept by the caller: requests being read right now. The
    ``on_batch(requests, rows)`` hook sees every predict call. A lone request
    no bigger than one that predicted in under ``inline_seconds`` is
    predicted on the event loop (0 turns that off).
    """

    def __init__(
        self,
        predict: Callable[[list[ParsedInput]], list[Outcome]],
        *,
        max_rows: int,
        max_wait: float,
        on_batch: Callable[[int, int], None] | None = None,
        inline_seconds: float = INLINE_SECONDS,
    ) -> None:
        self.predict = predict
        self.inline_seconds = inline_seconds
        self.max_rows = max_rows
        self.max_wait = max_wait
        self.on_batch = on_batch
        self.arriving = 0
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="mlops-predict")
        self._task: asyncio.Task | None = None
        self._closing = False
        #: client -> when it last submitted; who is likely to submit again soon
        self._seen: dict[Hashable, float] = {}
        self._window = 2 * max_wait + 0.001
        #: the most rows a lone request may have to be predicted on the loop
        self._quick_rows = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def submit(self, item: ParsedInput, client: Hashable = None) -> bytes:
        """The response body for ``item``; raises what predicting it raised.

        ``client`` (its connection's address) tells the batcher how many
        clients are sending right now.
        """
        if self._closing:
            raise RuntimeError("the scorer is shutting down")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.append(_Pending(item, future, client))
        if client is not None and self.max_wait > 0:
            self._seen[client] = loop.time()
        self._wakeup.set()
        outcome = await future
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def poke(self) -> None:
        """A request stopped arriving (answered early): a waiting batch may go."""
        self._wakeup.set()

    async def close(self) -> None:
        """Finish every queued request, then stop the worker."""
        self._closing = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            self._forget_quiet_clients()
            if self._could_grow(batch):
                batch = await self._wait_for_more(batch)
            inputs = [pending.item for pending in batch]
            rows = sum(item.rows for item in inputs)
            try:
                if self._alone(batch, rows):
                    outcomes = self._timed(inputs, rows)
                else:
                    outcomes = await loop.run_in_executor(
                        self._executor, self._timed, inputs, rows
                    )
            except BaseException as exc:  # noqa: BLE001 - each caller gets it
                outcomes = [exc] * len(batch)
            for pending, outcome in zip(batch, outcomes):
                if not pending.future.done():
                    pending.future.set_result(outcome)
            if self.on_batch is not None:
                self.on_batch(len(batch), rows)

    def _alone(self, batch: list[_Pending], rows: int) -> bool:
        """Whether ``batch`` is one request that nobody else is waiting behind,
        no bigger than requests that were predicted in under ``inline_seconds``:
        it is predicted on the event loop, which has nothing else to do."""
        return (
            len(batch) == 1
            and self.inline_seconds > 0
            and rows <= self._quick_rows
            and not self._queue
            and self.arriving == 0
            and self._absent(batch) == 0
        )

    def _timed(self, inputs: list[ParsedInput], rows: int) -> list[Outcome]:
        """``predict(inputs)``, learning from its time how many rows predict
        in under ``inline_seconds``."""
        began = time.perf_counter()
        try:
            return self.predict(inputs)
        finally:
            if time.perf_counter() - began < self.inline_seconds:
                self._quick_rows = max(self._quick_rows, rows)
            else:
                self._quick_rows = min(self._quick_rows, rows - 1)

    def _take(self, batch: list[_Pending] | None = None) -> list[_Pending]:
        """The oldest request, plus queued ones of the same columns that fit."""
        if batch is None:
            batch = [self._queue.popleft()]
        key = batch[0].item.key
        rows = sum(pending.item.rows for pending in batch)
        if key is None or self.max_rows == 1:
            return batch
        kept: deque[_Pending] = deque()
        while self._queue:
            pending = self._queue.popleft()
            if pending.item.key == key and rows + pending.item.rows <= self.max_rows:
                batch.append(pending)
                rows += pending.item.rows
            else:
                kept.append(pending)
        self._queue = kept
        return batch

    def _could_grow(self, batch: list[_Pending]) -> bool:
        if (
            self.max_wait <= 0
            or batch[0].item.key is None
            or sum(pending.item.rows for pending in batch) >= self.max_rows
        ):
            return False
        return self.arriving > 0 or self._absent(batch) > 0

    def _absent(self, batch: list[_Pending]) -> int:
        """Clients that sent within the window but have nothing in ``batch``."""
        return len(self._seen.keys() - {pending.client for pending in batch})

    def _forget_quiet_clients(self) -> None:
        since = asyncio.get_running_loop().time() - self._window
        for client in [c for c, when in self._seen.items() if when < since]:
            del self._seen[client]

    async def _wait_for_more(self, batch: list[_Pending]) -> list[_Pending]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_wait
        while self._could_grow(batch) and not self._closing:
            left = deadline - loop.time()
            if left <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), left)
            except asyncio.TimeoutError:
                break
            batch = self._take(batch)
        return batch

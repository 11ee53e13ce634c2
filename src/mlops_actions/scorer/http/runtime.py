"""The scorer's moving parts and their life: load, warm up, serve, drain, stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mlops_actions.scorer.batching import MicroBatcher
from mlops_actions.scorer.config import ScorerConfig
from mlops_actions.scorer.input_log.logger import InputLogger
from mlops_actions.scorer.protocol.inputs import parse_request
from mlops_actions.scorer.http.metrics import ScorerMetrics
from mlops_actions.scorer.model.loading import ServedModel, load_model, warmup_body
from mlops_actions.scorer.model.predict import Predictor

log = logging.getLogger("mlops_actions.scorer")

LOADING, READY, FAILED = "loading", "ready", "failed"


class ScorerState:
    """Everything one app serves with, and whether it may serve yet.

    :meth:`start` loads the model (unless it came loaded) and warms it up on
    its input example in the background, so ``/health/live`` answers
    meanwhile; ``status`` becomes ``ready`` only after the warm-up answered.
    :meth:`stop` finishes queued predictions and the input log.
    """

    def __init__(
        self,
        config: ScorerConfig,
        *,
        model: ServedModel | None = None,
        loader: Callable[[], ServedModel] | None = None,
    ) -> None:
        self.config = config
        self.model = model
        self.loader = loader or (
            lambda: load_model(config.model_uri, threads=config.threads)
        )
        self.metrics = ScorerMetrics()
        self.status = LOADING
        self.reason = ""
        self.answered = 0
        self.batcher: MicroBatcher | None = None
        self.predictor: Predictor | None = None
        self.input_log: InputLogger | None = None
        self._preparing: asyncio.Task | None = None

    @property
    def ready(self) -> bool:
        return self.status == READY

    async def start(self) -> None:
        self._preparing = asyncio.get_running_loop().create_task(self._prepare())

    async def stop(self) -> None:
        if self._preparing is not None and not self._preparing.done():
            self._preparing.cancel()
        if self.batcher is not None:
            await self.batcher.close()
        if self.input_log is not None:
            await asyncio.to_thread(self.input_log.close)
        log.info("scorer stopped: %d requests answered", self.answered)

    async def _prepare(self) -> None:
        try:
            if self.model is None:
                self.model = await asyncio.to_thread(self.loader)
            model = self.model
            self.predictor = Predictor(model)
            self.batcher = MicroBatcher(
                self.predictor.run,
                max_rows=self.config.max_batch_rows,
                max_wait=self.config.max_wait_ms / 1000,
                on_batch=self.metrics.batch,
            )
            self.batcher.start()
            began = time.perf_counter()
            body = warmup_body(model)
            if body is not None:
                await self.batcher.submit(
                    parse_request(body, "application/json", model)
                )
            warmup = time.perf_counter() - began
            if self.config.log_inputs is not None:
                self.input_log = self._input_log(model)
                self.input_log.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - shown by /health/ready and logged
            self.status, self.reason = FAILED, f"{type(exc).__name__}: {exc}"
            log.error("model %s is not ready: %s", self.config.model_uri, self.reason)
            return
        self.status = READY
        self.metrics.ready.set(1)
        log.info(
            "model %s ready (load %.2f s, warm-up %.3f s)",
            model.uri,
            model.load_seconds,
            warmup,
        )

    def _input_log(self, model: ServedModel) -> InputLogger:
        config = self.config
        assert config.log_inputs is not None
        return InputLogger(
            config.log_inputs,
            rate=config.log_sample_rate,
            fmt=config.log_format,
            rotate_bytes=config.log_rotate_bytes,
            rotate_seconds=config.log_rotate_seconds,
            queue_size=config.log_queue_size,
            columns=model.columns,
            on_written=self.metrics.logged.inc,
            on_dropped=self.metrics.dropped.inc,
        )

"""The scorer's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0
)  # fmt: skip
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)
REQUEST_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


class ScorerMetrics:
    """Request latency and status codes of ``/invocations``, rows predicted,
    batch sizes, input-log drops, readiness."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            "mlops_scorer_request_duration_seconds",
            "Time to answer POST /invocations, from first byte read to last sent.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.requests = Counter(
            "mlops_scorer_requests",
            "POST /invocations requests answered, by HTTP status code.",
            ["code"],
            registry=self.registry,
        )
        self.rows = Counter(
            "mlops_scorer_rows_predicted",
            "Input rows predicted.",
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "mlops_scorer_batch_rows",
            "Rows per predict call.",
            buckets=ROW_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "mlops_scorer_batch_requests",
            "Requests coalesced into one predict call.",
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        # written + dropped adds up to the rows sampled (once the log is
        # closed; until then some may be held, waiting for a failing store)
        self.logged = Counter(
            "mlops_scorer_input_log_records",
            "Sampled input rows written to the input log's files.",
            registry=self.registry,
        )
        self.dropped = Counter(
            "mlops_scorer_input_log_dropped",
            "Sampled input rows (not requests) the input log dropped: its queue "
            "or its buffer for a failing store was full, or a value did not fit.",
            registry=self.registry,
        )
        self.ready = Gauge(
            "mlops_scorer_ready",
            "1 once the model has loaded and answered its warm-up prediction.",
            registry=self.registry,
        )
        self._by_code: dict[int, Counter] = {}

    def answered(self, status: int, seconds: float | None = None) -> None:
        """Count one answer; time it unless refused before it was read."""
        child = self._by_code.get(status)
        if child is None:
            child = self._by_code[status] = self.requests.labels(str(status))
        child.inc()
        if seconds is not None:
            self.latency.observe(seconds)

    def batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)
        self.rows.inc(rows)

    def render(self) -> bytes:
        return generate_latest(self.registry)

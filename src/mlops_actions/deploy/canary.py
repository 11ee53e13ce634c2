"""Whether a canary served as well as the stable pods: pure rules.

The scorer's ``/metrics`` counts answers by status code
(``mlops_scorer_requests_total``) and times them in a histogram
(``mlops_scorer_request_duration_seconds``). Both are cumulative since the pod
started, so a bake reads every pod of each track before and after, and judges
the difference: the requests each track answered during the bake alone. The
p95 latency is Prometheus' ``histogram_quantile``: linear inside the bucket
that holds the 95th percentile.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

REQUESTS = "mlops_scorer_requests_total"
LATENCY = "mlops_scorer_request_duration_seconds_bucket"
#: the fewest stable answers a p95 comparison is made on
MIN_STABLE_REQUESTS = 20

K = TypeVar("K")


@dataclass(frozen=True)
class Sample:
    """One track's counters: answers by status code, latency bucket counts
    (upper bound in seconds, ``inf`` last, cumulative as Prometheus keeps them)."""

    by_code: Mapping[str, float] = field(default_factory=dict)
    buckets: Mapping[float, float] = field(default_factory=dict)

    @property
    def requests(self) -> float:
        return sum(self.by_code.values())

    @property
    def errors(self) -> float:
        """Server errors: a 4xx is the client's fault, not the model's."""
        return sum(n for code, n in self.by_code.items() if code.startswith("5"))

    def __add__(self, other: Sample) -> Sample:
        return Sample(
            _added(self.by_code, other.by_code), _added(self.buckets, other.buckets)
        )

    def __sub__(self, earlier: Sample) -> Sample:
        """What was counted since ``earlier`` (a restarted pod counts from 0)."""
        codes = {
            k: max(v - earlier.by_code.get(k, 0.0), 0.0)
            for k, v in self.by_code.items()
        }
        buckets = {
            k: max(v - earlier.buckets.get(k, 0.0), 0.0)
            for k, v in self.buckets.items()
        }
        return Sample(codes, buckets)

    def p95(self) -> float | None:
        return quantile(0.95, self.buckets)


def parse(text: str) -> Sample:
    """The counters of one pod's ``/metrics`` (Prometheus text format)."""
    from prometheus_client.parser import text_string_to_metric_families

    codes: dict[str, float] = {}
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == REQUESTS:
                code = sample.labels.get("code", "")
                codes[code] = codes.get(code, 0.0) + sample.value
            elif sample.name == LATENCY:
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return Sample(codes, buckets)


def total(samples: Iterable[Sample]) -> Sample:
    summed = Sample()
    for sample in samples:
        summed = summed + sample
    return summed


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """``histogram_quantile(q)`` of cumulative ``buckets``; None with no counts."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # Prometheus answers the highest finite bound
            inside = count - below
            share = (rank - below) / inside if inside else 1.0
            return lower + (bound - lower) * share
        lower, below = bound, count
    return lower


@dataclass(frozen=True)
class Verdict:
    """The canary's figures over the bake, and whether they pass."""

    ok: bool
    reasons: tuple[str, ...]
    canary_requests: int
    canary_error_rate: float | None
    canary_p95: float | None
    stable_requests: int
    stable_p95: float | None
    #: False when it failed before the bake's figures were read
    measured: bool = True

    @classmethod
    def refused(cls, reason: str) -> Verdict:
        """Failed before the bake's figures were read."""
        return cls(False, (reason,), 0, None, None, 0, None, measured=False)

    def summary(self) -> str:
        if not self.measured:
            return "; ".join(self.reasons)
        rate = _percent(self.canary_error_rate)
        shown = (
            f"canary answered {self.canary_requests} requests, {rate} errors, "
            f"p95 {_ms(self.canary_p95)} (stable: {self.stable_requests} requests, "
            f"p95 {_ms(self.stable_p95)})"
        )
        if self.ok:
            return shown
        return f"{'; '.join(self.reasons)}: {shown}"


def judge(
    canary: Sample,
    stable: Sample,
    *,
    max_error_rate: float,
    max_p95_ratio: float,
) -> Verdict:
    """Pass when the canary answered, its server-error share is at most
    ``max_error_rate``, and its p95 is at most ``max_p95_ratio`` times the
    stable pods' (compared only once they answered enough to have one)."""
    reasons = []
    answered = canary.requests
    rate = canary.errors / answered if answered else None
    if not answered:
        reasons.append("the canary answered no requests during the bake")
    elif rate is not None and rate > max_error_rate:
        reasons.append(
            f"canary error rate {_percent(rate)} is above {_percent(max_error_rate)}"
        )
    mine, theirs = canary.p95(), stable.p95()
    if (
        mine is not None
        and theirs is not None
        and stable.requests >= MIN_STABLE_REQUESTS
        and mine > max_p95_ratio * theirs
    ):
        reasons.append(
            f"canary p95 {_ms(mine)} is above {max_p95_ratio:g} x the stable "
            f"pods' {_ms(theirs)}"
        )
    return Verdict(
        ok=not reasons,
        reasons=tuple(reasons),
        canary_requests=int(answered),
        canary_error_rate=rate,
        canary_p95=mine,
        stable_requests=int(stable.requests),
        stable_p95=theirs,
    )


def replicas_for(stable: int, weight: float) -> int:
    """Canary pods giving about ``weight`` percent of the traffic beside
    ``stable`` pods (a Service spreads requests over its pods evenly); one
    at least."""
    return max(1, round(stable * weight / (100.0 - weight)))


def _added(a: Mapping[K, float], b: Mapping[K, float]) -> dict[K, float]:
    out = dict(a)
    for key, value in b.items():
        out[key] = out.get(key, 0.0) + value
    return out


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.0f} ms"

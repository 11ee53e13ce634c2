"""The canary's verdict, on the metrics text the real scorer renders."""

from __future__ import annotations

import pytest

from mlops_actions.deploy.canary import (
    Sample,
    judge,
    parse,
    quantile,
    replicas_for,
    total,
)
from mlops_actions.scorer.http.metrics import ScorerMetrics


def served(*answers: tuple[int, float]) -> ScorerMetrics:
    metrics = ScorerMetrics()
    for status, seconds in answers:
        metrics.answered(status, seconds)
    return metrics


def sample(metrics: ScorerMetrics) -> Sample:
    return parse(metrics.render().decode())


def test_parse_reads_answers_by_code_and_latency_buckets():
    got = sample(served((200, 0.004), (200, 0.004), (503, 0.3), (422, 0.001)))
    assert got.by_code == {"200": 2.0, "503": 1.0, "422": 1.0}
    assert got.requests == 4 and got.errors == 1  # a 422 is the client's
    assert got.buckets[0.005] == 3.0 and got.buckets[float("inf")] == 4.0


def test_a_window_is_what_was_counted_between_two_reads():
    metrics = served(*[(200, 0.004)] * 10)
    before = sample(metrics)
    for _ in range(3):
        metrics.answered(500, 0.004)
    window = sample(metrics) - before
    assert window.by_code == {"200": 0.0, "500": 3.0}
    assert window.errors == 3


def test_a_restarted_pod_counts_from_zero_not_below():
    before = sample(served(*[(200, 0.004)] * 10))
    after = sample(served((200, 0.004)))
    assert (after - before).requests == 0


def test_quantile_interpolates_inside_the_bucket_as_prometheus_does():
    # 100 answers: 90 in (0, 0.01], 10 in (0.01, 0.02]
    buckets = {0.01: 90.0, 0.02: 100.0, float("inf"): 100.0}
    assert quantile(0.95, buckets) == pytest.approx(0.015)
    assert quantile(0.5, buckets) == pytest.approx(0.01 * 50 / 90)
    assert quantile(0.95, {0.01: 0.0, float("inf"): 0.0}) is None
    # beyond the last finite bound: that bound, as histogram_quantile answers
    assert quantile(0.95, {0.01: 1.0, float("inf"): 100.0}) == 0.01


def test_tracks_sum_over_their_pods():
    pods = [sample(served((200, 0.004))), sample(served((500, 0.004)))]
    assert total(pods).by_code == {"200": 1.0, "500": 1.0}


def test_a_healthy_canary_passes():
    canary = sample(served(*[(200, 0.004)] * 30))
    stable = sample(served(*[(200, 0.004)] * 300))
    verdict = judge(canary, stable, max_error_rate=0.01, max_p95_ratio=1.5)
    assert verdict.ok, verdict.reasons
    assert verdict.summary().startswith("canary answered 30 requests, 0.0% errors")


def test_a_canary_with_server_errors_is_rejected_naming_the_rate():
    canary = sample(served(*[(200, 0.004)] * 18, (500, 0.004), (500, 0.004)))
    stable = sample(served(*[(200, 0.004)] * 100))
    verdict = judge(canary, stable, max_error_rate=0.01, max_p95_ratio=1.5)
    assert not verdict.ok
    assert verdict.reasons == ("canary error rate 10.0% is above 1.0%",)


def test_a_slower_canary_is_rejected_naming_both_p95s():
    canary = sample(served(*[(200, 0.4)] * 30))
    stable = sample(served(*[(200, 0.004)] * 100))
    verdict = judge(canary, stable, max_error_rate=0.01, max_p95_ratio=1.5)
    assert not verdict.ok
    assert verdict.reasons[0].startswith("canary p95 4")
    assert "above 1.5 x the stable pods' 5 ms" in verdict.reasons[0]


def test_p95_is_not_compared_until_the_stable_pods_answered_enough():
    canary = sample(served(*[(200, 0.4)] * 30))
    stable = sample(served(*[(200, 0.004)] * 5))
    assert judge(canary, stable, max_error_rate=0.01, max_p95_ratio=1.5).ok


def test_a_canary_that_answered_nothing_is_not_a_pass():
    verdict = judge(
        Sample(), sample(served((200, 0.004))), max_error_rate=0.01, max_p95_ratio=2
    )
    assert verdict.reasons == ("the canary answered no requests during the bake",)


@pytest.mark.parametrize(
    "stable, weight, pods", [(2, 10, 1), (9, 10, 1), (18, 10, 2), (4, 50, 4)]
)
def test_canary_pods_follow_the_weight_one_at_least(stable, weight, pods):
    assert replicas_for(stable, weight) == pods

"""Paired bootstrap of the primary metric on the rows both models scored.

Both models' ``predictions.parquet`` (columns ``row_id``, ``label``,
``prediction``, ``probability``: see the evaluate component) are joined on
``row_id``; a resample draws rows with replacement and scores *both* models on
the same draw, so the interval is for the improvement itself, not two
independent intervals. The improvement is candidate minus champion, sign-flipped
for minimize metrics: positive always means the candidate is better. The
interval is the percentile interval: the ``(1 - confidence) / 2`` and
``(1 + confidence) / 2`` quantiles of the resampled improvements (numpy's
default linear interpolation); ``estimate`` is the improvement on all rows.

How each metric is resampled:

* accuracy, f1, precision, recall: a row's contribution depends only on its
  cell (true label, candidate's label, champion's label): 8 cells. A resample of
  n rows is exactly a multinomial draw of the 8 cell counts with the observed
  cell frequencies, and both confusion matrices follow from the counts. This is
  the bootstrap distribution itself, not an approximation, in O(resamples).
  A ratio with a zero denominator scores 0, as scikit-learn's default does.
* log_loss: the mean of per-row losses (scikit-learn's clipping to float64 eps),
  so the improvement is the mean of per-row differences, resampled exactly:
  n rows drawn uniformly with replacement (how, cheaply: ``_mean_resamples``),
  in chunks of about 2**21 rows (bounded memory) on a few threads
  (numpy releases the GIL while drawing and gathering). Each chunk has its own
  child of ``SeedSequence(seed)``, so the result depends on the seed, not on
  the number of threads.
* balanced accuracy, macro/micro/weighted F1 (and, for multiclass, accuracy):
  the same multinomial draw over the observed joint cells (true class,
  candidate's class, champion's class), scored from each resample's confusion
  counts (:func:`mlops_actions.gate.scores.class_improvement`).
* regression mse, mae, mape: the mean of per-row error differences, resampled
  as log_loss is; rmse: the square root of each model's resampled mse, and r2
  from the resampled mse and label variance, on the same draws
  (:func:`mlops_actions.gate.scores.mean_improvement`); the labels' squares
  are taken from the gathered labels, not gathered again. Which rows a seed
  draws, for tests: ``_drawn_rows``. Multiclass log loss is
  the mean of ``-log p[true class]`` from the ``probability_<class>`` columns.
* roc_auc is not a mean over rows: an exact resample costs O(n) per draw, so
  ``gate.yml`` refuses it for the bootstrap.

Which metrics a task allows: :data:`mlops_actions.gate.tasks.BOOTSTRAP_BY_TASK`;
a metric is named as in ``gate.yml`` and read through its common spellings.
"""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from mlops_actions.gate import scores
from mlops_actions.gate.pairing import PairedRows
from mlops_actions.gate.tasks import BOOTSTRAP_BY_TASK, canonical

if TYPE_CHECKING:
    import numpy as np

#: The binary metrics the bootstrap recomputes from the 8 cells, with direction
#: (every task's: :data:`mlops_actions.gate.tasks.BOOTSTRAP_BY_TASK`).
BOOTSTRAP_METRICS = {
    "accuracy": "maximize",
    "f1": "maximize",
    "precision": "maximize",
    "recall": "maximize",
    "log_loss": "minimize",
}
# Rows drawn per chunk of resamples (20 resamples of 100k rows). On the 2-core
# dev machine, best of four runs of 100k rows x 10k resamples, one column on
# two threads: 2**19 2.23 s, 2**20 1.61 s, 2**21 1.16 s, 2**22 1.61 s; two
# columns 2.37, 1.92, 1.80, 2.14 s. Fewer, larger calls win until a block's
# indices and gathered values (2.6 MiB each here) no longer fit the cache.
_CHUNK_INDICES = 2**21


@dataclass(frozen=True)
class PairedResult:
    """The bootstrap's answer: improvement (positive = candidate better)."""

    metric: str
    estimate: float
    lower: float
    upper: float
    resamples: int
    confidence: float
    rows: int
    seed: int
    method: str
    task: str | None = None
    task_source: str | None = None  # "declared in gate.yml", "inferred from ..."

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def paired_bootstrap(
    rows: PairedRows,
    metric: str,
    direction: str,
    *,
    confidence: float,
    resamples: int,
    seed: int,
) -> PairedResult:
    """Resample ``rows`` and return the interval of the improvement in ``metric``."""
    import numpy as np

    task, name = rows.task, canonical(metric)
    if name not in BOOTSTRAP_BY_TASK[task]:
        raise ValueError(f"the bootstrap cannot resample {metric!r} for a {task} task")
    if len(rows) == 0:
        raise ValueError("the bootstrap needs at least one row")
    if direction not in ("maximize", "minimize"):
        raise ValueError(f"direction must be maximize or minimize, got {direction!r}")
    sign = 1.0 if direction == "maximize" else -1.0
    if name == "log_loss":
        difference = _row_losses(rows, rows.candidate_probability)
        difference -= _row_losses(rows, rows.champion_probability)
        estimate = float(difference.mean())
        draws = _mean_resamples(difference, resamples, seed)
        method = "row resampling in power-of-two blocks"
    elif name in scores.MEAN_METRICS:
        columns = scores.mean_columns(name, rows.truth, rows.candidate, rows.champion)
        estimate = float(scores.mean_improvement(name, columns.mean(axis=0)[None])[0])
        squared = name == "r2" and columns.shape[1] == 3  # [d, centred, centred**2]
        means = _mean_resamples(
            columns[:, :2] if squared else columns, resamples, seed, square_last=squared
        )
        draws = scores.mean_improvement(name, means)
        method = "per-row errors resampled in power-of-two blocks"
    elif task == "binary" and name in LABEL_METRICS:
        estimate, draws = _cell_resamples(rows, LABEL_METRICS[name], resamples, seed)
        method = "multinomial cell counts"
    else:
        estimate, draws = _class_resamples(rows, name, resamples, seed)
        method = "multinomial cell counts (confusion per resample)"
    alpha = (1.0 - confidence) / 2.0
    lower, upper = np.quantile(sign * draws, [alpha, 1.0 - alpha])
    return PairedResult(
        metric=metric,
        estimate=sign * estimate,
        lower=float(lower),
        upper=float(upper),
        resamples=resamples,
        confidence=confidence,
        rows=len(rows),
        seed=seed,
        method=method,
        task=task,
    )


def _row_losses(rows: PairedRows, probability: np.ndarray | None) -> np.ndarray:
    if probability is None:
        raise ValueError("log_loss needs the predictions' probability columns")
    if rows.task == "multiclass":
        return scores.row_log_loss_multiclass(rows.truth, probability)
    return row_log_loss(rows.truth, probability)


def row_log_loss(truth: np.ndarray, probability: np.ndarray) -> np.ndarray:
    """Per-row log loss, clipped as ``sklearn.metrics.log_loss`` clips."""
    import numpy as np

    eps = np.finfo(np.float64).eps
    positive = np.clip(probability, eps, 1 - eps)
    negative = np.clip(1 - probability, eps, 1 - eps)
    return -np.where(truth, np.log(positive), np.log(negative))


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    import numpy as np

    numerator = np.asarray(numerator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


LabelMetric = Callable[[Any, Any, Any, Any], Any]
#: metric(tp, fp, fn, tn) over arrays of counts
LABEL_METRICS: dict[str, LabelMetric] = {
    "accuracy": lambda tp, fp, fn, tn: _ratio(tp + tn, tp + fp + fn + tn),
    "precision": lambda tp, fp, fn, tn: _ratio(tp, tp + fp),
    "recall": lambda tp, fp, fn, tn: _ratio(tp, tp + fn),
    "f1": lambda tp, fp, fn, tn: _ratio(2 * tp, 2 * tp + fp + fn),
}


def _cell_resamples(
    rows: PairedRows, score: LabelMetric, resamples: int, seed: int
) -> tuple[float, np.ndarray]:
    import numpy as np

    # cell = 4 * truth + 2 * candidate + champion, so the candidate's true
    # positives are cells 6 and 7, the champion's 5 and 7, and so on below.
    cells = 4 * rows.truth.astype(np.intp) + 2 * rows.candidate + rows.champion
    observed = np.bincount(cells, minlength=8)
    n = int(observed.sum())
    drawn = np.random.default_rng(seed).multinomial(n, observed / n, size=resamples)

    def improvement(c: np.ndarray) -> np.ndarray:
        candidate = score(
            c[:, 6] + c[:, 7], c[:, 2] + c[:, 3], c[:, 4] + c[:, 5], c[:, 0] + c[:, 1]
        )
        champion = score(
            c[:, 5] + c[:, 7], c[:, 1] + c[:, 3], c[:, 4] + c[:, 6], c[:, 0] + c[:, 2]
        )
        return candidate - champion

    return float(improvement(observed[None, :])[0]), improvement(drawn)


def _codes(rows: PairedRows) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Class codes (truth, candidate, champion) and the number of classes."""
    import numpy as np

    if rows.task == "binary":  # booleans: 1 is the positive class
        found = (rows.truth, rows.candidate, rows.champion)
        return (*(a.astype(np.int64) for a in found), 2)  # type: ignore[return-value]
    return rows.truth, rows.candidate, rows.champion, max(len(rows.classes), 1)


def _class_resamples(
    rows: PairedRows, metric: str, resamples: int, seed: int
) -> tuple[float, np.ndarray]:
    import numpy as np

    truth, candidate, champion, k = _codes(rows)
    cells, counts, _ = scores.joint_cells(truth, candidate, champion, k)
    seen = np.bincount(truth, minlength=k) > 0
    labels = (
        seen | (np.bincount(candidate, minlength=k) > 0),
        seen | (np.bincount(champion, minlength=k) > 0),
    )
    n = int(counts.sum())
    drawn = np.random.default_rng(seed).multinomial(n, counts / n, size=resamples)
    estimate = scores.class_improvement(metric, counts[None, :], cells, k, labels)
    return float(estimate[0]), scores.class_improvement(metric, drawn, cells, k, labels)


def _mean_resamples(
    values: np.ndarray, resamples: int, seed: int, *, square_last: bool = False
) -> np.ndarray:
    """Means of ``resamples`` resamples of ``values`` (with replacement); rows
    of a 2-D ``values`` are drawn whole, one mean per column. ``square_last``
    appends the mean of the last column's squares, squared in place after the
    gather and summed again (r2's label variance: no gather and no buffer more).

    A row is drawn in two exact steps: which block of rows, then which row in
    it, from raw random bits masked to the block's power-of-two size. The blocks
    are n's binary digits (100000 = 65536 + 32768 + 1024 + 512 + 128 + 32), the
    digits wider than :func:`_block_cap` cut into blocks of the cap, so that a
    block's slice of a column stays in the level-1/2 cache while it is gathered.
    Each row has probability size/n * 1/size = 1/n, as with ``rng.integers``,
    without its bounded-integer rejection. A chunk's bits are drawn in one call,
    widened to indices block by block (mask and widening in one pass, into a
    buffer each thread keeps), then the columns are gathered with them, two at
    a time as the real and imaginary parts of one complex column (one gather
    and one sum for both), and summed per resample (``reduceat``: pairwise
    float64 sums). Which rows were drawn: :func:`_drawn_rows`, for tests.
    """
    import numpy as np

    n = len(values)
    columns = np.asarray(values, dtype=np.float64).reshape(n, -1)
    width = columns.shape[1]
    packs = [
        _pack(columns[:, j : j + 2]) for j in range(0, width, 2)
    ]  # (n,) complex for two columns, float for the last odd one
    plan = _plan(n, resamples, seed)
    counter = itertools.count()
    out = np.empty((resamples, width + square_last))

    def work() -> None:
        most = max((int(c.sum(axis=0).max()) for c in plan.counts), default=0)
        picked_buffer = np.empty(most, dtype=np.intp)
        real_buffer = np.empty(most if width % 2 else 0)  # the odd last column
        complex_buffer = np.empty(most if width > 1 else 0, dtype=np.complex128)
        while (i := next(counter)) < len(plan.counts):
            sums = out[plan.starts[i] : plan.starts[i] + len(plan.counts[i])]
            sums[:] = 0.0
            for first, size, count, picked in _chunk_draws(plan, i, picked_buffer):
                some = count > 0  # reduceat needs strictly increasing offsets
                rows = slice(None) if some.all() else some
                offsets = (np.cumsum(count) - count)[some]
                for j, pack in enumerate(packs):
                    buffer = real_buffer if pack.dtype.kind == "f" else complex_buffer
                    gathered = buffer[: len(picked)]
                    np.take(
                        pack[first : first + size], picked, out=gathered, mode="clip"
                    )
                    part = np.add.reduceat(gathered, offsets)
                    sums[rows, 2 * j] += part.real
                    if pack.dtype.kind == "c":
                        sums[rows, 2 * j + 1] += part.imag
                if square_last:  # square the last column in place, sum again
                    last = gathered.imag if gathered.dtype.kind == "c" else gathered
                    np.square(last, out=last)
                    # the strided part alone: half the adds of the complex sum
                    sums[rows, width] += np.add.reduceat(last, offsets)

    workers = min(_workers(), len(plan.counts))
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(work) for _ in range(workers)]:
            done.result()
    out /= n
    return out if values.ndim > 1 or square_last else out[:, 0]


def _pack(columns: np.ndarray) -> np.ndarray:
    """One column as it is, two as one complex column (real, imaginary)."""
    import numpy as np

    if columns.shape[1] == 1:
        return np.ascontiguousarray(columns[:, 0])
    return np.ascontiguousarray(columns).view(np.complex128)[:, 0]


@dataclass(frozen=True)
class _Plan:
    """How the rows of every resample are drawn: block sizes and first rows,
    each resample's count per block, chunks of resamples with their seeds."""

    sizes: tuple[int, ...]
    firsts: tuple[int, ...]
    starts: tuple[int, ...]
    counts: tuple[np.ndarray, ...]  # per chunk: (resamples, blocks)
    seeds: tuple[Any, ...]


def _block_cap(n: int) -> int:
    """Rows per block at most: 2**14 (128 KiB of float64: gathered from the
    level-2 cache about 30% faster than 2**16 rows), or more where that would
    make over 64 blocks (per-call overhead); 2**16 and less use 16-bit draws."""
    return max(1 << 14, 1 << max(0, (n - 1) // 64).bit_length())


def _plan(n: int, resamples: int, seed: int) -> _Plan:
    import numpy as np

    cap = _block_cap(n)
    sizes: list[int] = []
    for k in reversed(range(n.bit_length())):
        if n >> k & 1:
            size = 1 << k
            sizes += [min(size, cap)] * max(1, size // cap)
    firsts = np.cumsum([0, *sizes[:-1]])
    per_chunk = max(1, _CHUNK_INDICES // n)
    starts = range(0, resamples, per_chunk)
    blocks_seed, *seeds = np.random.SeedSequence(seed).spawn(1 + len(starts))
    counts = np.random.default_rng(blocks_seed).multinomial(
        n, np.divide(sizes, n), size=resamples
    )
    return _Plan(
        sizes=tuple(sizes),
        firsts=tuple(int(f) for f in firsts),
        starts=tuple(starts),
        counts=tuple(counts[s : s + per_chunk] for s in starts),
        seeds=tuple(seeds),
    )


def _chunk_draws(
    plan: _Plan, i: int, buffer: np.ndarray
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """(first row, rows, count per resample, row indices within the block) of each
    block of chunk ``i``: the indices of resample r follow those of r - 1. The
    chunk's raw bits are drawn in one call (one call per block cost a third of
    the drawing), 16 bits an index for blocks of up to 2**16 rows, else 32."""
    import numpy as np

    totals = plan.counts[i].sum(axis=0)
    words = [
        np.dtype(np.uint16 if size <= 1 << 16 else np.uint32) for size in plan.sizes
    ]
    need = [-(-int(t) * w.itemsize // 8) for t, w in zip(totals, words)]
    raw = np.random.SFC64(plan.seeds[i]).random_raw(sum(need))
    ends = np.cumsum(need)
    for first, size, count, total, word, end, used in zip(
        plan.firsts, plan.sizes, plan.counts[i].T, totals, words, ends, need
    ):
        if total == 0:
            continue
        bits = raw[end - used : end].view(word)[:total]
        picked = buffer[:total]
        np.bitwise_and(bits, word.type(size - 1), out=picked, casting="unsafe")
        yield first, size, count, picked


def _drawn_rows(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) row indices that ``_mean_resamples(values, resamples,
    seed)`` averages, for tests: its means are ``values[rows].mean(axis=1)``."""
    import numpy as np

    plan = _plan(n, resamples, seed)
    rows = np.empty((resamples, n), dtype=np.intp)
    for i, start in enumerate(plan.starts):
        filled = np.zeros(len(plan.counts[i]), dtype=np.intp)
        buffer = np.empty(n * len(plan.counts[i]), dtype=np.intp)
        for first, _, count, picked in _chunk_draws(plan, i, buffer):
            ends = np.cumsum(count)
            for r, (c, end) in enumerate(zip(count, ends)):
                rows[start + r, filled[r] : filled[r] + c] = (
                    first + picked[end - c : end]
                )
                filled[r] += c
    return rows


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))

"""Pair the candidate's and the champion's predictions row by row.

Both come from the evaluate component's ``predictions.parquet``: columns
``row_id``, ``label`` (true class, or value) and ``prediction`` for every task;
a binary task adds ``probability`` (of the positive class), a multiclass one may
add ``probability_<class>`` per class (needed for log loss only); regression
labels and predictions are numbers. Two models can be compared row by row only
if they scored exactly the same rows with the same true labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COLUMNS = ("row_id", "label", "prediction", "probability")
BASE_COLUMNS = ("row_id", "label", "prediction")


@dataclass(frozen=True)
class PairedRows:
    """Both models' predictions on the same rows, aligned by ``row_id``."""

    row_id: np.ndarray
    # binary: bool, the positive class; multiclass: int codes into ``classes``;
    # regression: float64 values
    truth: np.ndarray
    candidate: np.ndarray  # what the candidate predicted, coded as ``truth``
    champion: np.ndarray
    # binary: float64 of the positive class; multiclass: (rows, classes) or None
    candidate_probability: np.ndarray | None
    champion_probability: np.ndarray | None
    task: str = "binary"
    classes: tuple[Any, ...] = ()  # multiclass: the classes, in code order

    def __len__(self) -> int:
        return len(self.row_id)


def unpaired_reason(
    candidate: pd.DataFrame,
    champion: pd.DataFrame,
    *,
    positive_class: Any,
    task: str = "binary",
) -> str | None:
    """Why these predictions cannot be paired row by row, or None if they can."""
    import pandas as pd

    needed = COLUMNS if task == "binary" else BASE_COLUMNS
    for who, frame in (("candidate", candidate), ("champion", champion)):
        missing = [column for column in needed if column not in frame.columns]
        if missing:
            return (
                f"the {who}'s predictions lack {', '.join(missing)}: "
                "re-run evaluate for it"
            )
        if len(frame) == 0:
            return f"the {who}'s predictions are empty"
        repeated = frame["row_id"][frame["row_id"].duplicated()]
        if len(repeated):
            return f"the {who}'s predictions repeat row_id {_show(repeated.iloc[0])}"
        if task != "binary":
            problem = _values_problem(frame, task)
            if problem:
                return f"the {who}'s {problem}"
            continue
        probability = pd.to_numeric(frame["probability"], errors="coerce")
        bad = int((~probability.between(0.0, 1.0)).sum())  # NaN is not between
        if bad:
            return (
                f"the {who}'s probability column has {bad} value(s) that are "
                "not numbers in [0, 1]"
            )
    ours, theirs = pd.Index(candidate["row_id"]), pd.Index(champion["row_id"])
    only_ours, only_theirs = ours.difference(theirs), theirs.difference(ours)
    if len(only_ours) or len(only_theirs):
        example = (only_ours if len(only_ours) else only_theirs)[0]
        return (
            "candidate and champion were scored on different rows "
            f"({len(only_ours)} only in the candidate's predictions, "
            f"{len(only_theirs)} only in the champion's, e.g. row_id "
            f"{_show(example)}): evaluate the champion on the candidate's test set"
        )
    joined = candidate.merge(champion, on="row_id", suffixes=("", "_champion"))
    differ = joined["label"] != joined["label_champion"]
    if differ.any():
        return (
            f"the true labels differ on {int(differ.sum())} shared rows "
            f"(e.g. row_id {_show(joined['row_id'][differ].iloc[0])}): "
            "not the same test set"
        )
    if task != "binary":
        return None
    labels = pd.unique(candidate["label"])
    seen = set(labels) | set(pd.unique(candidate["prediction"]))
    if len(labels) > 2 or positive_class not in seen:
        shown = ", ".join(sorted(_show(value) for value in labels[:5]))
        return (
            f"the labels ({shown}) are not a binary task with positive class "
            f"{_show(positive_class)}"
        )
    return None


def _values_problem(frame: pd.DataFrame, task: str) -> str | None:
    """What is wrong with a multiclass or regression frame's values, if anything."""
    import numpy as np
    import pandas as pd

    for column in ("label", "prediction"):
        values = frame[column]
        if task == "regression":
            number = pd.to_numeric(values, errors="coerce").astype("float64")
            bad = int((~np.isfinite(number.to_numpy())).sum())
            what = "finite numbers"
        else:
            bad, what = int(values.isna().sum()), "classes (missing values)"
        if bad:
            return f"{column} column has {bad} value(s) that are not {what}"
    for column in probability_columns(frame):
        probability = pd.to_numeric(frame[column], errors="coerce")
        bad = int((~probability.between(0.0, 1.0)).sum())
        if bad:
            return f"{column} column has {bad} value(s) that are not numbers in [0, 1]"
    return None


def probability_columns(frame: pd.DataFrame) -> list[str]:
    """The ``probability_<class>`` columns of a multiclass frame."""
    return [c for c in frame.columns if str(c).startswith("probability_")]


def _show(value: Any) -> str:
    """repr, without numpy's type wrapper (``np.int64(3)`` reads as ``3``)."""
    return repr(value.item() if hasattr(value, "item") else value)


def pair_predictions(
    candidate: pd.DataFrame,
    champion: pd.DataFrame,
    *,
    positive_class: Any,
    task: str = "binary",
) -> PairedRows | None:
    """Join the two predictions on ``row_id``; None when not the same rows.

    ``unpaired_reason`` says why (different test sets, repeated ids, missing
    columns, bad probabilities); ``positive_class`` is metrics.json's (binary
    only); ``task`` is gate.yml's or :func:`mlops_actions.gate.tasks.infer_task`'s.
    """
    if unpaired_reason(candidate, champion, positive_class=positive_class, task=task):
        return None
    if task == "regression":
        return _pair_values(candidate, champion)
    if task == "multiclass":
        return _pair_classes(candidate, champion)
    joined = candidate[list(COLUMNS)].merge(
        champion[list(COLUMNS)], on="row_id", suffixes=("", "_champion")
    )
    return PairedRows(
        row_id=joined["row_id"].to_numpy(),
        truth=(joined["label"] == positive_class).to_numpy(dtype=bool),
        candidate=(joined["prediction"] == positive_class).to_numpy(dtype=bool),
        champion=(joined["prediction_champion"] == positive_class).to_numpy(dtype=bool),
        candidate_probability=joined["probability"].to_numpy(dtype="float64"),
        champion_probability=joined["probability_champion"].to_numpy(dtype="float64"),
    )


def _joined(candidate: pd.DataFrame, champion: pd.DataFrame) -> pd.DataFrame:
    renamed = {c: f"{c}_champion" for c in champion.columns if c != "row_id"}
    return candidate.merge(champion.rename(columns=renamed), on="row_id")


def _pair_values(candidate: pd.DataFrame, champion: pd.DataFrame) -> PairedRows:
    import pandas as pd

    joined = _joined(candidate[list(BASE_COLUMNS)], champion[list(BASE_COLUMNS)])

    def values(column: str) -> np.ndarray:
        return pd.to_numeric(joined[column]).to_numpy(dtype="float64")

    return PairedRows(
        row_id=joined["row_id"].to_numpy(),
        truth=values("label"),
        candidate=values("prediction"),
        champion=values("prediction_champion"),
        candidate_probability=None,
        champion_probability=None,
        task="regression",
    )


def _pair_classes(candidate: pd.DataFrame, champion: pd.DataFrame) -> PairedRows:
    import numpy as np
    import pandas as pd

    joined = _joined(candidate, champion)
    columns = ("label", "prediction", "prediction_champion")
    found = pd.unique(pd.concat([joined[c] for c in columns], ignore_index=True))
    classes = tuple(sorted(found, key=lambda v: (str(type(v)), v)))
    index = pd.Index(classes)

    def codes(column: str) -> np.ndarray:
        return index.get_indexer(joined[column]).astype(np.int64)

    def probability(suffix: str) -> np.ndarray | None:
        names = [f"probability_{value}{suffix}" for value in classes]
        if any(name not in joined.columns for name in names):
            return None  # log loss says what is missing; other metrics need none
        return joined[names].to_numpy(dtype="float64")

    return PairedRows(
        row_id=joined["row_id"].to_numpy(),
        truth=codes("label"),
        candidate=codes("prediction"),
        champion=codes("prediction_champion"),
        candidate_probability=probability(""),
        champion_probability=probability("_champion"),
        task="multiclass",
        classes=classes,
    )


def missing_for(rows: PairedRows, metric: str) -> str | None:
    """What ``rows`` lack to resample ``metric`` (multiclass log loss needs one
    ``probability_<class>`` column per class in both predictions)."""
    from mlops_actions.gate.tasks import canonical

    if canonical(metric) != "log_loss" or rows.task != "multiclass":
        return None
    for who, probability in (
        ("candidate", rows.candidate_probability),
        ("champion", rows.champion_probability),
    ):
        if probability is None:
            wanted = ", ".join(f"probability_{value}" for value in rows.classes)
            return (
                f"log_loss needs the columns {wanted} in the {who}'s "
                "predictions: write them in evaluate"
            )
    return None

"""Pair the candidate's and the champion's predictions row by row.

Both come from the evaluate component's ``predictions.parquet``: columns
``row_id``, ``label`` (true class), ``prediction`` (predicted class) and
``probability`` (of the positive class). Two models can be compared row by row
only if they scored exactly the same rows with the same true labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

COLUMNS = ("row_id", "label", "prediction", "probability")


@dataclass(frozen=True)
class PairedRows:
    """Both models' predictions on the same rows, aligned by ``row_id``."""

    row_id: np.ndarray
    truth: np.ndarray  # bool: the true label is the positive class
    candidate: np.ndarray  # bool: the candidate predicted the positive class
    champion: np.ndarray
    candidate_probability: np.ndarray  # float64, of the positive class
    champion_probability: np.ndarray

    def __len__(self) -> int:
        return len(self.row_id)


def unpaired_reason(
    candidate: pd.DataFrame, champion: pd.DataFrame, *, positive_class: Any
) -> str | None:
    """Why these predictions cannot be paired row by row, or None if they can."""
    import pandas as pd

    for who, frame in (("candidate", candidate), ("champion", champion)):
        missing = [column for column in COLUMNS if column not in frame.columns]
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
    labels = pd.unique(candidate["label"])
    seen = set(labels) | set(pd.unique(candidate["prediction"]))
    if len(labels) > 2 or positive_class not in seen:
        shown = ", ".join(sorted(_show(value) for value in labels[:5]))
        return (
            f"the labels ({shown}) are not a binary task with positive class "
            f"{_show(positive_class)}"
        )
    return None


def _show(value: Any) -> str:
    """repr, without numpy's type wrapper (``np.int64(3)`` reads as ``3``)."""
    return repr(value.item() if hasattr(value, "item") else value)


def pair_predictions(
    candidate: pd.DataFrame, champion: pd.DataFrame, *, positive_class: Any
) -> PairedRows | None:
    """Join the two predictions on ``row_id``; None when not the same rows.

    ``unpaired_reason`` says why (different test sets, repeated ids, missing
    columns, bad probabilities); ``positive_class`` is metrics.json's.
    """
    if unpaired_reason(candidate, champion, positive_class=positive_class):
        return None
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

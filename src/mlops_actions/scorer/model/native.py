"""The flavor's own input where it is cheaper than a DataFrame.

A scikit-learn estimator turns the DataFrame MLflow hands it into a 2-D
array, after checking the frame's column names and dtypes: for a
GradientBoosting model on 20 columns, predicting one row from a frame took
1.9-2.2 ms and from the array 0.42-0.45 ms (a busy 2-core machine). When
the signature's columns are the estimator's ``feature_names_in_`` in order
(or it was fit on an array of as many columns) and share one numeric dtype,
the scorer hands it that array.

Other flavors (the reference PyTorch model, any PythonModel) take a
DataFrame: that is their native input. The predictor verifies an array call
once, against ``PyFuncModel.predict``'s answer, before it keeps it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: scikit-learn's warning for an array given to an estimator fit on a frame:
#: the array's columns are the fitted names, in order, by construction here
NAMES_WARNING = "X does not have valid feature names"
#: and for a frame given to one fit on an array, as pyfunc's answer is checked
FRAME_WARNING = "X has feature names"
#: signature dtypes an estimator takes as one numeric block
NUMERIC_KINDS = "fiu"


@dataclass(frozen=True)
class ArrayCall:
    """``predict(block)``: the estimator's predict function on a (rows,
    columns) array of ``dtype``, laid out as a DataFrame's block (see
    ``Predictor._block``); ``why`` says so in the start-up log."""

    predict: Callable[[np.ndarray], Any]
    dtype: Any
    named: bool
    why: str
    #: the columns, in order, that the array's must be (optional ones may be
    #: left out of a request: those requests take the frame path)
    columns: tuple[str, ...] = ()


def sklearn_array_call(
    pyfunc: Any, names: list[str], dtypes: list[Any]
) -> ArrayCall | None:
    """The array call for an MLflow sklearn model whose signature allows one;
    None for any other model, or when the columns' names or dtypes differ."""
    if len(set(dtypes)) != 1 or np.dtype(dtypes[0]).kind not in NUMERIC_KINDS:
        return None
    estimator, name = _estimator(pyfunc)
    predict = getattr(estimator, name, None)
    if not callable(predict):
        return None
    dtype = np.dtype(dtypes[0])
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None:
        if [str(n) for n in fitted] != names:
            return None
        why = "signature columns match feature_names_in_"
    elif getattr(estimator, "n_features_in_", len(names)) == len(names):
        why = "fit on arrays of as many columns"
    else:
        return None
    what = f"{type(estimator).__name__}.{name}"
    why = f"{what} on {dtype} arrays ({why})"
    return ArrayCall(predict, dtype, fitted is not None, why, tuple(names))


def quiet_names_warning(message: str = NAMES_WARNING) -> None:
    """Ignore scikit-learn's unnamed-array warning from now on, process-wide.

    One filter, set once: a ``catch_warnings`` per call would cost more than
    the warning, and the scorer's own arrays are the only ones it would be
    about. ``filterwarnings`` drops an equal filter before adding it again.
    """
    warnings.filterwarnings(
        "ignore", message=message, category=UserWarning, module="sklearn"
    )


def _estimator(pyfunc: Any) -> tuple[Any, str]:
    """The estimator inside an MLflow sklearn model, and the name of the
    predict function its MLmodel names (``pyfunc_predict_fn``); (None, "")
    for other flavors."""
    meta = getattr(pyfunc, "metadata", None)
    flavors = getattr(meta, "flavors", None) or {}
    conf = flavors.get("python_function", {})
    if "sklearn" not in flavors or conf.get("loader_module") != "mlflow.sklearn":
        return None, ""
    try:
        estimator = pyfunc.get_raw_model()
    except Exception:  # noqa: BLE001 - a different MLflow: stay on the frame
        return None, ""
    return estimator, conf.get("predict_fn", "predict")

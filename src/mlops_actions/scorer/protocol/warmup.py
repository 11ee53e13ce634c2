"""The warm-up: one request made from the model's example, through the serving
path (parsing, signature checks, predict), before a server says it is ready."""

from __future__ import annotations

import logging

from mlops_actions.scorer.model.loading import ModelLoadFailed, ServedModel, warmup_body
from mlops_actions.scorer.model.predict import Predictor
from mlops_actions.scorer.protocol.inputs import parse_request
from mlops_actions.scorer.rejection import Rejected

log = logging.getLogger("mlops_actions.scorer")


def warm_up(model: ServedModel) -> None:
    """Answer one request from the model's input example (or a row made from
    its signature) through the serving path; raise ModelLoadFailed if it fails."""
    body = warmup_body(model)
    if body is None:
        log.info(
            "model %s has no input example and no signature: no warm-up", model.uri
        )
        return
    try:
        item = parse_request(body, "application/json", model)
        outcome = Predictor(model, announce=False).run([item])[0]
    except Rejected as exc:
        outcome = exc
    if isinstance(outcome, Rejected):
        reason = outcome.message
    elif isinstance(outcome, BaseException):
        reason = f"{type(outcome).__name__}: {outcome}"
    else:
        return
    raise ModelLoadFailed(f"model {model.uri} failed its warm-up prediction: {reason}")

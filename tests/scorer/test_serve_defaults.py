"""`mlops scorer serve`'s defaults are ScorerConfig's: written once."""

from __future__ import annotations

from dataclasses import fields

import click
import pytest

from mlops_actions.cli.scorer import serve
from mlops_actions.scorer.config import ScorerConfig, default

#: fields no flag sets: the model is the argument; the rest are not tunable
UNFLAGGED = {"model_uri", "log_queue_size", "graceful_timeout"}


def test_every_flag_default_is_the_config_default():
    # `--backend` after the command is the root's, not the scorer's
    flags = {p.name: p for p in serve.params if p.name != "model" and p.expose_value}
    names = {f.name for f in fields(ScorerConfig)}
    assert set(flags) == names - UNFLAGGED
    ctx = click.Context(serve)
    for name, flag in flags.items():
        given = flag.get_default(ctx, call=False)
        if name == "instance_id":
            assert given is None  # the config's random one, per process
            continue
        assert given == default(name), name


def test_a_field_without_a_plain_default_is_refused():
    with pytest.raises(KeyError, match="instance_id"):
        default("instance_id")


def test_serve_with_no_flags_runs_the_config_defaults(mlops, monkeypatch):
    seen = []
    monkeypatch.setattr(
        "mlops_actions.scorer.http.server.serve",
        lambda config, on_listening: seen.append(config),
    )
    for name in ("PORT", "HOST", "THREADS", "MAX_BATCH_ROWS"):
        monkeypatch.delenv(f"MLOPS_SCORER_SERVE_{name}", raising=False)
    result = mlops("scorer", "serve", "some/model")
    assert result.code == 0, result.err
    [config] = seen
    assert config == ScorerConfig("some/model", instance_id=config.instance_id)
    assert (config.host, config.port, config.threads) == ("127.0.0.1", 8080, None)


def test_help_shows_the_defaults(mlops):
    text = " ".join(mlops("scorer", "serve", "--help").out.split())
    assert "--port PORT Port to listen on. [env var: MLOPS_SCORER_SERVE_PORT; " in text
    assert "MLOPS_SCORER_SERVE_PORT; default: 8080]" in text
    assert "[env var: MLOPS_SCORER_SERVE_BODY_LIMIT; default: 1048576;" in text

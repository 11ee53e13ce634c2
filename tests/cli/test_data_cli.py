"""``mlops data``: exit codes and exact output, locally and against the fake
Azure ML service."""

from __future__ import annotations


def test_data_assets_need_the_azure_backend(mlops, tmp_path):
    (tmp_path / "d.csv").write_text("a\n1\n")
    result = mlops("data", "register", str(tmp_path / "d.csv"), "--name", "d")
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: data assets are an Azure ML feature: pass --backend azure (or set "
        "MLOPS_BACKEND=azure); local pipelines read files and folders directly\n"
    )


def test_a_missing_path_is_a_usage_error(mlops, tmp_path):
    result = mlops("--backend", "azure", "data", "register", str(tmp_path / "x"),
                   "--name", "d")  # fmt: skip
    assert result.code == 2
    assert "does not exist" in result.err

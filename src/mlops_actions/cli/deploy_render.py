"""``mlops deploy render``: the AKS manifests as files, for review or GitOps
(see :mod:`mlops_actions.deploy.manifests`)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import click

from mlops_actions.cli.aks_options import overrides, settings_options
from mlops_actions.cli.image_source import image_options, served_image
from mlops_actions.errors import UsageError

#: what a render writes; a folder holding anything else is not replaced
RENDERED = re.compile(r"[0-9]{2}-[a-z]+-[a-z0-9.-]+\.yaml")


@click.command("render")
@image_options
@click.option(
    "--namespace",
    show_envvar=True,
    help="Namespace [default: mlops.yaml aks.namespace, else default].",
)
@settings_options
@click.option(
    "--track",
    default="stable",
    show_default=True,
    show_envvar=True,
    help="stable: the Deployment APP; another (canary, blue, green): APP-TRACK.",
)
@click.option(
    "--commit",
    show_envvar=True,
    help="Commit for the pods' label [default: image.json's model commit, else "
    "$GITHUB_SHA].",
)
@click.option(
    "--out",
    metavar="DIR",
    show_envvar=True,
    help="Folder for one NN-kind-name.yaml per manifest, replaced whole; - "
    "prints one YAML stream [default: .mlops/deploy/manifests].",
)
def render(
    *,
    image: str | None,
    image_file: Path,
    model_version: str | None,
    name: str | None,
    namespace: str | None,
    track: str,
    commit: str | None,
    out: str | None,
) -> None:
    """Write the scorer's Kubernetes manifests, as `mlops deploy aks` applies them.

    Deployment, Service, PodDisruptionBudget, and as mlops.yaml's aks: asks
    an HPA, a PodMonitor and a ServiceAccount for the input log. Nothing is
    written unless every manifest renders; the folder is then replaced whole,
    so no file of an earlier render is left. Prints each file written.
    """
    import yaml

    from mlops_actions.deploy import manifests
    from mlops_actions.project import load_project
    from mlops_actions.settings import state_dir

    served = served_image(image, image_file, name, model_version)
    given = {**overrides(), "namespace": namespace}
    settings = manifests.AksSettings.from_config(load_project().aks, given)
    docs = manifests.render(
        settings,
        image=served.image,
        model_name=served.name,
        model_version=served.version,
        commit=commit or served.commit or os.environ.get("GITHUB_SHA"),
        track=track,
    )
    texts = [yaml.safe_dump(doc, sort_keys=False) for doc in docs]
    if out == "-":
        click.echo("".join(f"---\n{text}" for text in texts), nl=False)
        return
    folder = Path(out) if out else state_dir() / "deploy" / "manifests"
    names = manifests.file_names(docs)
    _replace_folder(folder, dict(zip(names, texts)))
    for file in names:
        click.echo(str(folder / file))


def _replace_folder(folder: Path, files: dict[str, str]) -> None:
    """``folder`` holds exactly ``files`` afterwards, or is left as it was.

    The files are written into a new folder beside it, which then takes its
    place; a folder holding a file a render does not write is refused.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {folder}: not a folder: name a folder")
    if folder.is_dir():
        strangers = sorted(
            p.name for p in folder.iterdir() if not RENDERED.fullmatch(p.name)
        )
        if strangers:
            raise UsageError(
                f"--out {folder}: holds {strangers[0]}, which mlops deploy render "
                "did not write: name a folder of its own"
            )
    folder.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.new-"))
    old = fresh.with_name(fresh.name.replace(".new-", ".old-"))
    try:
        fresh.chmod(0o755)
        for name, text in files.items():
            (fresh / name).write_text(text, encoding="utf-8")
        if folder.is_dir():
            folder.rename(old)
        fresh.rename(folder)
    except BaseException:
        if old.is_dir() and not folder.exists():
            old.rename(folder)
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)

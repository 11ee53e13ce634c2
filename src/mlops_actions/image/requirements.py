"""The image's requirements.txt: exact pins of what the scorer was tested with.

The scorer's own dependencies (mlops-actions' core plus its ``serve`` extra)
and everything they pull in are pinned with ``==`` to the versions installed
where the bundle is made. The model's requirements (its MLflow
``requirements.txt``) come on top: a line pinned with ``==`` is kept as the
model asked (unpickling wants the exact version), any other line is pinned to
the version installed here, and a line nothing here can pin is refused.

``mlflow`` in a model's requirements becomes the scorer's ``mlflow-skinny``:
loading a pyfunc model needs no tracking server (Flask, SQLAlchemy,
matplotlib...), which full mlflow would add to the image. MLflow writes its own
version into every model's requirements; the scorer's pin wins, and the
difference is reported as a note.

A model's requirements are what its training environment held, so they may
name tools that serving never runs (pytest, black, flake8, mypy...): those
lines are dropped, with a note. A local build tag (``torch==2.13.0+cpu``) is
on no public index: the pin keeps the public version (``torch==2.13.0``),
and for PyTorch's own packages the tag's index goes into requirements.txt as
an ``--extra-index-url`` line (``https://download.pytorch.org/whl/cpu``), so
pip still installs the CPU build, the one the model was tested with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from mlops_actions.errors import MissingDependency, UsageError

SELF = "mlops-actions"
EXTRA = "serve"
_MLFLOW = ("mlflow", "mlflow-skinny")
#: test and development tools: nothing a scorer imports
DEV_TOOLS = frozenset(
    "pytest hypothesis black flake8 mypy mypy-extensions pylint ruff isort "
    "coverage tox nox pre-commit pyflakes pycodestyle autopep8 yapf bandit "
    "ipython ipykernel jupyter notebook jupyterlab".split()
)
_DEV_PREFIXES = ("pytest-", "flake8-", "types-", "pylint-", "mypy-")
#: what a served image never imports: mlflow-skinny's needs for tracking
#: (git facts of a run, Databricks' Google sign-in) and uvicorn[standard]'s
#: for what a server in an image never does (--reload, WebSockets,
#: --env-file). The image build checks that the scorer and the model load
#: without them. Left out (30 MB) unless something else needs one.
NOT_SERVED = frozenset(
    "google-auth cryptography cffi pycparser pyasn1 pyasn1-modules gitpython "
    "gitdb smmap watchfiles websockets python-dotenv".split()
)
#: the packages that bring NOT_SERVED ones in. databricks-sdk itself stays
#: for its ``databricks`` namespace: ``import mlflow`` asks
#: ``find_spec("databricks.agents")``, which fails without it, but never
#: imports databricks.sdk, so what only it needs can go
BRINGERS = frozenset({"mlflow-skinny", "databricks-sdk", "uvicorn"})
#: packages whose local builds (+cpu, +cu128, +rocm6.4) PyTorch's index serves
PYTORCH_INDEX = "https://download.pytorch.org/whl/"
_PYTORCH = frozenset({"torch", "torchvision", "torchaudio", "triton"})
_LOCAL_TAG = re.compile(r"[a-z0-9][a-z0-9.]*")


def canonical(name: str) -> str:
    """PEP 503 normalised name: ``Foo_Bar`` and ``foo-bar`` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    #: who asked for it: "scorer" or "model"
    via: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass
class Lock:
    """The pins, by canonical name, and notes on choices made."""

    pins: dict[str, Pin] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: extra package indexes the pins need (PyTorch's, for a +cpu build)
    indexes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [str(pin) for _, pin in sorted(self.pins.items())]

    def text(self) -> str:
        head = (
            "# Written by `mlops image bundle`: exact pins of the scorer's\n"
            "# dependencies as installed where the bundle was made, plus the\n"
            "# model's own requirements.\n"
        )
        options = "".join(f"--extra-index-url {url}\n" for url in self.indexes)
        return head + options + "".join(f"{line}\n" for line in self.lines())


Lookup = Callable[[str], Any]


def has_serve_extra(toolkit_requires: Iterable[str]) -> bool:
    """True when some Requires-Dist line belongs to the serve extra only."""
    _need_packaging()
    from packaging.requirements import Requirement

    for line in toolkit_requires:
        marker = Requirement(line).marker
        if marker is not None and marker.evaluate({**_environment(), "extra": EXTRA}):
            if not marker.evaluate({**_environment(), "extra": ""}):
                return True
    return False


def lock(
    toolkit_requires: Iterable[str],
    model_requirements: Path | None,
    *,
    distribution: Lookup = metadata.distribution,
) -> Lock:
    """Pin the scorer's dependencies (``toolkit_requires``: the Requires-Dist
    lines of the mlops-actions wheel going into the image) and the model's.

    ``distribution`` finds an installed distribution by name (injectable for
    tests); it raises ``PackageNotFoundError`` for one not installed.
    """
    _need_packaging()
    from packaging.requirements import Requirement

    env = _environment()
    found = Lock()
    demands: dict[str, list[tuple[str, Any]]] = {}
    roots = []
    for line in toolkit_requires:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({**env, "extra": EXTRA}):
            roots.append(req)
    for req in roots:
        _walk(req, "scorer", found, demands, env, distribution, strict=True)
    if model_requirements is not None and model_requirements.is_file():
        _add_model_requirements(model_requirements, found, demands, env, distribution)
    _leave_out_unserved(found, demands)
    return found


def _add_model_requirements(
    model_requirements: Path,
    found: Lock,
    demands: dict[str, list[tuple[str, Any]]],
    env: dict[str, str],
    distribution: Lookup,
) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    for number, text in _lines(model_requirements):
        where = f"{model_requirements.parent.name}/requirements.txt line {number}"
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise UsageError(
                f"{where}: {text!r} is not a requirement ({exc})"
            ) from None
        if req.url:
            raise UsageError(
                f"{where}: {text!r} installs from a URL: the image takes "
                "packages by name and exact version only"
            )
        if req.marker is not None and not req.marker.evaluate({**env, "extra": ""}):
            continue
        if is_dev_tool(req.name):
            found.notes.append(
                f"{where}: {req} dropped: a test or development tool, which "
                "the scorer never runs"
            )
            continue
        req = _without_local_tag(req, where, found)
        _add_model_requirement(req, where, found, demands, env, distribution)


def _leave_out_unserved(found: Lock, demands: dict[str, list[tuple[str, Any]]]) -> None:
    """Drop the NOT_SERVED pins that only BRINGERS or each other need (the
    image installs the pins with ``--no-deps``)."""
    out = {
        name
        for name in NOT_SERVED
        if name in found.pins and found.pins[name].via == "scorer"
    }
    changed = True
    while changed:
        changed = False
        for name in sorted(out):
            # a demand's parent is "Name version", or "scorer"/"model" for a root
            parents = {canonical(who.split(" ")[0]) for who, _ in demands[name]}
            if not parents <= out | BRINGERS:
                out.discard(name)
                changed = True
    if out:
        found.notes.append(
            "left out, as a served image never imports them (tracking, "
            f"reloading, WebSockets): {', '.join(sorted(out))}"
        )
    for name in out:
        del found.pins[name]


def is_dev_tool(name: str) -> bool:
    """Whether ``name`` is a test or development tool (pytest, black...)."""
    name = canonical(name)
    return name in DEV_TOOLS or name.startswith(_DEV_PREFIXES)


def public_version(version: str) -> str:
    """``2.13.0+cpu`` -> ``2.13.0``: the version any index can serve."""
    return version.split("+", 1)[0]


def _without_local_tag(req: Any, where: str, found: Lock) -> Any:
    """``torch==2.13.0+cpu`` as ``torch==2.13.0`` (and PyTorch's index for
    the tag, when it is one of PyTorch's packages); other lines as they are."""
    pinned = _exact(req)
    if pinned is None or "+" not in pinned:
        return req
    from packaging.requirements import Requirement

    public = public_version(pinned)
    marker = f"; {req.marker}" if req.marker else ""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    found.notes.append(_local_build(f"{where}: {req}", req.name, pinned, found))
    return Requirement(f"{req.name}{extras}=={public}{marker}")


def _local_build(what: str, name: str, version: str, found: Lock) -> str:
    """The note on pinning ``name`` ``version`` (with a local tag) by its
    public version; PyTorch's index for the tag joins ``found.indexes``."""
    public, tag = version.split("+", 1)
    note = f"{what} pinned as {name}=={public}"
    if canonical(name) in _PYTORCH and _LOCAL_TAG.fullmatch(tag.lower()):
        url = PYTORCH_INDEX + tag.lower()
        if url not in found.indexes:
            found.indexes.append(url)
        return note + f" with --extra-index-url {url} (the +{tag} build)"
    return note + f" (the local build tag +{tag} is on no package index)"


def _add_model_requirement(
    req: Any,
    where: str,
    found: Lock,
    demands: dict[str, list[tuple[str, Any]]],
    env: dict[str, str],
    distribution: Lookup,
) -> None:
    name = canonical(req.name)
    if name == "mlflow":
        skinny = found.pins.get("mlflow-skinny")
        if skinny is not None:
            if not req.specifier.contains(skinny.version, prereleases=True):
                found.notes.append(
                    f"{where}: {req} replaced by the scorer's {skinny} "
                    "(loading a pyfunc model needs mlflow-skinny only)"
                )
            return
        req = _renamed(req, "mlflow-skinny")
        name = "mlflow-skinny"
    pinned = _exact(req)
    if pinned is not None:
        held = found.pins.get(name)
        for parent, specifier in demands.get(name, []):
            if not specifier.contains(pinned, prereleases=True):
                raise UsageError(
                    f"{where}: {req.name}=={pinned} conflicts with the scorer's "
                    f"dependency {parent} needing {req.name}{specifier}"
                )
        if held is not None and held.version == pinned:
            return
        found.pins[name] = Pin(req.name, pinned, "model")
        try:
            installed = public_version(distribution(req.name).version)
        except metadata.PackageNotFoundError:
            installed = None
        if installed == pinned:
            # Same version here: its dependencies get pinned too.
            _walk(req, "model", found, demands, env, distribution, strict=False)
        return
    _walk(req, "model", found, demands, env, distribution, strict=True, where=where)


def _walk(
    root: Any,
    via: str,
    found: Lock,
    demands: dict[str, list[tuple[str, Any]]],
    env: dict[str, str],
    distribution: Lookup,
    *,
    strict: bool,
    where: str | None = None,
) -> None:
    """Pin ``root`` and what it depends on, at the installed versions.

    With ``strict``, ``root`` itself must be installed here at a version its
    specifier allows; below it, a dependency not installed here (another
    platform's, or a broken environment) is left for pip to resolve.
    """
    from packaging.requirements import Requirement

    stack: list[tuple[Any, str | None, bool]] = [(root, None, strict)]
    visited: set[tuple[str, frozenset[str]]] = set()
    while stack:
        req, parent, must = stack.pop()
        name = canonical(req.name)
        demands.setdefault(name, []).append((parent or via, req.specifier))
        key = (name, frozenset(req.extras))
        if key in visited or name == SELF:
            continue
        visited.add(key)
        try:
            dist = distribution(req.name)
        except metadata.PackageNotFoundError:
            if not must:
                continue
            if via == "scorer":
                raise MissingDependency(
                    req.name,
                    EXTRA,
                    "`mlops image bundle` (it pins the versions " "installed here)",
                ) from None
            raise UsageError(
                f"{where}: {req} is not installed here, so its version cannot be "
                f"pinned: install it, or pin it with == in the model's "
                "requirements.txt"
            ) from None
        version = public_version(dist.version)
        held = found.pins.get(name)
        if held is None:
            found.pins[name] = Pin(dist.metadata["Name"] or req.name, version, via)
            if version != dist.version:
                found.notes.append(
                    _local_build(
                        f"{req.name} {dist.version} (installed here)",
                        req.name,
                        dist.version,
                        found,
                    )
                )
        if must and not req.specifier.contains(version, prereleases=True):
            raise UsageError(
                f"{where or 'the scorer'}: needs {req}, but {req.name} {version} "
                "is installed here: install a matching version"
            )
        for line in dist.requires or []:
            child = Requirement(line)
            extras = {"", *req.extras}
            if child.marker is None or any(
                child.marker.evaluate({**env, "extra": extra}) for extra in extras
            ):
                stack.append((child, f"{dist.metadata['Name']} {version}", False))


def _exact(req: Any) -> str | None:
    specs = list(req.specifier)
    if (
        len(specs) == 1
        and specs[0].operator in ("==", "===")
        and "*" not in (specs[0].version)
    ):
        return specs[0].version
    return None


def _renamed(req: Any, name: str) -> Any:
    from packaging.requirements import Requirement

    marker = f"; {req.marker}" if req.marker else ""
    return Requirement(f"{name}{req.specifier}{marker}")


def _lines(path: Path) -> list[tuple[int, str]]:
    """Requirement lines without comments; pip options are refused."""
    found = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        text = raw.split(" #", 1)[0].strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("-"):
            raise UsageError(
                f"{path.parent.name}/{path.name} line {number}: {text!r}: pip "
                "options (-r, -c, "
                "--index-url, -e) are not supported in a model's requirements"
            )
        found.append((number, text))
    return found


def _need_packaging() -> None:
    from importlib.util import find_spec

    # mlflow-skinny brings it; a core-only install may lack it.
    if find_spec("packaging") is None:
        raise MissingDependency("packaging", EXTRA, "`mlops image bundle`")


def _environment() -> dict[str, str]:
    """Marker values of the image: Linux, this Python and machine."""
    from packaging.markers import default_environment

    env = {key: str(value) for key, value in default_environment().items()}
    env.update(sys_platform="linux", platform_system="Linux", os_name="posix")
    return env

"""Strip the scorer's virtual environment of what no server runs, then prove
the scorer and the model still load, compiling the bytecode they use.

Runs inside the image build, in the same ``RUN`` as ``pip install`` (so no
layer keeps the files), as ``python slim.py VENV --requirements FILE --model
DIR``. Standard library only: it runs before and after pip is gone.

Removed: test folders (``tests/``, ``test/``; ``testing/`` stays, as numpy's,
pandas' and torch's are imported at run time), C/C++ headers and sources,
Cython sources, type stubs, static libraries, CMake files, test binaries in a
package's ``bin/`` (torch's ``test_api``...; ``torch_shm_manager`` stays),
documentation folders without code, and pip, setuptools and wheel unless the
requirements name them. Each distribution's ``*.dist-info`` is kept whole
(its metadata and licences).

Bytecode: pip installs with ``--no-compile``, and the check imports every
scorer module and predicts the model's input example with bytecode writing
on, so the image holds ``.pyc`` files for what a server start imports and
nothing else: a start as fast as with every ``.pyc`` (the scorer runs as a
user who cannot write them, so without them each start compiles again), at a
fraction of their size. Measured in the fixture model's image: importing
the scorer and loading the model took 2.3 s with these 30 MB of bytecode,
5.2 s without any.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

#: what ``python -m venv`` puts there for pip's sake; no server imports them
INSTALLERS = ("pip", "setuptools", "wheel")
TEST_FOLDERS = frozenset({"tests", "test"})
DOC_FOLDERS = frozenset({"doc", "docs"})
#: build inputs only: headers, sources, stubs, static libraries, CMake
BUILD_SUFFIXES = frozenset(
    ".h .hh .hpp .hxx .cuh .inc .c .cc .cpp .cxx .cu .pyx .pxd .pxi .pyi .a "
    ".cmake".split()
)
_TEST_BINARY = re.compile(r"(^test_|test$|_test\b)", re.IGNORECASE)
#: imports every module of the scorer, then loads and asks the model
_CHECK = """\
import importlib, pkgutil, sys
import mlops_actions.scorer as scorer
for found in pkgutil.walk_packages(scorer.__path__, "mlops_actions.scorer."):
    importlib.import_module(found.name)
import mlops_actions.cli
import mlflow.models, mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
example = mlflow.models.Model.load(sys.argv[1]).load_input_example(sys.argv[1])
if example is not None:
    model.predict(example)
"""


def site_packages(venv: Path) -> Path:
    """The venv's one ``lib/pythonX.Y/site-packages``."""
    found = sorted(venv.glob("lib/python3*/site-packages"))
    if len(found) != 1:
        raise SystemExit(f"{venv}: expected one site-packages, found {len(found)}")
    return found[0]


def prune(venv: Path, keep: set[str]) -> Counter[str]:
    """Remove what no server needs from ``venv``; bytes removed per kind.
    ``keep``: canonical names of distributions the requirements pin."""
    removed: Counter[str] = Counter()
    site = site_packages(venv)
    for name in INSTALLERS:
        if name not in keep:
            removed["installers"] += _uninstall(site, name)
    for folder in (venv / "include", venv / "share" / "doc", venv / "share" / "man"):
        removed["docs and headers"] += _remove(folder)
    for root, dirs, files in os.walk(site, topdown=True):
        here = Path(root)
        if here.name.endswith(".dist-info"):
            dirs[:] = []
            continue
        for name in list(dirs):
            kind = _folder_kind(here / name)
            if kind:
                removed[kind] += _remove(here / name)
                dirs.remove(name)
        for name in files:
            kind = _file_kind(here, name)
            if kind:
                removed[kind] += _remove(here / name)
    _drop_empty_folders(site)
    return removed


def check(venv: Path, model: Path) -> None:
    """Import the scorer and predict the model's input example with the
    venv's Python, writing bytecode; raise SystemExit when that fails."""
    with tempfile.TemporaryDirectory() as tmp:
        # a copy: bytecode of the model's own code must not land in the bundle
        copy = Path(tmp, "model")
        shutil.copytree(model, copy)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        done = subprocess.run(
            [str(venv / "bin" / "python"), "-c", _CHECK, str(copy)], env=env
        )
    if done.returncode != 0:
        raise SystemExit(
            "the scorer or the model does not load in the stripped image "
            f"(exit {done.returncode}): see the traceback above"
        )


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned_names(requirements: Path) -> set[str]:
    """Canonical names of the ``name==version`` lines of a requirements file."""
    names = set()
    for line in requirements.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[|==)", line)
        if match:
            names.add(canonical(match[1]))
    return names


def _folder_kind(path: Path) -> str | None:
    if path.name in TEST_FOLDERS:
        return "tests"
    if path.name == "__pycache__":
        return "bytecode"
    if path.name in DOC_FOLDERS and not any(path.rglob("*.py")):
        return "docs and headers"
    return None


def _file_kind(folder: Path, name: str) -> str | None:
    if Path(name).suffix.lower() in BUILD_SUFFIXES:
        return "docs and headers"
    if name.endswith((".pyc", ".pyo")):
        return "bytecode"
    if folder.name == "bin" and _TEST_BINARY.search(name):
        return "tests"
    return None


def _uninstall(site: Path, name: str) -> int:
    """Remove a distribution by its RECORD, as ``pip uninstall`` would."""
    total = 0
    for info in site.glob("*.dist-info"):
        # NAME-VERSION.dist-info, the name's own dashes written as "_"
        if canonical(info.name.split("-", 1)[0]) != name:
            continue
        record = info / "RECORD"
        lines = (
            record.read_text(encoding="utf-8").splitlines() if record.exists() else []
        )
        for line in lines:
            relative = line.rsplit(",", 2)[0].strip('"')
            if relative:
                total += _remove((site / relative).resolve())
        total += _remove(info)
    return total


def _remove(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        size = path.lstat().st_size
        path.unlink()
        return size
    if not path.is_dir():
        return 0
    size = sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())
    shutil.rmtree(path)
    return size


def _drop_empty_folders(site: Path) -> None:
    for root, dirs, files in os.walk(site, topdown=False):
        here = Path(root)
        if here != site and not any(here.iterdir()):
            here.rmdir()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path)
    parser.add_argument("--requirements", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    args = parser.parse_args(argv)
    removed = prune(args.venv, pinned_names(args.requirements))
    for kind, size in sorted(removed.items()):
        print(f"slim: removed {size / 1e6:.1f} MB of {kind}")
    check(args.venv, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())

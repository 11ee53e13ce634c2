"""requirements.txt leaves out what a served image never imports:
mlflow-skinny's tracking needs (git, Google sign-in, cryptography) and
uvicorn[standard]'s reloading and WebSockets, unless something else needs
one."""

from __future__ import annotations

from importlib import metadata

from mlops_actions.image.requirements import canonical, lock
from tests.image.test_requirements import Dist

INSTALLED = {
    canonical(d.name): d
    for d in [
        Dist(
            "mlflow-skinny",
            "3.17.2",
            ["cloudpickle<4", "databricks-sdk<1", "gitpython<4", "pandas<4"],
        ),
        Dist("cloudpickle", "3.1.3"),
        Dist("databricks-sdk", "0.167.0", ["google-auth~=2.0", "requests<3"]),
        Dist("google-auth", "2.63.0", ["cryptography>=38", "pyasn1-modules>=0.2"]),
        Dist("cryptography", "50.0.2", ["cffi>=2"]),
        Dist("cffi", "2.1.1", ["pycparser"]),
        Dist("pycparser", "3.12"),
        Dist("pyasn1-modules", "0.4.2", ["pyasn1<0.7"]),
        Dist("pyasn1", "0.6.5"),
        Dist("GitPython", "3.2.1", ["gitdb<5"]),
        Dist("gitdb", "4.0.12", ["smmap<6"]),
        Dist("smmap", "5.0.3"),
        Dist("requests", "2.34.2"),
        Dist("pandas", "3.1.1"),
        Dist("paramiko", "4.0.0", ["cryptography>=3.3"]),
        Dist(
            "uvicorn",
            "0.55.0",
            [
                "h11>=0.8",
                'watchfiles>=0.13; extra == "standard"',
                'websockets>=10.4; extra == "standard"',
                'python-dotenv>=0.13; extra == "standard"',
            ],
        ),
        Dist("h11", "0.16.0"),
        Dist("watchfiles", "1.3.0", ["anyio>=3"]),
        Dist("anyio", "4.16.0"),
        Dist("websockets", "17.4"),
        Dist("python-dotenv", "1.2.4"),
    ]
}
TOOLKIT = [
    'mlflow-skinny>=3.5; extra == "serve"',
    'uvicorn[standard]>=0.29; extra == "serve"',
]


def installed(name: str) -> Dist:
    try:
        return INSTALLED[canonical(name)]
    except KeyError:
        raise metadata.PackageNotFoundError(name) from None


def test_tracking_only_packages_are_left_out_with_a_note(tmp_path):
    found = lock(TOOLKIT, None, distribution=installed)
    # anyio, which watchfiles needs, is not on the list: it stays
    assert found.lines() == [
        "anyio==4.16.0",
        "cloudpickle==3.1.3",
        "databricks-sdk==0.167.0",
        "h11==0.16.0",
        "mlflow-skinny==3.17.2",
        "pandas==3.1.1",
        "requests==2.34.2",
        "uvicorn==0.55.0",
    ]
    assert found.notes == [
        "left out, as a served image never imports them (tracking, reloading, "
        "WebSockets): cffi, cryptography, gitdb, gitpython, google-auth, "
        "pyasn1, pyasn1-modules, pycparser, python-dotenv, smmap, watchfiles, "
        "websockets"
    ]


def test_one_the_model_needs_stays_with_what_it_needs(tmp_path):
    requirements = tmp_path / "model" / "requirements.txt"
    requirements.parent.mkdir()
    requirements.write_text("paramiko\n")
    found = lock(TOOLKIT, requirements, distribution=installed)
    assert {"cryptography==50.0.2", "cffi==2.1.1", "pycparser==3.12"} <= set(
        found.lines()
    )
    assert "google-auth==2.63.0" not in found.lines()
    assert "paramiko==4.0.0" in found.lines()

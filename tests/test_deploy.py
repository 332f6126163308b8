"""The deployment files, checked as far as this machine can: no Docker engine or cluster here."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _cmd() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    (line,) = [text for text in lines if text.startswith("CMD ")]
    return json.loads(line.removeprefix("CMD "))


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_the_image_entry_point_imports_the_definitions():
    cmd = _cmd()
    assert cmd[:3] == ["dagster", "api", "grpc"]
    module = cmd[cmd.index("-m") + 1]
    assert module == "ninepic_pipeline.definitions"
    # As the container starts it: no NINEPIC_* variable is needed to load the location.
    env = {"PATH": "/usr/bin:/bin", "DAGSTER_HOME": str(ROOT / "dagster_home")}
    loaded = subprocess.run(
        [sys.executable, "-c", f"import {module} as m; print(len(m.defs.assets))"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert int(loaded.stdout) >= 3


def test_the_image_installs_from_the_constraints_with_the_python_it_declares():
    text = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt '.[production]'" in text
    base = re.search(r"^FROM python:(\d+\.\d+)", text, re.M).group(1)
    assert _pyproject()["project"]["requires-python"] == f">={base}"


def test_constraints_pin_every_dependency_within_its_range():
    project = _pyproject()["project"]
    pins = _pins()
    wanted = [*project["dependencies"], *project["optional-dependencies"]["production"]]
    for text in wanted:
        requirement = Requirement(text)
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"{name} is not pinned"
        assert requirement.specifier.contains(pins[name]), (name, pins[name])
    # dagster-postgres 0.N.x goes with dagster 1.M.x of the same release.
    assert pins["dagster"].split(".")[2] == pins["dagster-postgres"].split(".")[2]


def test_helm_values_run_the_image_with_the_secret_and_the_k8s_run_launcher():
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", _cmd()[_cmd().index("-m") + 1]]
    assert str(deployment["port"]) == _cmd()[_cmd().index("-p") + 1]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    secrets = {s["name"] for s in deployment["envSecrets"]}
    assert secrets == {
        s["name"] for s in values["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"]
    }
    # The key never appears as a value: only through the secret.
    assert "NINEPIC_API_KEY" not in {e["name"] for e in deployment["env"]}
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    production = yaml.safe_load((ROOT / "dagster_home" / "dagster.production.yaml").read_text())
    assert queue["maxConcurrentRuns"] == production["concurrency"]["runs"]["max_concurrent_runs"]
    assert (
        values["dagsterDaemon"]["runRetries"]["maxRetries"]
        == production["run_retries"]["max_retries"]
    )


def test_the_guide_names_only_files_that_exist():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    named = set(
        re.findall(r"`((?:deploy|dagster_home|docs)/[\w./-]+|Dockerfile|constraints\.txt)`", guide)
    )
    assert {"Dockerfile", "constraints.txt", "deploy/helm/values.yaml"} <= named
    for name in named:
        assert (ROOT / name).exists(), name

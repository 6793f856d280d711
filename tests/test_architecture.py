"""The dependency rules of pyproject.toml's [tool.importlinter] contracts hold (docs/DEVELOPING.md,
"Layers"): a broken contract fails `make test` and CI like a failing test."""

import subprocess
import sys
import tomllib
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _importlinter() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def test_import_contracts_are_kept():
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_project_app_is_under_the_contracts():
    """A new app outside every contract could import anything: each of the project's own packages
    is a root package of the import graph, and a layer of the top-level layers contract."""
    config = _importlinter()
    roots = set(config["root_packages"])
    layers = next(c for c in config["contracts"] if c["id"] == "layers")["layers"]
    layered = {name.strip("() ") for layer in layers for name in layer.replace(":", "|").split("|")}
    project = {
        top
        for app in apps.get_app_configs()
        if Path(app.path).resolve().is_relative_to(ROOT / (top := app.name.split(".")[0]))
    }
    assert {"core", "clinics", "staffing", "config"} <= project
    assert project <= roots, f"not a root package of [tool.importlinter]: {sorted(project - roots)}"
    assert project <= layered, f"in no layer of the 'layers' contract: {sorted(project - layered)}"

"""The dashboard sits on top of every app and reads only through their selectors; config keeps no
dashboard or chart code and no app below reads the dashboard."""

import ast
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
DOMAIN_APPS = ("clinics", "staffing", "telemedicine", "notifications")
BELOW_DASHBOARD = (*DOMAIN_APPS, "core")


def imported_modules(source: str) -> list[str]:
    """Every module a source imports, `from a import b` read as both `a` and `a.b` (b may be a
    module: `from clinics import models`)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def model_imports(source: str) -> list[str]:
    return [
        name for name in imported_modules(source)
        if name.split(".")[0] in DOMAIN_APPS and "models" in name.split(".")
    ]


def non_selector_imports(source: str) -> list[str]:
    """Imports of an app module that is not (or is not inside) a `selectors` module."""
    found = []
    for name in imported_modules(source):
        parts = name.split(".")
        if parts[0] not in DOMAIN_APPS:
            continue
        if "selectors" in parts:
            continue
        # `from clinics import selectors` names the package on its own too.
        if any(other.startswith(name + ".") and "selectors" in other.split(".") for other in imported_modules(source)):
            continue
        found.append(name)
    return found


def python_files(*packages: str):
    for package in packages:
        yield from sorted((ROOT / package).rglob("*.py"))


def test_the_scan_sees_a_model_import_in_every_spelling():
    assert model_imports("from clinics.models import Facility") == ["clinics.models", "clinics.models.Facility"]
    assert model_imports("import staffing.payroll.models") == ["staffing.payroll.models"]
    assert model_imports("from telemedicine import models") == ["telemedicine.models"]
    assert model_imports("from clinics.settlements import selectors") == []
    assert non_selector_imports("from staffing.rosters.services import roster_publish") != []
    assert non_selector_imports("from clinics.scoping import user_role") != []
    assert non_selector_imports("from clinics import selectors as clinics") == []


def test_dashboard_imports_no_app_models():
    files = list(python_files("dashboard"))
    assert files, "the dashboard app is missing"
    found = {str(f.relative_to(ROOT)): model_imports(f.read_text()) for f in files}
    assert not {path: names for path, names in found.items() if names}


def test_dashboard_reads_apps_only_through_their_selectors():
    found = {str(f.relative_to(ROOT)): non_selector_imports(f.read_text()) for f in python_files("dashboard")}
    assert not {path: names for path, names in found.items() if names}


def test_no_app_below_reads_the_dashboard():
    found = {
        str(f.relative_to(ROOT)): [n for n in imported_modules(f.read_text()) if n.split(".")[0] == "dashboard"]
        for f in python_files(*BELOW_DASHBOARD)
    }
    assert not {path: names for path, names in found.items() if names}


def test_config_keeps_no_dashboard_or_chart_code():
    assert not (ROOT / "config" / "dashboard.py").exists()
    assert not (ROOT / "config" / "charts.py").exists()
    found = {
        str(f.relative_to(ROOT)): [n for n in imported_modules(f.read_text()) if n.startswith("core.charts")]
        for f in python_files("config")
    }
    assert not {path: names for path, names in found.items() if names}

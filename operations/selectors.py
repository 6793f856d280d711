"""Reads for other apps (the dashboard's warning) and the health page."""

from operations.health import run_checks


def health_summary(*, only=None) -> dict:
    """{"healthy": bool, "failed": [{"name", "label", "error"}], "checks": {...}}: what the
    dashboard shows as a warning when a check fails."""
    report = run_checks(only=only)
    report["failed"] = [
        {"name": name, "label": result["label"], "error": result["error"]}
        for name, result in report["checks"].items()
        if not result["ok"]
    ]
    return report

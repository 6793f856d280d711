"""Chinese first: every app's zh-Hans catalogue is complete, not fuzzy, and compiled."""

from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
OUR_APPS = [
    "core", "clinics", "settlements", "staffing", "rosters", "payroll", "telemedicine", "notifications", "operations",
    "dashboard", "config",
]


def catalogues():
    for label in OUR_APPS:
        app_path = Path(apps.get_app_config(label).path)
        yield label, app_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("label,po_path", list(catalogues()), ids=OUR_APPS)
def test_catalogue_is_complete_and_compiled(label, po_path):
    assert po_path.exists(), f"{label} has no zh_Hans catalogue at {po_path.relative_to(ROOT)}"
    po = polib.pofile(str(po_path))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"{label}: untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{label}: fuzzy: {fuzzy[:10]}"
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{label}: compile the catalogue (django-admin compilemessages)"
    compiled = {(e.msgctxt, e.msgid): e.msgstr or e.msgstr_plural.get(0) for e in polib.mofile(str(mo_path))}
    stale = [
        e.msgid
        for e in po.translated_entries()
        if compiled.get((e.msgctxt, e.msgid)) != (e.msgstr or e.msgstr_plural.get(0))
    ]
    assert not stale, f"{label}: the .mo is older than the .po for: {stale[:5]}"


def test_english_still_works(client, county_admin):
    client.force_login(county_admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/admin/staffing/doctor/").content.decode()
    assert "Doctors" in page or "doctor" in page.lower()


def test_one_msgid_means_one_thing_across_apps():
    """Django merges every app's catalogue and the first one wins, so the same msgid translated two
    ways shows the wrong word somewhere. Give different meanings a context (pgettext)."""
    seen: dict = {}
    conflicts = []
    for label, po_path in catalogues():
        for entry in polib.pofile(str(po_path)).translated_entries():
            key = (entry.msgctxt, entry.msgid)
            value = entry.msgstr or entry.msgstr_plural.get(0)
            if key in seen and seen[key][1] != value:
                conflicts.append((key, seen[key], (label, value)))
            seen.setdefault(key, (label, value))
    assert not conflicts, conflicts[:10]

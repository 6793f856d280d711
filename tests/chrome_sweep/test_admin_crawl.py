"""Every header, caption and message Chinese; amounts grouped; no delete that can only fail.

Signed in as each bureau role, the crawl opens every changelist of the role's menu, its add page and
the change page of its first row (tests/chrome_sweep/crawl.py), and reads the visible text — screen
reader captions, alt texts and button labels included. English left in it fails the test, except
codes (capitals, identifiers with an underscore such as atddr_no in brackets), names of formats and
systems (XLSX, WeChat Work, Unix …), paths and placeholders, and the rows' own data. Needs the compiled catalogues (the lead
compiles them; `bash scripts/i18n.sh` locally)."""

import re

import pytest

from tests.chrome_sweep.crawl import crawl, english_words, visible_text

pytestmark = pytest.mark.django_db

BUREAU_ROLES = ["county_admin", "township_admin", "payroll_officer", "insurance_clerk"]
# Pages that show data in the source's own words: the audit trail (action codes, the changed fields
# as stored, content types of third-party apps) and the platform's code table (its source notes).
# The notification templates are Django template source ({% if %} … {{ name }}) an admin edits.
DATA_PAGES = ("/admin/core/auditentry/", "/admin/settlements/platformcode/", "/admin/notifications/notificationtemplate/")


def data_words(users) -> frozenset:
    """The rows' own words: usernames and the insurance schemes' codes (resident, employee)."""
    from staffing.payroll.models import InsuranceScheme

    names = [u.username for u in users] + list(InsuranceScheme.objects.values_list("code", flat=True))
    return frozenset(w.lower() for name in names for w in re.split(r"[^A-Za-z]+", name) if w)


@pytest.mark.parametrize("role", BUREAU_ROLES)
def test_every_page_a_bureau_role_opens_is_chinese_grouped_and_offers_no_failing_delete(client, world, role):
    _a, _b, users, users_b = world
    client.force_login(users[role])
    pages = crawl(client, users[role], data_words=data_words([*users.values(), *users_b.values()]))
    opened = [p for p in pages if p.status == 200]
    assert len(opened) >= 10, "the crawl reached too few pages to mean anything"
    checked = [p for p in opened if not p.url.startswith(DATA_PAGES)]
    english = {p.url: sorted(set(p.english)) for p in checked if p.english}
    ungrouped = {p.url: p.ungrouped for p in checked if p.ungrouped}
    refused = [line for p in pages for line in p.refused_deletes]
    assert not english, english
    assert not ungrouped, ungrouped
    dashboard = pages[0]
    assert dashboard.url == "/admin/" and dashboard.status == 200
    assert not dashboard.iso_dates, dashboard.iso_dates  # dates and months read 2026年10月12日, 2026年10月
    assert not refused, refused
    print(f"{role}: {len(opened)} pages read")


def test_the_crawls_reader_sees_captions_alt_texts_and_buttons_but_not_scripts():
    html = (
        '<table><caption class="visually-hidden">Model name</caption></table><img alt="True">'
        '<input type="submit" value="Save"><script>var English = 1;</script><div hidden>Hidden text</div>'
        '<code>atddr_no</code><p>医师代码（atddr_no） XLSX 2026年12月3日</p>'
    )
    texts = visible_text(html)
    assert english_words(texts) == ["Model name", "True", "Save"]

"""Crawl the admin as one user: every changelist of the menu, its add page, and the change page of
its first row; the visible text of each page, checked for English left untranslated and for
grouped amounts and one date style; delete buttons and actions checked against what a delete would
answer."""

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from django.contrib import admin

SKIPPED_TAGS = {"script", "style", "head", "template", "noscript", "svg", "code", "pre", "textarea"}  # code: codes
VOID_TAGS = {"br", "img", "input", "meta", "link", "hr", "col", "area", "base", "source", "wbr", "embed", "param", "track"}


class VisibleText(HTMLParser):
    """Text a person reads (or a screen reader reads): text nodes outside scripts, styles and
    hidden elements; button and submit labels; title, placeholder and aria-label attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        hidden = tag in SKIPPED_TAGS or "hidden" in attrs or attrs.get("type") == "hidden" or (
            "display:none" in (attrs.get("style") or "").replace(" ", "")
        )
        if not self._hidden() and not hidden:
            for name in ("title", "placeholder", "aria-label", "alt"):
                if attrs.get(name):
                    self.parts.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button", "reset") and attrs.get("value"):
                self.parts.append(attrs["value"])
        if tag not in VOID_TAGS:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID_TAGS and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data):
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


# Models whose rows are deletable until something points at them (a department until consultants or
# slots name it, a consultant until a booking does): bulk delete serves the rows entered by mistake,
# so one protected row on the seeded list does not make the action one that can only fail.
SOMETIMES_DELETABLE = frozenset({"clinics.Department", "telemedicine.Consultant"})


def visible_text(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.parts


WORD = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ -][A-Za-z][A-Za-z'’]+)*")
# Words a Chinese page keeps: codes and names of formats and systems a clerk knows by them.
ALLOWED = {
    "iCal", "WeChat", "Work", "Token", "Cunyi", "Celery", "Django", "UserID", "Unix", "Windows", "chinesecalendar",
    "null",  # the JSON literal in an example of a bracket table
}
FORMATS = {"xlsx", "csv", "txt", "pdf", "zip", "json", "ics"}  # file types, written in either case


def english_words(texts, *, data_words=frozenset()) -> list[str]:
    """Runs of English words that are neither codes (all capitals), allowed names nor data."""
    found = []
    for text in texts:
        for match in WORD.finditer(text):
            run = match.group(0)
            words = re.split(r"[ -]", run)
            if all(w.isupper() or w in ALLOWED or w.lower() in FORMATS or w.lower() in data_words for w in words):
                continue
            end, start = match.end(), match.start()
            before, after = text[start - 1:start], text[end:end + 1]
            if "_" in (before, after) or before in ("/", "{", ".") or after in ("}", "/"):
                continue  # a code (atddr_no), a path (/m/consult/2/), a placeholder ({year}) or a file name
            if before in ("（", "(") and after in ("）", ")"):
                continue  # the code in brackets after its Chinese name: 定时调度（beat）
            found.append(run)
    return found


UNGROUPED_AMOUNT = re.compile(r"(?<![\d,.])\d{4,}\.\d{2}(?!\d)")
ISO_DATE = re.compile(r"(?<![\d/])20\d\d-\d\d(?:-\d\d)?(?![\d/])")  # 2026-12-03 or 2026-12, not in a path


@dataclass
class Page:
    url: str
    status: int
    english: list = field(default_factory=list)
    ungrouped: list = field(default_factory=list)
    iso_dates: list = field(default_factory=list)
    refused_deletes: list = field(default_factory=list)


def menu_models(client, user):
    """(model_admin, changelist url) of every model the user's menu links to."""
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    site = admin.site
    found = []
    for app in site.get_app_list(request):
        for entry in app["models"]:
            if entry.get("admin_url"):
                found.append((site._registry[entry["model"]], entry["admin_url"], entry.get("add_url")))
    return found


def check_page(client, url, data_words) -> tuple[Page, str]:
    response = client.get(url, follow=False)
    page = Page(url=url, status=response.status_code)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return page, ""
    html = response.content.decode()
    texts = visible_text(html)
    page.english = english_words(texts, data_words=data_words)
    joined = "\n".join(texts)
    page.ungrouped = UNGROUPED_AMOUNT.findall(joined)
    page.iso_dates = ISO_DATE.findall(joined)
    return page, html


PROTECTED_MARKERS = ('id="deleted-objects"',)


def delete_would_be_refused(client, delete_url) -> bool:
    """The delete confirmation page lists what blocks it (protected rows or missing permissions)
    instead of asking to confirm; or the page itself is refused."""
    response = client.get(delete_url)
    if response.status_code != 200:
        return True
    context = response.context
    return bool(context.get("protected") or context.get("perms_lacking"))


def crawl(client, user, *, data_words=frozenset()) -> list[Page]:
    pages = [check_page(client, "/admin/", data_words)[0]]  # the dashboard
    for model_admin, list_url, add_url in menu_models(client, user):
        page, html = check_page(client, list_url, data_words)
        pages.append(page)
        if page.status != 200:
            continue
        if add_url:
            pages.append(check_page(client, add_url, data_words)[0])
        response = client.get(list_url)
        changelist = response.context.get("cl") if response.context else None
        first = next(iter(changelist.result_list), None) if changelist is not None else None
        if first is None:
            continue
        opts = model_admin.model._meta
        change_url = f"{list_url}{first.pk}/change/"
        change, change_html = check_page(client, change_url, data_words)
        pages.append(change)
        if 'class="deletelink"' in change_html and delete_would_be_refused(client, f"{list_url}{first.pk}/delete/"):
            change.refused_deletes.append(f"{opts.label} #{first.pk}: 删除 shown but refused")
        if 'value="delete_selected"' in html and opts.label not in SOMETIMES_DELETABLE:
            answer = client.post(list_url, {"action": "delete_selected", "_selected_action": [first.pk]})
            if answer.status_code == 200 and answer.context and (
                answer.context.get("protected") or answer.context.get("perms_lacking")
            ):
                page.refused_deletes.append(f"{opts.label}: delete action offered but refused for #{first.pk}")
    return pages

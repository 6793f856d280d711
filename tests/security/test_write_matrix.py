"""The write matrix: every role × every admin add and change form (found from the admin registry),
every parameterless custom admin page with a form, and every API write (POST/PUT/PATCH found by
walking the URL conf under /api/v1/), with township B's ids put into each related field.

For a user whose reach is township A:
- no choice of B is offered: the form fields' querysets hold no row of B and the rendered page
  names nothing of B;
- a form posted with B's id in a related field is refused by that field (a form error on it) and
  changes nothing: row counts, the target row's values and the audit trail are as before;
- an API write with B's id in a related field (or in the path) answers 400/403/404, changes nothing
  and names nothing of B.
A role that may not open a form gets 403 or the login (302) for GET and POST, never a 500.

"Rows of B" are found without a hand-written list either: every path of relations from a model to
Township (up to four steps) is followed, and a row of B is one related to township B and not to A.
Besides the seven roles, a township admin of A granted every permission of the project's apps
takes part, so the forms that township admins may not open by default are held to the same rule:
reach must not depend on the permissions a county hands out."""

import datetime
import html.parser
from collections import defaultdict
from functools import cache

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from rest_framework import serializers
from rest_framework.relations import ManyRelatedField, RelatedField
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from clinics.api_fields import ReachCodeField, ReachIdField, ReachRelatedField
from clinics.models import Role, Township
from clinics.scoping import scope_choices
from staffing.rosters.models import CoverageGap, RosterMonth
from tests.conftest import api_as
from tests.factories import make_user
from tests.security.inspect import leaks, response_text
from tests.security.test_matrix import COUNTY_WIDE, ROLES, expected_admin
from tests.security.urls import admin_custom_pages

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("clinics", "settlements", "staffing", "rosters", "payroll", "telemedicine", "notifications")
GRANTED = "township_admin+every_permission"
ALL_ROLES = (*ROLES, GRANTED)
SCOPED = {role for role in ALL_ROLES if role not in COUNTY_WIDE}
WRITE_METHODS = ("POST", "PUT", "PATCH")
MAX_DEPTH = 4


# --- Rows of B -------------------------------------------------------------------------------------


def _relations(model):
    """Forward foreign keys and reverse one-to-many/one-to-one relations. Links to user accounts
    (who recorded, who decided) say nothing about where a row belongs, except for the account itself."""
    User = get_user_model()
    found = []
    for f in model._meta.get_fields():
        if not f.is_relation or f.related_model is None or f.many_to_many:
            continue
        if f.related_model is User and model is not User:
            continue
        if getattr(f, "db_constraint", True) is False:  # CoverageGap.cover: a loose pointer
            continue
        found.append(f)
    return found


@cache
def township_paths(model) -> tuple[str, ...]:
    """Every lookup path (of at most MAX_DEPTH steps, no model twice) from `model` to Township."""
    if model is Township:
        return ("pk",)
    paths = []

    def walk(current, prefix, visited, depth):
        for f in _relations(current):
            target = f.related_model
            if target is Township:
                paths.append(prefix + f.name)
            elif depth < MAX_DEPTH - 1 and target not in visited:
                walk(target, prefix + f.name + "__", visited | {target}, depth + 1)

    walk(model, "", frozenset({model}), 0)
    return tuple(sorted(set(paths)))


def _related_to(model, township) -> set:
    pks = set()
    for path in township_paths(model):
        pks.update(model._default_manager.filter(**{path: township.pk}).values_list("pk", flat=True))
    return pks


class Sides:
    """Rows of each model that belong to township B (and not to A), and to A (and not to B)."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self._cache = {}

    def _split(self, model):
        if model not in self._cache:
            of_a, of_b = _related_to(model, self.a.township), _related_to(model, self.b.township)
            self._cache[model] = (of_a - of_b, of_b - of_a)
        return self._cache[model]

    def of_b(self, model) -> set:
        return self._split(model)[1]

    def of_a(self, model) -> set:
        return self._split(model)[0]

    def one_of_b(self, model):
        pks = sorted(self.of_b(model))
        return model._default_manager.get(pk=pks[0]) if pks else None


# --- The world ---------------------------------------------------------------------------------


@pytest.fixture
def matrix(world):
    a, b, users, users_b = world
    granted = make_user(Role.TOWNSHIP_ADMIN, township=a.township, username="ta_all_A")
    granted.user_permissions.set(Permission.objects.filter(content_type__app_label__in=PROJECT_APPS))
    users = {**users, GRANTED: get_user_model().objects.get(pk=granted.pk)}
    # An open gap in A's roster, so the cover action has a target in reach.
    roster = RosterMonth.objects.filter(facility=a.clinic).first()
    CoverageGap.objects.create(roster=roster, facility=a.clinic, date=datetime.date(2026, 10, 21), day_kind="workday")
    markers = [
        *b.markers,
        b.township.name,
        b.hospital.name,
        b.consultant.name,
        *(f'"{u.username}"' for u in users_b.values()),
    ]
    return a, b, users, Sides(a, b), markers


def fake_request(user, method="get"):
    request = getattr(RequestFactory(), method)("/admin/")
    request.user = user
    return request


@cache
def _count_sql() -> str:
    tables = sorted(
        {
            m._meta.db_table
            for app in PROJECT_APPS
            for m in apps.get_app_config(app).get_models()
            if not m._meta.proxy and m._meta.managed
        }
    )
    quote = connection.ops.quote_name
    return "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)}) AS {quote(t)}" for t in tables)


def all_counts() -> dict:
    """Rows in every table of the project's apps, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_count_sql())
        names = [c[0] for c in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def row_values(obj):
    if obj is None:
        return None
    return list(type(obj)._default_manager.filter(pk=obj.pk).values())


# --- Forms as a browser submits them ------------------------------------------------------------------


class FormParser(html.parser.HTMLParser):
    """The name/value pairs a browser would post from the admin's main form."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.data = form_id, False, defaultdict(list)
        self._select = self._textarea = None
        self._options = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data[name].append(attrs.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._options = (name, "multiple" in attrs), []
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name].append("")

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][-1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select:
            name, multiple = self._select
            chosen = [v for v, selected in self._options if selected]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.data[name].extend(chosen)
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def posted_data(response, model) -> dict:
    parser = FormParser(f"{model._meta.model_name}_form")
    parser.feed(response.content.decode())
    return dict(parser.data)


def choice_fields(response):
    """(html name, form field, form) of every related choice in the page's forms (the main form and
    each inline form, including the blank form the page clones)."""
    context = response.context
    found = []
    adminform = context.get("adminform") if context else None
    page_forms = [adminform.form] if adminform else []
    if context and not adminform and isinstance(context.get("form"), forms.BaseForm):
        page_forms.append(context["form"])
    for form in page_forms:
        found += [
            (form.add_prefix(n), f, form) for n, f in form.fields.items() if isinstance(f, forms.ModelChoiceField)
        ]
    for inline in (context.get("inline_admin_formsets") or []) if context else []:
        formset = inline.formset
        for form in [*formset.forms, formset.empty_form]:
            found += [
                (form.add_prefix(n), f, form if form is not formset.empty_form else None)
                for n, f in form.fields.items()
                if isinstance(f, forms.ModelChoiceField) and n != formset.model._meta.pk.name
            ]
    return found


def inline_row_ids(response):
    """(html name, model) of the hidden id of each inline row: not a choice, but a tampered one must
    change nothing (Django skips a row whose id is not the parent's)."""
    found = []
    for inline in (response.context.get("inline_admin_formsets") or []) if response.context else []:
        formset = inline.formset
        pk_name = formset.model._meta.pk.name
        found += [(form.add_prefix(pk_name), formset.model) for form in formset.forms if pk_name in form.fields]
    return found


def field_refused(response, html_name) -> bool:
    context = response.context
    if not context:
        return False
    adminform = context.get("adminform")
    page_forms = (
        [adminform.form]
        if adminform
        else ([context["form"]] if isinstance(context.get("form"), forms.BaseForm) else [])
    )
    for inline in context.get("inline_admin_formsets") or []:
        page_forms += inline.formset.forms
    for form in page_forms:
        for name in form.errors:
            if form.add_prefix(name) == html_name:
                return True
    return False


# --- Admin forms -------------------------------------------------------------------------------------


def admin_forms():
    for model, model_admin in sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label):
        try:
            add_url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        except NoReverseMatch:
            add_url = None
        yield model, model_admin, add_url


def in_reach_object(model_admin, user, sides):
    queryset = model_admin.get_queryset(fake_request(user))
    mine = queryset.exclude(pk__in=sides.of_b(model_admin.model)).order_by("pk")
    return mine.first()


class Tally:
    def __init__(self):
        self.cells = 0
        self.fields = 0
        self.forms = set()
        self.wrong = []
        self.b_offered_to_county = set()
        self.posted = defaultdict(list)

    def fail(self, text):
        self.wrong.append(text)


def check_choices(tally, role, label, response, sides, markers):
    """(a) No choice of B in any related field of the page, and nothing of B in its HTML."""
    for html_name, field, _form in choice_fields(response):
        model = field.queryset.model
        b_pks = sides.of_b(model)
        offered = field.queryset.filter(pk__in=b_pks).exists() if b_pks else False
        if role in SCOPED and offered:
            tally.fail(f"{role} {label}: the {html_name} choices offer {model.__name__} rows of B")
        elif offered:
            tally.b_offered_to_county.add(f"{label}.{html_name}")
    if role in SCOPED and (found := leaks(response_text(response), markers)):
        tally.fail(f"{role} {label}: the page shows B: {found}")


def try_b_ids(tally, client, role, label, url, response, model, target, sides, markers):
    """(b) Post the page's own data with B's id in each related field, one field at a time."""
    base = posted_data(response, model)
    tried = []
    for html_name, field, form in choice_fields(response):
        if form is None:
            continue  # the blank inline form the page clones is not posted
        b_row = sides.one_of_b(field.queryset.model)
        if b_row is not None:
            tried.append((html_name, b_row, True))
    for html_name, inline_model in inline_row_ids(response):
        if (b_row := sides.one_of_b(inline_model)) is not None:
            tried.append((html_name, b_row, False))
    if target is not None:  # related fields shown read-only are ignored when posted
        editable = {name for name, _f, _form in choice_fields(response)}
        for f in model._meta.concrete_fields:
            if f.is_relation and f.name not in editable and (b_row := sides.one_of_b(f.related_model)) is not None:
                tried.append((f.name, b_row, False))
    for html_name, b_row, editable in tried:
        data = {**base, html_name: [str(b_row.pk)]}
        with transaction.atomic():
            before, values = all_counts(), row_values(target)
            posted = client.post(url, data)
            after, values_after = all_counts(), row_values(target)
            transaction.set_rollback(True)
        tally.cells += 1
        tally.fields += 1
        tally.posted[role].append(f"{label} {html_name}")
        where = f"{role} {label} {html_name}={type(b_row).__name__}#{b_row.pk}"
        if posted.status_code >= 500:
            tally.fail(f"{where}: {posted.status_code}")
        if before != after:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            tally.fail(f"{where}: rows changed {changed}")
        if values != values_after:
            tally.fail(f"{where}: the target row changed")
        if editable and not field_refused(posted, html_name):
            tally.fail(f"{where}: not refused by the field (status {posted.status_code})")
        if role in SCOPED and leaks(response_text(posted), markers):
            tally.fail(f"{where}: the answer names B")


def test_admin_forms_offer_and_take_no_out_of_reach_row(matrix, capsys):
    a, b, users, sides, markers = matrix
    tally = Tally()
    opened = defaultdict(int)
    for role in ALL_ROLES:
        user = users[role]
        client = Client()
        client.force_login(user)
        request = fake_request(user)
        for model, model_admin, add_url in admin_forms():
            target = in_reach_object(model_admin, user, sides) if user.is_staff else None
            target = target or model._default_manager.exclude(pk__in=sides.of_b(model)).order_by("pk").first()
            pages = [("add", add_url, None)]
            if target is not None:
                pages.append(
                    (
                        "change",
                        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[target.pk]),
                        target,
                    )
                )
            for kind, url, obj in pages:
                if url is None:
                    continue
                label = f"{model._meta.label}:{kind}"
                may = user.is_staff and (
                    model_admin.has_add_permission(request)
                    if kind == "add"
                    else model_admin.has_change_permission(request, obj)
                )
                if kind == "change" and may and not model_admin.get_queryset(request).filter(pk=obj.pk).exists():
                    may = False
                response = client.get(url)
                tally.cells += 1
                if response.status_code >= 500:
                    tally.fail(f"{role} {label}: GET {response.status_code}")
                    continue
                if not may:
                    # A role that may not open or change it: refused (403 or the login / the index), nothing changed.
                    with transaction.atomic():
                        before = all_counts()
                        posted = client.post(url, {"csrfmiddlewaretoken": "x"})
                        after = all_counts()
                        transaction.set_rollback(True)
                    tally.cells += 1
                    if response.status_code not in (200, 302, 403) or posted.status_code not in (302, 403):
                        tally.fail(
                            f"{role} {label}: GET {response.status_code}, POST {posted.status_code}; expected 403/302"
                        )
                    if kind == "add" and response.status_code == 200:
                        tally.fail(f"{role} {label}: an add form opened without the permission")
                    if before != after:
                        tally.fail(f"{role} {label}: a refused POST changed rows")
                    continue
                if response.status_code != 200:
                    if kind == "add":
                        want = expected_admin(
                            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"),
                            model._meta.app_label,
                            role,
                        )
                        tally.fail(f"{role} {label}: GET {response.status_code} (changelist rule {want})")
                    continue
                opened[role] += 1
                tally.forms.add(label)
                check_choices(tally, role, label, response, sides, markers)
                if role in SCOPED:
                    try_b_ids(tally, client, role, label, url, response, model, obj, sides, markers)

    print(
        f"\nwrite matrix (admin): {len(ALL_ROLES)} roles × {len(admin.site._registry)} admin models; forms opened per role {dict(opened)}"
    )
    for role, cases in tally.posted.items():
        print(f"  {role}: {len(cases)} B ids posted: {', '.join(cases)}")
    assert opened[GRANTED] >= 20 and opened["township_admin"] >= 3 and opened["county_admin"] >= 35, dict(opened)
    assert tally.fields >= 50, tally.fields
    # The check finds B where it is in reach: county-wide roles are offered B's rows.
    assert len(tally.b_offered_to_county) >= 8, sorted(tally.b_offered_to_county)
    assert not tally.wrong, f"{len(tally.wrong)} cells wrong:\n" + "\n".join(tally.wrong)
    with capsys.disabled():
        print(
            f"write matrix (admin forms): {len(ALL_ROLES)} roles × {len(admin.site._registry)} admin models (add + change) = "
            f"{tally.cells} cells; {tally.fields} B ids posted into the {len(tally.forms)} forms the roles may open, all refused"
        )


def test_custom_admin_pages_offer_and_take_no_out_of_reach_row(matrix):
    """Forms an app's admin builds itself (plan a month, run or upload pages): the same rule."""
    a, b, users, sides, markers = matrix
    tally = Tally()
    pages = admin_custom_pages()
    for role in ("township_admin", GRANTED, "county_admin"):
        client = Client()
        client.force_login(users[role])
        for page in pages:
            response = client.get(page.path)
            if response.status_code != 200 or not response.context:
                continue
            check_choices(tally, role, page.path, response, sides, markers)
            if role not in SCOPED:
                continue
            base = {"csrfmiddlewaretoken": ["x"]}
            form = response.context.get("form")
            for html_name, field, _form in choice_fields(response):
                b_row = sides.one_of_b(field.queryset.model)
                if b_row is None:
                    continue
                data = {
                    **base,
                    **{n: [str(v)] for n, v in (form.initial or {}).items()},
                    "month": ["2026-10"],
                    html_name: [str(b_row.pk)],
                }
                with transaction.atomic():
                    before = all_counts()
                    posted = client.post(page.path, data)
                    after = all_counts()
                    transaction.set_rollback(True)
                tally.fields += 1
                if posted.status_code == 405 and before == after:
                    continue  # a page to read (the roster grid) takes no POST at all
                if posted.status_code >= 500 or before != after or not field_refused(posted, html_name):
                    tally.fail(f"{role} {page.path} {html_name}: {posted.status_code}, rows changed: {before != after}")
    assert tally.fields >= 2, tally.fields
    assert not tally.wrong, "\n".join(tally.wrong)


# --- The API ---------------------------------------------------------------------------------------


def api_writes():
    """(path, method, view class, request serializer class) of every write under /api/v1/."""
    generator = SchemaGenerator()
    for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints():
        if method not in WRITE_METHODS or not path.startswith("/api/v1/"):
            continue
        view = generator.create_view(callback, method)
        serializer = view.schema.get_request_serializer()
        if isinstance(serializer, serializers.ListSerializer):
            serializer = serializer.child
        serializer_class = serializer if isinstance(serializer, type) or serializer is None else type(serializer)
        yield path, method, callback, serializer_class


RELATED = (ReachIdField, ReachCodeField, RelatedField, ManyRelatedField)


def related_fields(serializer_class):
    if serializer_class is None:
        return {}
    fields = serializer_class().fields
    return {name: f for name, f in fields.items() if isinstance(f, RELATED) and not f.read_only}


def field_model(field):
    if isinstance(field, ManyRelatedField):
        field = field.child_relation
    return getattr(field, "model", None) or field.get_queryset().model


def is_scoped(field):
    if isinstance(field, ManyRelatedField):
        field = field.child_relation
    return getattr(field, "scoped", isinstance(field, RelatedField) is False)


def sample(field, user, sides):
    """A value the field takes, for the parts of a body the matrix does not change."""
    if isinstance(field, (ReachIdField, ReachCodeField, RelatedField)):
        model = field_model(field)
        row = scope_choices(model._default_manager.all(), user).exclude(pk__in=sides.of_b(model)).order_by("pk").first()
        return None if row is None else getattr(row, getattr(field, "lookup", "pk"))
    if isinstance(field, serializers.ChoiceField):
        return next(iter(field.choices))
    if isinstance(field, serializers.BooleanField):
        return True
    if isinstance(field, serializers.DateField):
        return (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    if isinstance(field, (serializers.IntegerField, serializers.DecimalField)):
        return 1
    if isinstance(field, serializers.ListField):
        return [1]
    for text in ("2026-12", "测试原因"):
        try:
            field.run_validation(text)
        except serializers.ValidationError:
            continue
        return text
    return "x"


def baseline(serializer_class, user, sides) -> dict:
    if serializer_class is None:
        return {}
    body = {}
    for name, field in serializer_class().fields.items():
        if field.read_only:
            continue
        value = sample(field, user, sides)
        if value is not None:
            body[name] = value
    return body


def drf_request(user):
    request = Request(APIRequestFactory().post("/api/v1/"))
    request.user = user
    return request


def view_model(callback):
    serializer_class = getattr(callback.cls, "serializer_class", None)
    return getattr(getattr(serializer_class, "Meta", None), "model", None)


def in_reach_target(callback, path, method, user, sides):
    """An object of the endpoint's own model in the user's reach (for /{pk}/ paths)."""
    model = view_model(callback)
    if model is None:
        return None
    view = callback.cls(action=callback.actions.get(method.lower()), kwargs={}, format_kwarg=None)
    view.request = drf_request(user)
    try:
        queryset = view.get_queryset()
    except Exception:  # noqa: BLE001 - a role the view refuses has no target
        return None
    return queryset.exclude(pk__in=sides.of_b(model)).order_by("pk").first()


def test_api_writes_take_no_out_of_reach_id(matrix, capsys):
    a, b, users, sides, markers = matrix
    writes = list(api_writes())
    assert len(writes) >= 15, len(writes)
    undeclared = [
        f"{path} {name}"
        for path, _m, _c, serializer_class in writes
        if serializer_class is not None
        for name, f in serializer_class().fields.items()
        if type(f) in (serializers.IntegerField, serializers.CharField)
        and not f.read_only
        and name.endswith("_id")
        and not name.startswith(("setl", "mdtrt", "init_setl", "medins_setl"))  # the insurance log's own external ids
    ]
    assert not undeclared, f"ids of rows must be declared as ReachIdField/ReachRelatedField: {undeclared}"

    county_wide, wrong, tried, fields = set(), [], 0, set()
    for role in ALL_ROLES:
        user = users[role]
        client = api_as(user)
        for path, method, callback, serializer_class in writes:
            body = baseline(serializer_class, user, sides)
            cases = []
            for name, field in related_fields(serializer_class).items():
                model = field_model(field)
                if not is_scoped(field):
                    county_wide.add(
                        f"{path} {name}: {getattr(field, 'reason', '') or getattr(field.child_relation, 'reason', '')}"
                    )
                    continue
                b_row = sides.one_of_b(model)
                assert b_row is not None, f"{path} {name}: no {model.__name__} of B to try"
                fields.add(f"{path} {name}")
                value = getattr(b_row, getattr(field, "lookup", "pk"))
                if isinstance(field, ManyRelatedField):
                    value = [value]
                cases.append((name, value))
            if role not in SCOPED:
                continue
            has_pk = "{pk}" in path
            target = in_reach_target(callback, path, method, user, sides) if has_pk else None
            for name, value in cases:
                # The serializer itself, as the view builds it with its context.
                checked = serializer_class(data={**body, name: value}, context={"request": drf_request(user)})
                checked.is_valid()
                tried += 1
                if name not in checked.errors:
                    wrong.append(f"{role} {method} {path} {name}={value}: the serializer takes an id of B")
                if has_pk and target is None:
                    continue
                url = path.replace("{pk}", str(target.pk)) if has_pk else path
                wrong += call_refused(
                    client, method, url, {**body, name: value}, markers, f"{role} {method} {path} {name}={value}"
                )
                tried += 1
            if (
                has_pk
                and (b_target := sides.one_of_b(view_model(callback) or Township)) is not None
                and view_model(callback)
            ):
                url = path.replace("{pk}", str(b_target.pk))
                wrong += call_refused(
                    client, method, url, body, markers, f"{role} {method} {url} (B's {b_target._meta.model_name})"
                )
                tried += 1

    print(
        f"\nwrite matrix (API): {len(ALL_ROLES)} roles × {len(writes)} writes; related fields {sorted(fields)}; "
        f"county-wide by design {sorted(county_wide)}; {tried} B ids tried"
    )
    assert len(fields) >= 6 and tried >= 60, (sorted(fields), tried)
    assert not wrong, f"{len(wrong)} API writes took or showed B:\n" + "\n".join(wrong)
    with capsys.disabled():
        print(
            f"write matrix (API): {tried} B ids tried over {len(writes)} writes × {len(SCOPED)} scoped roles, all refused"
        )


def call_refused(client, method, url, body, markers, where) -> list[str]:
    with transaction.atomic():
        before = all_counts()
        response = getattr(client, method.lower())(url, body, format="json")
        after = all_counts()
        transaction.set_rollback(True)
    problems = []
    if response.status_code not in (400, 403, 404):
        problems.append(f"{where}: {response.status_code}, expected 400/403/404 ({response.content[:200]!r})")
    if before != after:
        problems.append(
            f"{where}: rows changed { ({k: (before[k], after[k]) for k in before if before[k] != after[k]}) }"
        )
    if found := leaks(response_text(response), markers):
        problems.append(f"{where}: the answer names B: {found}")
    return problems


def test_an_out_of_reach_id_reads_like_a_missing_one(matrix):
    """The API's answer to B's doctor is the answer to a doctor that does not exist."""
    a, b, users, sides, _markers = matrix
    client = api_as(users["township_admin"])
    body = {"kind": "annual", "start_date": "2026-12-28", "end_date": "2026-12-28", "reason": "测试"}
    missing = client.post("/api/v1/rosters/leave/", {**body, "doctor_id": 2**40}, format="json")
    theirs = client.post("/api/v1/rosters/leave/", {**body, "doctor_id": b.doctors[0].pk}, format="json")
    assert missing.status_code == theirs.status_code == 400
    missing, theirs = missing.json(), theirs.json()
    assert set(missing["fields"]) == set(theirs["fields"]) == {"doctor_id"}
    assert missing["code"] == theirs["code"] and missing["detail"] == theirs["detail"]
    said, said_theirs = missing["fields"]["doctor_id"][0], theirs["fields"]["doctor_id"][0]
    assert str(2**40) in said and "{" not in said
    assert said.replace(str(2**40), "N") == said_theirs.replace(str(b.doctors[0].pk), "N")
    mine = client.post("/api/v1/rosters/leave/", {**body, "doctor_id": a.doctors[1].pk}, format="json")
    assert mine.status_code == 201, mine.content


def test_scopers_cover_every_related_model_of_b(matrix):
    """Every model an admin form points at and that belongs to a township is narrowed for A's
    township admin (a model left out of the scoper registry would offer B's rows)."""
    a, b, users, sides, _markers = matrix
    user = users["township_admin"]
    targets = {
        f.related_model
        for model, model_admin in admin.site._registry.items()
        for m in [model, *(i.model for i in model_admin.inlines)]
        for f in m._meta.concrete_fields
        if f.is_relation and f.related_model is not None
    }
    unscoped = [
        t.__name__
        for t in targets
        if sides.of_b(t) and scope_choices(t._default_manager.all(), user).filter(pk__in=sides.of_b(t)).exists()
    ]
    assert not unscoped, unscoped
    assert len([t for t in targets if sides.of_b(t)]) >= 10


def test_changelist_filters_offer_no_out_of_reach_row(matrix):
    """A changelist's filter on a related field (township, clinic, doctor…) lists only rows in reach:
    the stock filter listed every township of the county to a township admin."""
    a, b, users, sides, markers = matrix
    checked, wrong = 0, []
    for role in ("township_admin", GRANTED, "county_admin"):
        client = Client()
        client.force_login(users[role])
        for model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            response = client.get(url)
            if response.status_code != 200 or not response.context or "cl" not in response.context:
                continue
            for spec in response.context["cl"].filter_specs:
                related = getattr(getattr(spec, "field", None), "related_model", None)
                if related is None or not hasattr(spec, "lookup_choices"):
                    continue
                checked += 1
                offered = {str(pk) for pk, _label in spec.lookup_choices}
                b_rows = {str(pk) for pk in sides.of_b(related)}
                if role in SCOPED and offered & b_rows:
                    wrong.append(f"{role} {url} filter {spec.field_path}: offers {related.__name__} rows of B")
                if (
                    role not in SCOPED
                    and b_rows
                    and not isinstance(spec, admin.RelatedOnlyFieldListFilter)
                    and not offered & b_rows
                ):
                    wrong.append(f"{role} {url} filter {spec.field_path}: B missing for a county-wide role")
            if role in SCOPED and (found := leaks(response_text(response), [b.township.name])):
                wrong.append(f"{role} {url}: names B's township {found}")
    assert checked >= 15, checked
    assert not wrong, "\n".join(wrong)


def test_autocomplete_answers_hold_no_out_of_reach_row(matrix):
    """The search box of every autocomplete field answers from the target admin's scoped queryset,
    for a township admin with every permission too (its account, doctor and clinic boxes)."""
    a, b, users, sides, _markers = matrix
    asked, wrong = 0, []
    for role in ("township_admin", GRANTED):
        client = Client()
        client.force_login(users[role])
        for model, model_admin in admin.site._registry.items():
            for field_name in model_admin.get_autocomplete_fields(fake_request(users[role])):
                related = model._meta.get_field(field_name).related_model
                response = client.get(
                    reverse("admin:autocomplete"),
                    {
                        "app_label": model._meta.app_label,
                        "model_name": model._meta.model_name,
                        "field_name": field_name,
                        "term": "",
                    },
                )
                asked += 1
                if response.status_code >= 500:
                    wrong.append(f"{role} {model.__name__}.{field_name}: {response.status_code}")
                if response.status_code != 200:
                    continue
                ids = {str(r["id"]) for r in response.json()["results"]}
                if ids & {str(pk) for pk in sides.of_b(related)}:
                    wrong.append(f"{role} {model.__name__}.{field_name}: answers {related.__name__} rows of B")
    assert asked >= 10, asked
    assert not wrong, "\n".join(wrong)


def test_a_service_refusal_in_a_teleconsult_form_is_a_message_not_a_500(matrix):
    """The consultant form saves through consultant_save, which refuses a village clinic's
    department: the county admin gets the refusal on the page (it was a 500), and nothing is saved."""
    from telemedicine.models import Consultant
    from tests.telemedicine.factories import DepartmentFactory

    a, _b, users, _sides, _markers = matrix
    department = DepartmentFactory(facility=a.clinic)
    client = Client()
    client.force_login(users["county_admin"])
    url = reverse("admin:telemedicine_consultant_add")
    data = posted_data(client.get(url), Consultant)
    data.update({"department": [str(department.pk)], "name": ["试验专家"], "is_active": ["on"]})
    before = all_counts()
    response = client.post(url, data)
    assert response.status_code == 302, response.status_code
    assert all_counts() == before
    assert not Consultant.objects.filter(name="试验专家").exists()


def test_reach_fields_declare_why_they_are_county_wide():
    with pytest.raises(TypeError):
        ReachIdField(model=Township, scoped=False)
    with pytest.raises(TypeError):
        ReachRelatedField(queryset=Township.objects.all(), scoped=False)

"""One-row reads the ORM builds and compiles once, then runs again with each request's values.

Building and compiling a queryset with its joins, annotations and EXISTS conditions costs Python
several milliseconds a booking, more than PostgreSQL takes to answer it. A `CompiledRead` asks its
`build(**values)` for the queryset once per database connection (and time zone), with placeholder
values, notes where each value lands among the compiled SQL's parameters, and from then on runs
that SQL with the request's values and makes the model instances (with their `select_related`
objects and annotations) the way the queryset would.

The rules stay in the querysets and expressions that `build` composes (the selectors and services
that own them): this module keeps only what they compile to. A `build` whose SQL depends on the
values themselves rather than only carrying them is refused when first compiled (it is compiled
with two different sets of placeholders and both must give the same SQL)."""

import datetime
import sys
import threading
import weakref
from dataclasses import dataclass

from django.db import connections, router
from django.db.models.query import get_related_populators
from django.utils import timezone

# Placeholder values by type: far from any id, key or day a request carries.
_PLACEHOLDERS = {
    int: lambda n: 9_000_000_000_000_000_000 + n,
    str: lambda n: f"\x1fcompiled-read-placeholder-{n}\x1f",
    datetime.date: lambda n: datetime.date(1111, 1, 1) + datetime.timedelta(days=n),
}


def _cursor(connection):
    """A cursor for a compiled read. On PostgreSQL (psycopg 3) it binds the values on the server
    and prepares the statement once per connection, so PostgreSQL plans it once instead of at
    every booking (the slot's SELECT with its four EXISTS took longer to plan than to run); the
    project's other queries keep Django's client-side binding. Elsewhere, Django's own cursor.
    Either way it is Django's cursor wrapper: its errors and execute wrappers as usual."""
    if (
        connection.vendor != "postgresql"
        or _PreparingCursor is None
        # Behind a transaction pooler (PgBouncer; the alias then disables server-side cursors,
        # docs/SCALING.md) a statement prepared on one server connection is not on the next.
        or connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"]
        # The query log (DEBUG, a test's query count) reads the SQL back from a client-side cursor.
        or connection.queries_logged
    ):
        return connection.cursor()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Django turns psycopg's statement preparing off; only an explicit `prepare=True` (these
        # reads) prepares now: Django's client-side cursors never prepare whatever the threshold.
        connection.connection.prepare_threshold = sys.maxsize
    return connection.make_cursor(_PreparingCursor(connection.connection))


try:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class _PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, **kwargs):
            return super().execute(query, params, prepare=True, **kwargs)

except ImportError:  # no psycopg 3 here (SQLite only)
    _PreparingCursor = None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    slots: tuple  # (position, value name, as text) for each parameter that carries a value
    compiler: object
    model: type
    init_list: list
    model_slice: slice
    populators: list
    annotations: dict
    col_count: int


class CompiledRead:
    """`CompiledRead(build, model=Slot, slot_id=int, ...)`: `build(slot_id=...)` returns the
    queryset of at most one row wanted (it is read as `.first()` reads it); `get(slot_id=5)` runs
    it. The keyword arguments name each value and its type (int, str or datetime.date)."""

    def __init__(self, build, *, model, **kinds):
        unknown = {name: kind for name, kind in kinds.items() if kind not in _PLACEHOLDERS}
        if unknown:
            raise TypeError(f"CompiledRead takes int, str and datetime.date values, not {unknown}")
        self.build, self.model, self.kinds = build, model, kinds
        self._per_connection = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def get(self, **values):
        """The one row (a model instance) or None."""
        db = router.db_for_read(self.model)
        connection = connections[db]
        compiled = self._compiled(connection)
        params = list(compiled.params)
        for position, name, as_text in compiled.slots:
            value = values[name]
            params[position] = str(value) if as_text else value
        with _cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        (row,) = compiled.compiler.results_iter([[row[: compiled.col_count]]])
        obj = compiled.model.from_db(db, compiled.init_list, row[compiled.model_slice])
        for populator in compiled.populators:
            populator.populate(row, obj)
        for name, position in compiled.annotations.items():
            setattr(obj, name, row[position])
        return obj

    def _compiled(self, connection) -> _Compiled:
        key = timezone.get_current_timezone_name()
        per_zone = self._per_connection.get(connection)
        if per_zone is None:
            with self._lock:
                per_zone = self._per_connection.setdefault(connection, {})
        compiled = per_zone.get(key)
        if compiled is None:
            compiled = per_zone[key] = self._compile(connection)
        return compiled

    def _placeholders(self, offset: int) -> dict:
        return {name: _PLACEHOLDERS[kind](offset + n) for n, (name, kind) in enumerate(self.kinds.items())}

    def _sql(self, connection, placeholders: dict):
        queryset = self.build(**placeholders)
        if queryset.model is not self.model:
            raise TypeError(f"build() gave a queryset of {queryset.model.__name__}, not {self.model.__name__}")
        queryset = (queryset if queryset.ordered else queryset.order_by("pk"))[:1]  # as `.first()` reads
        compiler = queryset.query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        slots = []
        for position, param in enumerate(params):
            for name, placeholder in placeholders.items():
                if param == placeholder or (isinstance(param, str) and param == str(placeholder)):
                    slots.append((position, name, not isinstance(param, type(placeholder))))
        return compiler, sql, tuple(params), tuple(slots)

    def _compile(self, connection) -> _Compiled:
        first, second = self._placeholders(0), self._placeholders(len(self.kinds))
        compiler, sql, params, slots = self._sql(connection, first)
        _compiler, other_sql, other_params, other_slots = self._sql(connection, second)
        carried = {name for _position, name, _text in slots}
        constants = [p for n, p in enumerate(params) if n not in {s[0] for s in slots}]
        other_constants = [p for n, p in enumerate(other_params) if n not in {s[0] for s in other_slots}]
        if sql != other_sql or slots != other_slots or constants != other_constants or carried != set(self.kinds):
            raise ValueError(f"{self.build.__qualname__}: its SQL changes with its values (or drops one); it cannot be compiled once")
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        return _Compiled(
            sql=sql,
            params=params,
            slots=slots,
            compiler=compiler,
            model=klass_info["model"],
            init_list=[column[0].target.attname for column in select[fields[0] : fields[-1] + 1]],
            model_slice=slice(fields[0], fields[-1] + 1),
            populators=get_related_populators(klass_info, select, connection.alias),
            annotations=dict(compiler.annotation_col_map or {}),
            col_count=compiler.col_count,
        )

"""A changelist paginator for tables of millions of rows: an exact count while the rows are few, the
planner's estimate once they are many (an exact COUNT(*) over a province's duty rows costs seconds
on every page).

On PostgreSQL the planner's estimate of the list's query (EXPLAIN) decides: below `estimate_above`
rows the count is exact; above it, the rows are counted up to `estimate_above` + 1 (a bounded
scan), and only when there really are more is the estimate shown — the page then says "about".
Elsewhere (SQLite) the count is always exact. Use with `show_full_result_count = False`, or the
changelist counts the whole table a second time."""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

ESTIMATE_ABOVE = 10_000


def planner_estimate(queryset) -> int | None:
    """The planner's row estimate for the queryset (PostgreSQL), or None."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    query = queryset.order_by().query
    if query.is_empty():
        return 0
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    estimate_above = ESTIMATE_ABOVE

    @cached_property
    def estimated(self) -> bool:
        """True when `count` is the planner's estimate, not an exact count."""
        self.count  # noqa: B018  (decides it)
        return self._estimated

    @cached_property
    def count(self) -> int:
        self._estimated = False
        estimate = planner_estimate(self.object_list) if hasattr(self.object_list, "query") else None
        if estimate is None or estimate <= self.estimate_above:
            return super().count
        capped = self.object_list.order_by()[: self.estimate_above + 1].count()
        if capped <= self.estimate_above:
            return capped
        self._estimated = True
        return max(estimate, capped)

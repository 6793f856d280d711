"""Serializer fields for ids and codes of related rows, narrowed to the caller's reach: a write may
point only at rows the user reaches (`clinics.scoping.scope_choices`)."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from clinics.scoping import scope_choices


class _ReachChoices:
    """Shared by the id and code fields below: the rows the value may name, narrowed to the
    requesting user's reach."""

    lookup = "pk"
    default_error_messages = {
        "does_not_exist": gettext_lazy("No {what} with the id {pk_value} is in your reach."),
    }

    def _reach_init(self, *, model, queryset, scoped, reason):
        if model is None and queryset is None:
            raise TypeError(f"{type(self).__name__} needs a model or a queryset")
        if not scoped and not reason:
            raise TypeError(f"{type(self).__name__}(scoped=False) needs the reason its choices are county-wide")
        self._queryset, self.scoped, self.reason = queryset, scoped, reason
        self.model = model if model is not None else getattr(queryset, "model", None)

    def get_queryset(self):
        queryset = self._queryset() if callable(self._queryset) else self._queryset
        if queryset is None:
            queryset = self.model._default_manager.all()
        request = self.context.get("request")
        if self.scoped and request is not None:
            queryset = scope_choices(queryset, request.user)
        return queryset

    def _check(self, value):
        if self.scoped and not self.get_queryset().filter(**{self.lookup: value}).exists():
            self.fail("does_not_exist", what=self.model._meta.verbose_name, pk_value=value)
        return value


class ReachIdField(_ReachChoices, serializers.IntegerField):
    """The id of a row a write points at (a doctor, a slot…), checked against the rows the
    requesting user may point a write at (`clinics.scoping.scope_choices`: facilities and townships
    in reach, doctors by their posting in force, every registered model). An id outside reach is
    answered exactly like an id that does not exist (400, code "does_not_exist"), so the answer
    never tells that the row is there. The validated value is the id itself.

    `queryset` (a queryset or a callable returning one) is the rows that can be chosen at all.
    `scoped=False` declares an id whose choices are county-wide by design (a teleconsult slot a
    doctor of any township may book) and says why in `reason`; the service judges it. Without a
    request in the serializer's context (a serializer built outside a view) the id is checked
    against `queryset` only, so a view must pass its context for the reach check to apply."""

    def __init__(self, *, model=None, queryset=None, scoped: bool = True, reason: str = "", **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)
        self._reach_init(model=model, queryset=queryset, scoped=scoped, reason=reason)

    def to_internal_value(self, data):
        return self._check(super().to_internal_value(data))


class ReachCodeField(_ReachChoices, serializers.CharField):
    """Like ReachIdField for a row named by its code (a township's, a clinic's); the validated value
    is the code, stripped. A blank value (where allowed) names no row and is not checked."""

    default_error_messages = {
        "does_not_exist": gettext_lazy("No {what} you can reach has this code; check the code."),
    }

    def __init__(
        self, *, model=None, queryset=None, lookup: str = "code", scoped: bool = True, reason: str = "", **kwargs
    ):
        super().__init__(**kwargs)
        self.lookup = lookup
        self._reach_init(model=model, queryset=queryset, scoped=scoped, reason=reason)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return self._check(value) if value else value


class ReachRelatedField(serializers.PrimaryKeyRelatedField):
    """A PrimaryKeyRelatedField (the validated value is the row) whose choices are narrowed to the
    requesting user's reach like ReachIdField's; an id outside reach answers "does not exist".
    `scoped=False` with a `reason` keeps `queryset` as it is: choices county-wide by design."""

    def __init__(self, *, scoped: bool = True, reason: str = "", **kwargs):
        if not scoped and not reason:
            raise TypeError("ReachRelatedField(scoped=False) needs the reason its choices are county-wide")
        self.scoped, self.reason = scoped, reason
        super().__init__(**kwargs)

    def get_queryset(self):
        queryset = super().get_queryset()
        request = self.context.get("request")
        if self.scoped and request is not None and queryset is not None:
            queryset = scope_choices(queryset, request.user)
        return queryset

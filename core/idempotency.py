"""`Idempotency-Key` for API writes that must not happen twice (the booking and the settlement
upload): a client that timed out sends the same request again with the same key and gets the first
answer (status and body) instead of a second booking or a 409 about its own one.

    class BookingViewSet(...):
        @idempotent("teleconsult.booking.create")
        def create(self, request): ...

The rules (as the IETF draft "The Idempotency-Key HTTP Header Field" and Stripe's API have them):

- The key is the client's (a UUID, say): 1 to 255 visible ASCII characters. Keys are kept per
  user and endpoint, so two terminals' keys never meet. Without the header the request is handled
  as before.
- The first request with a key claims it (a row in `core.IdempotencyKey`, committed at once; the
  unique constraint lets only one of two concurrent requests claim it), does the work and stores
  its answer. A retry with the same key and the same body gets that answer again, marked with the
  header `Idempotent-Replayed: true`, for IDEMPOTENCY_KEY_TTL_HOURS.
- The same key with another body is the client's mistake: 422, code `idempotency_key_reused`.
- A retry while the first request is still at work: 409, code `idempotency_in_progress`, with
  Retry-After; the client asks again a moment later and then gets the first answer. A claim left
  by a request that died (the process killed) is taken over after IDEMPOTENCY_LEASE_SECONDS.
- Answers that say "try again" are not kept, so a retry does the work: 5xx, 429, and 409 `busy`
  (`core.retry`). Every other answer, refusals included, is the first answer.

The claim is committed before the work and the answer stored after it, so the work stays in its
own transactions (`core.retry` can run them again). If the process dies between the two, the retry
after the lease does the work again, and the endpoints' own rules answer it: the booking refuses a
second consult for the patient at that time (409 naming the existing booking), the upload counts
every row as a duplicate of its setl_id.

Expired keys are ignored at once and deleted by the daily retention run
(`idempotency_keys_purge`, from `operations.retention`)."""

import datetime
import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.errors import Conflict, DomainError
from core.models import IdempotencyKey
from core.schema import error_response

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
CLAIM_ATTEMPTS = 3
RETRY_AFTER_SECONDS = 1  # told to a retry that came while the first request is at work

# For the schema of each idempotent operation.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=gettext_lazy(
        "A key of your choosing (e.g. a UUID), 1–255 visible ASCII characters, new for each new request. "
        "Send the same request again with the same key (after a timeout) and you get the first answer "
        "instead of the work being done twice; such an answer carries the header Idempotent-Replayed: true. "
        "The same key with another body is refused (422, idempotency_key_reused); while the first request is "
        "still at work, 409 idempotency_in_progress. Keys are kept 24 hours (IDEMPOTENCY_KEY_TTL_HOURS)."
    ),
)


# The schema's 422 of an idempotent operation.
IDEMPOTENCY_KEY_REUSED = error_response(
    422,
    gettext_lazy("The Idempotency-Key was sent before with a different body (idempotency_key_reused): use a new key."),
)


class IdempotencyKeyInvalid(DomainError):
    default_code = "idempotency_key_invalid"


class IdempotencyKeyReused(DomainError):
    """The same key came with another request body (422)."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"


class IdempotencyInProgress(Conflict):
    """The first request with this key is still at work (409); ask again in a moment."""

    default_code = "idempotency_in_progress"


@dataclass
class Claim:
    """What `idempotency_begin` found: a key this request now holds (do the work, then
    `idempotency_finish`), or the first request's answer to give again (`replay`)."""

    row: IdempotencyKey
    replay: bool = False


def key_clean(value: str) -> str:
    key = value.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise IdempotencyKeyInvalid(
            _("The Idempotency-Key header must be 1 to %(max)s visible ASCII characters (e.g. a UUID).")
            % {"max": MAX_KEY_LENGTH}
        )
    return key


def request_fingerprint(data) -> str:
    """SHA-256 of the request body as parsed, in one canonical JSON form (keys sorted), so the same
    body sent again with its keys in another order is still the same request."""
    if hasattr(data, "lists"):  # a QueryDict
        data = {key: values for key, values in data.lists()}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _ttl() -> datetime.timedelta:
    return datetime.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def _in_progress() -> IdempotencyInProgress:
    return IdempotencyInProgress(
        _("A request with this Idempotency-Key is still being handled. Send it again in a moment to get its answer.")
    )


def idempotency_begin(*, user, scope: str, key: str, fingerprint: str, now: datetime.datetime | None = None) -> Claim:
    """Claim `key` for this request, or find the first request's answer. Raises
    IdempotencyKeyReused (another body) or IdempotencyInProgress (the first is still at work)."""
    for _attempt in range(CLAIM_ATTEMPTS):
        now = timezone.now() if now is None else now
        try:
            with transaction.atomic():
                row = IdempotencyKey.objects.create(
                    user=user, scope=scope, key=key, fingerprint=fingerprint,
                    locked_until=now + _lease(), created_at=now, expires_at=now + _ttl(),
                )
            return Claim(row=row)
        except IntegrityError:
            pass
        row = IdempotencyKey.objects.filter(user=user, scope=scope, key=key).first()
        if row is None:
            continue  # released (the first request's answer was not to be kept) a moment ago
        if row.expires_at <= now:
            IdempotencyKey.objects.filter(pk=row.pk, expires_at__lte=now).delete()
            continue  # an expired key, not yet swept, is a new key
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                _("This Idempotency-Key was used for a different request. Use a new key for each new request; "
                  "send the same key only with exactly the same request.")
            )
        if row.status == IdempotencyKey.Status.DONE:
            return Claim(row=row, replay=True)
        if row.locked_until is not None and row.locked_until > now:
            raise _in_progress()
        # The request holding it died: take it over, unless another retry just did.
        taken = IdempotencyKey.objects.filter(
            pk=row.pk, status=IdempotencyKey.Status.IN_PROGRESS, locked_until=row.locked_until
        ).update(locked_until=now + _lease())
        if taken:
            row.locked_until = now + _lease()
            return Claim(row=row)
        raise _in_progress()
    raise _in_progress()


def idempotency_finish(claim: Claim, *, status: int, body) -> None:
    """Keep the answer of the claimed request for its retries."""
    IdempotencyKey.objects.filter(pk=claim.row.pk).update(
        status=IdempotencyKey.Status.DONE, response_status=status, response_body=body, locked_until=None
    )


def idempotency_release(claim: Claim) -> None:
    """Forget the claim (the answer said "try again"): the next retry does the work."""
    IdempotencyKey.objects.filter(pk=claim.row.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def idempotency_keys_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete the expired keys; returns how many (for the daily retention run)."""
    return IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()[0]


def _kept(response) -> bool:
    """False for answers that say "try again": those are not the request's answer."""
    if response.status_code >= 500 or response.status_code == HTTPStatus.TOO_MANY_REQUESTS:
        return False
    data = getattr(response, "data", None)
    return not (response.status_code == HTTPStatus.CONFLICT and isinstance(data, dict) and data.get("code") == "busy")


def _jsonable(data):
    return json.loads(JSONRenderer().render(data)) if data is not None else None


def idempotent(scope: str):
    """Decorate a DRF view method (`create`) so that it honours the Idempotency-Key header, keys
    kept per user and `scope` (a stable name of the endpoint, e.g. "teleconsult.booking.create")."""

    def decorator(method):
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            header = request.headers.get(HEADER)
            if header is None:
                return method(view, request, *args, **kwargs)
            try:
                request.body  # noqa: B018 — read (and kept) now, so the view can still read it
            except RequestDataTooBig:
                return method(view, request, *args, **kwargs)  # the view refuses it with its 400
            except RawPostDataException:
                pass
            key = key_clean(header)
            try:
                claim = idempotency_begin(user=request.user, scope=scope, key=key, fingerprint=request_fingerprint(request.data))
            except IdempotencyInProgress as exc:
                response = view.handle_exception(exc)
                response["Retry-After"] = str(RETRY_AFTER_SECONDS)
                return response
            if claim.replay:
                return Response(claim.row.response_body, status=claim.row.response_status, headers={REPLAYED_HEADER: "true"})
            try:
                try:
                    response = method(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)  # a refusal becomes its answer; anything else re-raises
            except BaseException:
                idempotency_release(claim)
                raise
            if _kept(response):
                idempotency_finish(claim, status=response.status_code, body=_jsonable(response.data))
            else:
                idempotency_release(claim)
            return response

        return wrapper

    return decorator

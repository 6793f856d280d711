"""API rate limits: calls without valid credentials per client address, settlement uploads per
terminal; over the rate a 429 with a JSON body whose message (Chinese once compiled) says the limit
and how long to wait, and a Retry-After header.

Each test counts in a cache of its own (a fresh in-memory location, or a Redis key prefix of its
own), so the counts of one test or of another xdist worker never reach another."""

import uuid

import pytest
from django.core.cache import cache
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from clinics.models import Role
from tests.api_client_helpers import api_token_for
from tests.factories import FacilityFactory, make_user

pytestmark = pytest.mark.django_db
URL = "/api/v1/townships/"
UPLOAD = "/api/v1/settlements/"


def limit_rates(settings, *, anon="3/min", uploads="2/min"):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": anon, "uploads": uploads}}


@pytest.fixture(autouse=True)
def own_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"throttle-{uuid.uuid4()}"}
    }
    cache.clear()
    limit_rates(settings)
    yield
    cache.clear()


def expected_detail(rate_words: str, seconds: int) -> str:
    with translation.override("zh-hans"):
        return gettext("Too many requests (the limit is %(rate)s). Wait %(seconds)d seconds, then send again.") % {
            "rate": rate_words,
            "seconds": seconds,
        }


def assert_throttled(response, *, per_minute: int):
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    with translation.override("zh-hans"):
        rate_words = gettext("%(num)d requests per minute") % {"num": per_minute}
    assert response.json() == {"code": "throttled", "detail": expected_detail(rate_words, wait), "fields": {}}


def anonymous(ip="10.1.0.5", **extra):
    return APIClient(REMOTE_ADDR=ip, HTTP_ACCEPT_LANGUAGE="zh-hans", **extra)


def test_anonymous_calls_get_429_after_the_rate_per_address():
    api = anonymous()
    for _ in range(3):
        assert api.get(URL).status_code == 401
    assert_throttled(api.get(URL), per_minute=3)
    assert anonymous("10.1.0.6").get(URL).status_code == 401  # another address has its own count


def test_wrong_tokens_count_as_anonymous_calls():
    api = anonymous()
    api.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for _ in range(3):
        assert api.get(URL).status_code == 401
    assert_throttled(api.get(URL), per_minute=3)
    assert_throttled(anonymous().get(URL), per_minute=3)  # the same address without a token too


def test_signed_in_calls_are_not_limited_by_the_anonymous_rate(roles):
    admin = make_user(Role.COUNTY_ADMIN)
    api = anonymous()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {api_token_for(admin)}")
    assert [api.get(URL).status_code for _ in range(6)] == [200] * 6


def test_behind_a_trusted_proxy_each_client_has_its_own_count(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "172.18.0.2"
    first, second = (anonymous(proxy, HTTP_X_FORWARDED_FOR=client) for client in ("203.0.113.5", "198.51.100.9"))
    for _ in range(3):
        first.get(URL)
    assert first.get(URL).status_code == 429
    assert second.get(URL).status_code == 401


def test_without_a_trusted_proxy_a_made_up_forwarded_header_does_not_reset_the_count(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for n in range(3):
        anonymous(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").get(URL)
    assert anonymous(HTTP_X_FORWARDED_FOR="198.51.100.99").get(URL).status_code == 429


def terminal_api(clinic, username):
    terminal = make_user(Role.API_CLIENT, facility=clinic, username=username)
    api = APIClient(HTTP_ACCEPT_LANGUAGE="zh-hans")
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(terminal)}")
    return api


def test_a_terminals_uploads_get_429_after_the_rate_and_another_terminal_goes_on(roles):
    from clinics.settlements.models import SettlementRecord
    from tests.settlements.helpers import row

    clinic = FacilityFactory()
    first, second = terminal_api(clinic, "pos_a"), terminal_api(clinic, "pos_b")
    assert first.post(UPLOAD, [row(clinic, 1)], format="json").status_code == 201
    assert first.post(UPLOAD, [row(clinic, 2)], format="json").status_code == 201
    refused = first.post(UPLOAD, [row(clinic, 3)], format="json")
    assert_throttled(refused, per_minute=2)
    assert set(SettlementRecord.objects.values_list("setl_id", flat=True)) == {row(clinic, 1)["setl_id"], row(clinic, 2)["setl_id"]}
    assert second.post(UPLOAD, [row(clinic, 4)], format="json").status_code == 201


def test_reading_the_log_does_not_use_up_the_upload_rate(roles):
    from tests.settlements.helpers import row

    clinic = FacilityFactory()
    clerk = make_user(Role.INSURANCE_CLERK)
    api = APIClient()
    api.force_authenticate(clerk)
    assert [api.get(UPLOAD).status_code for _ in range(4)] == [200] * 4
    assert api.post(UPLOAD, [row(clinic, 1)], format="json").status_code == 201


def test_an_unknown_throttle_scope_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from core.throttling import ScopedWriteRateThrottle

    throttle = ScopedWriteRateThrottle()
    throttle.scope = "no-such-scope"
    with pytest.raises(ImproperlyConfigured):
        throttle.get_rate()


def _redis_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def test_the_counts_live_in_redis_when_the_cache_is_redis(settings):
    url = "redis://127.0.0.1:6379/6"
    if not _redis_reachable(url):
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one)")
    prefix = f"throttle-test-{uuid.uuid4()}"  # a prefix of its own: no flush, nothing shared between workers
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url, "KEY_PREFIX": prefix}}
    api = anonymous("10.9.0.1")
    for _ in range(3):
        assert api.get(URL).status_code == 401
    assert_throttled(api.get(URL), per_minute=3)

    import redis

    client = redis.Redis.from_url(url)
    keys = client.keys(f"{prefix}:*")
    assert keys and any(b"throttle_anon_10.9.0.1" in key for key in keys)
    client.delete(*keys)

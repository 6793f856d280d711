import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(roles):
    """Two townships with rows of every kind and a user for every role (tests/security/world.py)."""
    from tests.security.world import build_world

    return build_world()

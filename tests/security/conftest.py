import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Every role gets a login; a fast hasher keeps building the world quick."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(roles):
    from tests.security.world import build_world

    return build_world()

# The security tests' world (two townships with rows of every kind, a user for every role) and
# their fast hasher serve the crawl too.
from tests.security.conftest import fast_password_hashing, world  # noqa: F401

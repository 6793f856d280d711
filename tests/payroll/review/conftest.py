from tests.payroll.conftest import policies, visits  # noqa: F401 - fixtures of the payroll tests

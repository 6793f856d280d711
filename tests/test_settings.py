import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_check(env_extra: dict, *args):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set for Playwright in tests/conftest.py; a deployment never has it.
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "CUNYI_HASH_KEY", "DEBUG", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_to_start_without_secret_key():
    result = run_check({"CUNYI_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_its_own_hash_key():
    result = run_check({"CUNYI_ENV": "production", "SECRET_KEY": "k3!" + "x" * 60})
    assert result.returncode != 0
    assert "CUNYI_HASH_KEY must be set" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = run_check(
        {
            "CUNYI_ENV": "production",
            "SECRET_KEY": "k3!" + "x" * 60 + "-a-long-random-production-secret",
            "CUNYI_HASH_KEY": "h4$" + "y" * 40,
            "ALLOWED_HOSTS": "cunyi.example.gov.cn",
        },
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_defaults_are_chinese_and_shanghai(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ
    assert settings.REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]

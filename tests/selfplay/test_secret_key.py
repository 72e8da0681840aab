"""No key in the source: a random one is made once in the var folder; production refuses to start
without its own, and `check --deploy` is clean with the documented production environment."""

import os
import stat
import subprocess
import sys

import pytest
from django.conf import settings
from django.core import signing

from selfplay.secret_key import local_secret_key
from tests.support.databases import REPO

PRODUCTION = {"SELFPLAY_PRODUCTION": "1", "DJANGO_SECRET_KEY": "k" * 10 + os.urandom(32).hex(),
              "DJANGO_ALLOWED_HOSTS": "selfplay.example.com", "DJANGO_CSRF_TRUSTED_ORIGINS": "https://selfplay.example.com"}


def manage(*args, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SELFPLAY_"))}
    return subprocess.run([sys.executable, str(REPO / "manage.py"), *args], env={**clean, **env}, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


def test_a_key_is_made_once_private_and_reused(tmp_path):
    first = local_secret_key(tmp_path)
    assert len(first) >= 50
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600
    assert local_secret_key(tmp_path) == first
    assert local_secret_key(tmp_path / "other") != first


def test_processes_starting_together_agree_on_one_key(tmp_path):
    script = "import sys; from pathlib import Path; from selfplay.secret_key import local_secret_key; " \
             "print(local_secret_key(Path(sys.argv[1])))"
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                             text=True) for _ in range(8)]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and keys == {(tmp_path / "secret_key").read_text().strip()}


def test_the_test_run_signs_with_a_generated_key_not_a_known_one():
    assert "development" not in settings.SECRET_KEY and len(settings.SECRET_KEY) >= 50


def test_production_refuses_to_start_without_its_own_key(tmp_path):
    env = {**PRODUCTION, "SELFPLAY_VAR_DIR": str(tmp_path)}
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SELFPLAY_PRODUCTION=1 needs DJANGO_SECRET_KEY" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_check_deploy_is_clean_with_the_documented_production_environment(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env={**PRODUCTION, "SELFPLAY_VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_is_clean_scaled_out(tmp_path):
    """The environment of docs/deployment.md's several-machine layout passes too."""
    env = {**PRODUCTION, "SELFPLAY_VAR_DIR": str(tmp_path),
           "DATABASE_URL": "postgres://selfplay@db.internal:5432/selfplay", "SELFPLAY_CONN_MAX_AGE": "60",
           "SELFPLAY_REDIS_STATE_URL": "redis+cluster://10.0.0.11:7000,10.0.0.12:7000,10.0.0.13:7000/",
           "SELFPLAY_CHANNEL_REDIS_URLS": "redis://10.0.0.21:6379/0,redis://10.0.0.22:6379/0",
           "SELFPLAY_TICK_SHARDS": "4", "SELFPLAY_PLANNING_QUEUE": "planning"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.django_db
def test_a_token_forged_with_the_old_development_key_is_refused(client):
    forged = signing.dumps({"version": 1}, key="selfplay-development-key-not-for-production-use",
                           salt="selfplay.checkpoint", compress=False)
    response = client.get("/sync", {"token": forged})
    assert (response.status_code, response.json()["error"]["details"]["reason"]) == (400, "bad_signature")

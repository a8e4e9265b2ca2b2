"""The platform's own files: migrations in step with models, the compose file valid, translations complete."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_migrations_match_the_models() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_docker_compose_file_is_valid() -> None:
    assert shutil.which("docker-compose"), "make test installs Debian's docker-compose"
    result = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    services = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
                              capture_output=True, text=True, check=True).stdout.split()
    assert {"web", "worker", "beat", "devnet", "postgres", "redis"} <= set(services)


def test_platform_folder_is_not_a_python_package() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists(), "it would shadow the standard library's platform"


def test_every_interface_string_has_a_simplified_chinese_translation() -> None:
    po = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    assert shutil.which("msgfmt"), "make test installs gettext"
    stats = subprocess.run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
                           capture_output=True, text=True, check=True).stderr
    assert "untranslated" not in stats, stats
    assert "fuzzy" not in stats, stats


def test_the_interface_catalogue_is_up_to_date(tmp_path: Path) -> None:
    """Every translatable string of the code is in the catalogue: refresh it with `make messages-update`."""
    for name in ("accounts", "companies", "compliance", "config", "equity", "payments", "tokens", "templates"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "manage.py", tmp_path)
    (tmp_path / "locale").mkdir()
    subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "manage.py", "makemessages", "-l", "zh_Hans", "-v0"],
                   cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin", "TRANCHE_DEV": "1",
                                                   "PYTHONPATH": str(tmp_path)})
    fresh = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    committed = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    result = subprocess.run(["msgcmp", "--use-untranslated", str(committed), str(fresh)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_settings_refuse_a_database_other_than_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    script = "import config.settings"
    env = {"PATH": "/usr/bin:/bin", "TRANCHE_DEV": "1", "DATABASE_URL": "sqlite:///x.db"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "PostgreSQL only" in result.stderr


def test_settings_refuse_to_start_without_a_secret_key_outside_development() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", "import config.settings"], cwd=ROOT,
                            env=env, capture_output=True, text=True, check=False)
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_openapi_schema_validates_without_warnings(tmp_path: Path) -> None:
    """Every API view documents its input and output well enough for drf-spectacular to raise no warning."""
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/companies/{slug}/cap-table/" in out.read_text()

"""Settings come from the environment: checked in fresh interpreters, as a newcomer would start Tiski."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps({'debug': s.DEBUG, 'db': s.DATABASES['default']['NAME'].__str__(), "
    "'engine': s.DATABASES['default']['ENGINE'], 'key': s.SECRET_KEY, 'hasher': s.PASSWORD_HASHERS[0]}))"
)


def _settings(tmp_path: Path, **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TISKI_", "DATABASE_URL", "DJANGO_"))}
    clean |= {"DJANGO_SETTINGS_MODULE": "tiski.settings", "TISKI_DATA_DIR": str(tmp_path / "data"), **env}
    out = subprocess.run([sys.executable, "-c", PROBE], env=clean, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_are_sqlite_in_the_data_dir_debug_off_and_a_persisted_secret(tmp_path):
    first = _settings(tmp_path)
    assert first["engine"] == "django.db.backends.sqlite3"
    assert first["db"] == str(tmp_path / "data" / "tiski.sqlite3")
    assert first["debug"] is False
    assert first["hasher"] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"  # Django's, at full strength
    key_file = tmp_path / "data" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first["key"]) >= 50
    assert _settings(tmp_path)["key"] == first["key"]  # generated once, kept


def test_environment_overrides(tmp_path):
    got = _settings(
        tmp_path,
        TISKI_SECRET_KEY="from-env",
        TISKI_DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/tiski",
    )
    assert got["key"] == "from-env" and got["debug"] is True
    assert got["engine"] == "django.db.backends.postgresql" and got["db"] == "tiski"
    assert not (tmp_path / "data" / "secret_key").exists()

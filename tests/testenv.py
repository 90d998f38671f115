"""Loaded with `-p testenv` before pytest-django imports the settings: a private data dir per run."""

import os
import tempfile

os.environ["TISKI_DATA_DIR"] = tempfile.mkdtemp(prefix="tiski-test-")
os.environ.setdefault("TISKI_SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ["TISKI_TASK_BACKEND"] = "django_tasks_db.DatabaseBackend"

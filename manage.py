#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path


def use_the_environment_of_make_run() -> None:
    """Take DATABASE_URL (and the rest `make run` wrote to var/selfplay.env) unless they are set,
    so that `manage.py …` talks to the database the running daemon uses."""
    var = Path(os.environ.get("SELFPLAY_VAR_DIR", Path(__file__).resolve().parent / "var"))
    env_file = var / "selfplay.env"
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                os.environ.setdefault(key.strip(), value.strip())


def main() -> None:
    use_the_environment_of_make_run()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

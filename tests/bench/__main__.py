"""`make bench`: run every tests/bench/bench_*.py and print one BENCH line per measurement."""

import importlib
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")
os.environ.setdefault("SELFPLAY_LOG_LEVEL", "WARNING")
# Benchmarks measure the embedded default, SQLite, against plain sqlite3 baselines.
_bench_dir = Path(__file__).resolve().parents[2] / "var" / "bench"
_bench_dir.mkdir(parents=True, exist_ok=True)
os.environ["DATABASE_URL"] = f"sqlite:///{_bench_dir / 'default.sqlite3'}"

import django  # noqa: E402

django.setup()


def main(selected: list[str]) -> int:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    for name in names:
        if selected and not any(s in name for s in selected):
            continue
        module = importlib.import_module(f"tests.bench.{name}")
        for result in module.run():
            print(result.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The core zip the browser's worker loads: self-contained, pure, and the daemon's own code."""

import io
import json
import re
import subprocess
import sys
import zipfile

from selfplay.local import bundle
from selfplay.local.simulate import run

# Run in a clean interpreter that has only the zip's contents on its path, and refuses Django and
# everything else the worker does not have.
SCRIPT = """
import json, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("django", "rest_framework", "channels", "celery", "redis", "psycopg"):
            raise ImportError(f"{name} is not in the browser")
sys.meta_path.insert(0, Refuse())
sys.path[:0] = [sys.argv[1]]
from selfplay.local import worker
print(worker.simulate(json.dumps({"region": "loc-bundle01", "seed": 5, "width": 20, "height": 14,
                                  "perBrain": 1, "ticks": 12})))
print(json.dumps(sorted(m for m in sys.modules if m.partition(".")[0] in ("selfplay", "agents", "events"))))
"""


def test_the_zip_holds_the_core_files_as_they_are_in_the_source_tree():
    data = bundle.build()
    assert data == bundle.build()  # the same sources, the same bytes (the ETag)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == bundle.core_files()
        for name in names:
            assert archive.read(name) == (bundle.REPO / name).read_bytes()
    assert "selfplay/settings.py" not in names and "events/store.py" not in names
    assert {"selfplay/world/evaluate.py", "agents/brains/forager.py", "events/hashing.py"} <= set(names)


def test_the_zip_alone_runs_a_world_without_django_as_the_daemon_does(tmp_path):
    with zipfile.ZipFile(io.BytesIO(bundle.build())) as archive:
        archive.extractall(tmp_path)
    result = subprocess.run([sys.executable, "-I", "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer_line, modules_line = result.stdout.strip().splitlines()
    answer = json.loads(answer_line)
    expected = run(region="loc-bundle01", seed=5, width=20, height=14, per_brain=1, ticks=12)
    assert {k: answer[k] for k in expected} == expected
    # Every module the world needed came from the zip (brains are imported by name, lazily).
    files = set(bundle.core_files())
    loaded = [m.replace(".", "/") for m in json.loads(modules_line)]
    assert "agents/brains/wanderer" in loaded
    assert all(f"{m}.py" in files or f"{m}/__init__.py" in files for m in loaded)


def test_the_offline_shell_holds_every_module_the_local_page_imports():
    """/local/ works with the network cut only if its service worker keeps every module the page
    loads: world-page.js and local-page.js, and everything they import, transitively."""
    from selfplay.web.local_pages import SHELL_STATIC

    js = bundle.REPO / "static" / "js"
    seen, todo = set(), ["world-page.js", "local-page.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += re.findall(r'^import [^;]*? from "\./([\w-]+\.js)";', (js / name).read_text(), flags=re.M | re.S)
    assert {"dom.js", "history.js", "timeline.js", "canonical.js", "page-errors.js"} <= seen
    assert {f"js/{name}" for name in seen} <= set(SHELL_STATIC)

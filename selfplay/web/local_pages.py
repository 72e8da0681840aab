"""The browser-only variant's pages (DESIGN §10): `/local/`, its worker, its service worker, its core.

`/local/` runs a world in the tab: a Web Worker (`/local/worker.js`) loads Pyodide from
`static/vendor/pyodide/` (installed from the npm registry by `make pyodide`) and the pure core
(`/local/core.zip`: the very `selfplay.world`, brains, canonical JSON and hash chain the daemon
runs), keeps the log in IndexedDB and ticks on the daemon's cadence. A service worker scoped to
`/local/` keeps all of it in the Cache API, so the page reloads and ticks with the network cut.
The worker and the core are served under `/local/` so that the service worker controls them too.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from selfplay.local import bundle

from .pages import action_forms, rules_config

PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json")
# The page's own static files, cached for offline use alongside Pyodide and the core.
SHELL_STATIC = ("css/selfplay.css", "js/world-page.js", "js/local-page.js", "js/local-source.js", "js/map.js",
                "js/feed.js", "js/reducers.js", "js/frame.js", "js/stream.js", "js/status.js", "js/chart.js",
                "js/override.js", "js/dom.js", "js/page-errors.js", "js/canonical.js", "js/history.js",
                "js/timeline.js", "js/health.js", "favicon.svg")
MAX_LOCAL_SIDE = 128
MAX_PER_BRAIN = 25


@cache
def core_zip() -> tuple[bytes, str]:
    """Return the core's zip and its ETag (built once per process: the sources do not change under it)."""
    data = bundle.build()
    return data, f'"{hashlib.sha256(data).hexdigest()[:32]}"'


def _static_path(name: str) -> Path:
    found = finders.find(name)
    if not found:
        raise Http404(f"{name} is missing: run `make pyodide`" if name.startswith("vendor/") else name)
    return Path(found)


def shell_urls() -> list[str]:
    """Return every URL the page needs, for the service worker to keep."""
    return [reverse("pages:local"), reverse("pages:local-worker"), reverse("pages:local-core"),
            *(static(name) for name in SHELL_STATIC), *(static(f"vendor/pyodide/{name}") for name in PYODIDE_FILES)]


def _shell_version() -> str:
    """Name the cached shell after its contents, so that a changed file installs a new cache."""
    digest = hashlib.sha256(core_zip()[1].encode())
    for name in (*SHELL_STATIC, "js/local-worker.js", *(f"vendor/pyodide/{n}" for n in PYODIDE_FILES)):
        stat = _static_path(name).stat()
        digest.update(f"{name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@require_safe
@ensure_csrf_cookie
def local_page(request):
    """Start a new world (seed, size, agents per brain), reopen a saved one, or open a log file."""
    config = {
        "page": "local", "source": "local", "region": None, "streamId": None,
        "tickSeconds": settings.SELFPLAY_SIM_TICK_SECONDS, "rules": rules_config(), "ownedAgents": [],
        "urls": {
            "agentPage": "#agent=AGENT_ID", "worldPage": reverse("pages:world", args=["REGION"]),
            "import": reverse("world-import"), "login": reverse("pages:login"),
            "worker": reverse("pages:local-worker"), "serviceWorker": reverse("pages:local-sw"),
            "core": reverse("pages:local-core"), "pyodide": static("vendor/pyodide/pyodide.mjs"),
            "pyodideIndex": static("vendor/pyodide/"),
        },
        "local": {"tickSeconds": settings.SELFPLAY_SIM_TICK_SECONDS,
                  "maxCatchup": settings.SELFPLAY_MAX_CATCHUP_TICKS,
                  "planEvery": settings.SELFPLAY_LOCAL_PLAN_EVERY_TICKS,
                  "checkpointEvery": settings.SELFPLAY_LOCAL_CHECKPOINT_EVERY_EVENTS,
                  "maxSide": MAX_LOCAL_SIDE, "maxPerBrain": MAX_PER_BRAIN,
                  "defaults": {"width": 48, "height": 32, "perBrain": 5}},
        "actionForms": action_forms(),
        "user": request.user.get_username() if request.user.is_authenticated else None,
    }
    return render(request, "selfplay/local.html", {"config": config})


@require_safe
def local_worker(request):
    """The worker's script, served inside the service worker's scope so that it is controlled too."""
    response = HttpResponse(_static_path("js/local-worker.js").read_bytes(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def local_core(request):
    """The pure core as a zip (see selfplay.local.bundle), revalidated by ETag."""
    data, etag = core_zip()
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified(headers={"ETag": etag})
    response = HttpResponse(data, content_type="application/zip")
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


@require_safe
def local_service_worker(request):
    """The service worker that keeps `/local/` working offline (scope: /local/)."""
    response = render(request, "selfplay/local-sw.js", {
        "version_json": json.dumps(_shell_version()), "urls_json": json.dumps(shell_urls()),
        "immutable_json": json.dumps([static("vendor/pyodide/")]),
    }, content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response

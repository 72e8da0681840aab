"""The Selfplay project: settings, URLs, ASGI and the composition layer.

The Celery app lives in `selfplay.celery` (workers and beat start with `-A selfplay.celery`), so
importing the pure core (`selfplay.world`, `selfplay.canonical`, `selfplay.local`) needs neither
Celery nor Django: the browser-only variant imports it under Pyodide.
"""

"""Static files for daphne: Django's ASGI handler, with a path outside the folders answered 404.

A path like `/static/%2e%2e/selfplay/settings.py` makes the finders raise SuspiciousFileOperation,
which Django's handler turns into a 500; it is a request for nothing that exists, so 404.
"""

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.http import Http404


class StaticFiles(ASGIStaticFilesHandler):
    def serve(self, request):
        try:
            return super().serve(request)
        except SuspiciousOperation as exc:
            raise Http404("No such file.") from exc

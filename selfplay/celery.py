"""The Celery app: workers run the ticks headless, beat drives them from the database schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "selfplay.settings")

app = Celery("selfplay")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""Admin actions that ask the operator for a reason (and optionally an action) before acting.

Every operator intervention lands in the log with the operator as actor and the reason given,
so the action first shows a small form, then calls the service for each selected object.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=500,
                             help_text="Recorded in the log with your name.")


class ReasonAndActionForm(ReasonForm):
    action_json = forms.CharField(
        label="Action", initial='{"type": "rest"}', widget=forms.TextInput(attrs={"size": 60}),
        help_text='JSON, e.g. {"type": "move", "dx": 1, "dy": 0} or {"type": "say", "text": "hello"}')

    def clean_action_json(self):
        try:
            value = json.loads(self.cleaned_data["action_json"])
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError("The action must be a JSON object.")
        return value


def with_reason(modeladmin, request, queryset, *, title: str, apply: Callable, form_class=ReasonForm):
    """Show the reason form; on submit call `apply(obj, form.cleaned_data)` for each object.

    `apply` returns a message for the object, or raises ValueError with a message for a person.
    """
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                note = apply(obj, form.cleaned_data)
            except ValueError as exc:
                messages.error(request, f"{obj}: {exc}")
            else:
                done += 1
                if note:
                    messages.info(request, f"{obj}: {note}")
        messages.success(request, f"{title}: {done} of {queryset.count()} done.")
        return None
    return TemplateResponse(request, "admin/selfplay_action_form.html", {
        **modeladmin.admin_site.each_context(request),
        "title": title, "objects": queryset, "form": form, "opts": modeladmin.model._meta,
        "action": request.POST.get("action"), "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    })


def operator_of(request) -> str:
    return f"operator:{request.user.get_username()}"

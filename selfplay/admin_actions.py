"""Admin actions that ask the operator for a reason (and optionally an action) before acting.

Every operator intervention lands in the log with the operator as actor and the reason given,
so the action first shows a small form, then calls the service for each selected object.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from .errors import SelfplayError
from .world import ACTIONS, InvalidAction, validate_action
from .world.rules import INVENTORY_LIMIT, SAY_MAX_CHARS


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), max_length=500,
                             help_text="Recorded in the log with your name.")


def _argument_fields() -> dict[str, forms.Field]:
    """One form field per action argument, built from the game's own vocabulary (ACTIONS)."""
    fields: dict[str, forms.Field] = {}
    for arguments in ACTIONS.values():
        for argument in arguments:
            if argument.name in fields:
                continue
            if argument.kind in ("step", "amount"):
                low, high = (-1, 1) if argument.kind == "step" else (1, INVENTORY_LIMIT)
                fields[argument.name] = forms.IntegerField(required=False, min_value=low, max_value=high)
            elif argument.kind == "choice":
                fields[argument.name] = forms.ChoiceField(
                    required=False, choices=[("", "—"), *((o, o) for o in argument.options)])
            else:
                fields[argument.name] = forms.CharField(required=False, strip=False,
                                                        max_length=SAY_MAX_CHARS if argument.kind == "text" else 64)
            fields[argument.name].help_text = "used by: " + ", ".join(
                k for k, args in ACTIONS.items() if any(a.name == argument.name for a in args))
    return fields


class ReasonAndActionForm(ReasonForm):
    """The reason, and the action: its type and the arguments that type takes (the others are ignored).

    Checked with the game's own `validate_action`, so a bad value comes back next to its field,
    with everything the operator typed still in the form.
    """

    action_type = forms.ChoiceField(label="Action", choices=[(kind, kind) for kind in ACTIONS], initial="rest")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_argument_fields())

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("action_type")
        if kind is None:
            return cleaned
        action = {"type": kind}
        for argument in ACTIONS[kind]:
            value = cleaned.get(argument.name)
            if value not in (None, ""):
                action[argument.name] = value
        try:
            cleaned["action"] = validate_action(action)
        except InvalidAction as exc:
            for name, problem in exc.details.items():
                self.add_error(name if name in self.fields else "action_type", problem)
        return cleaned


def with_reason(modeladmin, request, queryset, *, title: str, apply: Callable, form_class=ReasonForm):
    """Show the reason form; on submit call `apply(obj, form.cleaned_data)` for each object.

    `apply` returns a message for the object, or raises a SelfplayError (shown to the operator).
    """
    form = form_class(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for obj in queryset:
            try:
                note = apply(obj, form.cleaned_data)
            except SelfplayError as exc:
                shown = f"{obj}: {exc.message}"
                messages.error(request, f"{shown} {exc.details}" if exc.details else shown)
            else:
                done += 1
                if note:
                    messages.info(request, f"{obj}: {note}")
        total = queryset.count()
        if done:
            messages.success(request, f"{title}: {done} of {total} done.")
        else:
            messages.warning(request, f"{title}: none of {total} done.")
        return None
    return TemplateResponse(request, "admin/selfplay_action_form.html", {
        **modeladmin.admin_site.each_context(request),
        "title": title, "objects": queryset, "form": form, "opts": modeladmin.model._meta,
        "action": request.POST.get("action"), "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    })


def operator_of(request) -> str:
    return f"operator:{request.user.get_username()}"

// The owner's override panel: an action with its arguments, a reason, pause and resume; each
// command's answer (accepted and the tick it applies at, or the refusal) and then its outcome.

import {element, uuid4} from "./dom.js";
import {describeAction} from "./feed.js";
import {ApiError, fetchJSON} from "./stream.js";

export class OverridePanel {
  /**
   * `agents()` returns [[id, name], …] of the agents this one could give to. `submit(body)`
   * sends a command and resolves with the 202 answer or throws an ApiError; by default it posts
   * to the daemon (a local world's page hands it to its worker instead).
   */
  constructor(root, {config, agents, submit = null}) {
    Object.assign(this, {root, config, agents});
    this.submit = submit ?? ((body) => fetchJSON(this.config.urls.command, {
      method: "POST", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRFToken": this.csrf},
    }));
    this.form = root.querySelector("form");
    this.typeSelect = root.querySelector("#action-type");
    this.fields = root.querySelector("#action-fields");
    this.reason = root.querySelector("#reason");
    this.results = root.querySelector("#command-results");
    this.pending = []; // accepted commands waiting for their tick: {kind, tick, item}
    this.seen = []; // what the world recorded lately: {kind, tick, text, ok}
    this.failures = new Map(); // tick -> how a capability the agent used then failed
    this.csrf = this.form.querySelector("[name=csrfmiddlewaretoken]")?.value;
    for (const spec of config.actionForms) this.typeSelect.append(element("option", {value: spec.type}, spec.type));
    this.typeSelect.value = config.actionForms.some((s) => s.type === "move") ? "move" : config.actionForms[0].type;
    this.typeSelect.addEventListener("change", () => this.renderFields());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send({kind: "override", action: this.action()});
    });
    for (const kind of ["pause", "resume"]) {
      // An operator's reason is required for these as for an override: the browser says so first.
      root.querySelector(`#${kind}`).addEventListener("click", () => this.reason.reportValidity() && this.send({kind}));
    }
    this.renderFields();
  }

  spec() {
    return this.config.actionForms.find((s) => s.type === this.typeSelect.value);
  }

  renderFields() {
    this.fields.replaceChildren(...this.spec().fields.map((field) => this.fieldRow(field)));
  }

  fieldRow(field) {
    const id = `arg-${field.name}`;
    const row = element("div", {class: "field"});
    row.append(element("label", {for: id}, field.label + (field.required ? "" : " (optional)")));
    let input;
    if (field.input === "step") {
      input = element("select", {id, name: field.name});
      for (const v of [-1, 0, 1]) input.append(element("option", {value: v}, v > 0 ? `+${v}` : v < 0 ? `−${-v}` : "0"));
      input.value = String(field.initial ?? field.default ?? 0);
    } else if (field.input === "choice") {
      input = element("select", {id, name: field.name});
      for (const option of field.options) input.append(element("option", {value: option}, option));
      if ((field.initial ?? field.default) !== null && (field.initial ?? field.default) !== undefined) {
        input.value = field.initial ?? field.default;
      }
    } else if (field.input === "agent") {
      input = element("select", {id, name: field.name, required: field.required});
      for (const [agentId, name] of this.agents()) input.append(element("option", {value: agentId}, `${name} (${agentId})`));
    } else if (field.input === "number") {
      input = element("input", {id, name: field.name, type: "number", min: field.min, max: field.max,
                                value: field.initial ?? field.default ?? field.min, required: field.required});
    } else {
      input = element("input", {id, name: field.name, type: "text", maxlength: field.maxLength, required: field.required,
                                autocomplete: "off"});
      if (field.input === "json") input.value = JSON.stringify(field.initial ?? field.default ?? {});
    }
    input.dataset.kind = field.input;
    row.append(input);
    if (field.help) {
      const help = element("small", {id: `${id}-help`, class: "help"}, field.help);
      input.setAttribute("aria-describedby", help.id);
      row.append(help);
    }
    return row;
  }

  action() {
    const action = {type: this.typeSelect.value};
    for (const input of this.fields.querySelectorAll("[name]")) {
      const numeric = input.dataset.kind === "step" || input.dataset.kind === "number";
      action[input.name] = numeric ? Number.parseInt(input.value, 10) : input.dataset.kind === "json" ? parseJson(input.value) : input.value;
    }
    return action;
  }

  async send({kind, action = null}, body = null, item = null) {
    body ??= {kind, streamId: this.config.streamId, reason: this.reason.value.trim(), idempotencyKey: uuid4(),
              ...(action ? {action} : {})};
    const label = kind === "override" ? `Override: ${describeAction(body.action)}` : kind === "pause" ? "Pause" : "Resume";
    if (!item) {
      item = element("li");
      this.results.prepend(item);
    }
    item.className = "result pending";
    item.textContent = `${label} — sending…`;
    this.busy(true);
    try {
      const answer = await this.submit(body);
      item.className = "result accepted";
      item.dataset.appliesAtTick = answer.appliesAtTick;
      item.textContent = `${label} — accepted, applies at tick ${answer.appliesAtTick}`;
      item.append(element("span", {class: "muted"}, ` (${answer.streamId} #${answer.position})`));
      this.reason.value = "";
      this.pending.push({kind, tick: answer.appliesAtTick, eventId: answer.eventId, item,
                         uses: body.action?.type === "use"});
      this.settle();
    } catch (error) {
      this.refused(item, label, error, body);
    } finally {
      this.busy(false);
    }
  }

  refused(item, label, error, body) {
    item.className = "result refused";
    if (!(error instanceof ApiError)) {
      // The answer was lost: resending the same idempotency key cannot apply the command twice.
      item.textContent = `${label} — no answer (${error.message}). `;
      const retry = element("button", {type: "button", class: "link"}, "Send again");
      retry.addEventListener("click", () => this.send({kind: body.kind}, body, item));
      item.append(retry);
      return;
    }
    item.textContent = `${label} — refused (${error.status} ${error.code}): ${error.message}`;
    const details = Object.entries(error.details || {}).filter(([key]) => !error.message.includes(String(key)));
    if (details.length) {
      const list = element("ul", {class: "details"});
      for (const [key, value] of details) list.append(element("li", {}, `${key}: ${typeof value === "object" ? JSON.stringify(value) : value}`));
      item.append(list);
    }
  }

  busy(on) {
    for (const button of this.root.querySelectorAll("button:not(.link)")) button.disabled = on;
  }

  /**
   * The world recorded what the agent did at `tick` (`kind` "override": an outcome, with its
   * `text`, whether it succeeded and the event that caused it), or that it was paused or resumed
   * there (`kind` "pause" or "resume").
   */
  happened(kind, tick, {text = "", ok = true, cause = null} = {}) {
    this.seen.push({kind, tick, text, ok, cause});
    if (this.seen.length > 50) this.seen.shift();
    this.settle();
  }

  settle() {
    this.pending = this.pending.filter((command) => {
      const {kind, tick, item} = command;
      // An override's outcome names the override as its cause; a pause or resume shows in the
      // world stream at its tick or, if the world was idle, later.
      const match = this.seen.find((s) => s.kind === kind && (kind === "override" ? s.cause === command.eventId : s.tick >= tick));
      if (!match) {
        if (kind === "override" && !command.late && this.seen.some((s) => s.kind === kind && s.tick >= tick)) {
          command.late = true;
          item.append(element("span", {class: "outcome"}, ` → tick ${tick} went by without it; still waiting`));
        }
        return true;
      }
      // The world lets a `use` through; the capability itself can still fail (not granted, over
      // budget, the plugin's error), recorded in the agent's stream, before or after this.
      const failure = command.uses ? this.failures.get(match.tick) : undefined;
      item.className = `result ${match.ok && !failure ? "applied" : "failed"}`;
      item.querySelector(".outcome")?.remove();
      const text = kind === "override" ? match.text : kind === "pause" ? "paused" : "resumed";
      item.append(element("span", {class: "outcome"}, ` → tick ${match.tick}: ${text}${failure ? `, but ${failure}` : ""}`));
      if (command.uses && match.ok && !failure) item.dataset.usedAt = match.tick;
      return false;
    });
  }

  /** A capability the agent used at `tick` failed (`text` says how): so did an override that asked for it. */
  capabilityFailed(tick, text) {
    this.failures.set(tick, text);
    if (this.failures.size > 50) this.failures.delete(this.failures.keys().next().value);
    for (const item of this.results.querySelectorAll(`li[data-used-at="${tick}"]`)) {
      item.className = "result failed";
      item.querySelector(".outcome").append(`, but ${text}`);
      delete item.dataset.usedAt;
    }
  }

  showStatus(status) {
    this.root.querySelector("#pause").hidden = status === "paused";
    this.root.querySelector("#resume").hidden = status !== "paused";
  }
}

/** The text of a JSON field as a value; text that is not JSON is sent as it is, and refused. */
function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

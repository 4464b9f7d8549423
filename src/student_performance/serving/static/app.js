// The page to try the model: the form is generated from the served model's schema
// (GET /model/info), the answer comes from POST /predict. Plain JS, no framework.
"use strict";

const MISSING = "";

function el(tag, attributes = {}, text = null) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== null) node.textContent = text;
  return node;
}

function fieldId(name) {
  return "field-" + name.replace(/[^A-Za-z0-9_-]/g, "_");
}

function buildField(feature) {
  const wrapper = el("div", { class: "field" });
  const id = fieldId(feature.name);
  const label = el("label", { for: id }, feature.name + " ");
  label.appendChild(el("span", { class: "kind" }, "(" + feature.kind + ")"));
  wrapper.appendChild(label);
  let input;
  if (Array.isArray(feature.allowed)) {
    input = el("select", { id: id, name: feature.name });
    input.appendChild(el("option", { value: MISSING }, "unknown"));
    for (const value of feature.allowed) input.appendChild(el("option", { value: value }, value));
  } else {
    input = el("input", { id: id, name: feature.name, type: "number", step: "any" });
    if (feature.allowed.min !== null) input.setAttribute("min", feature.allowed.min);
    if (feature.allowed.max !== null) input.setAttribute("max", feature.allowed.max);
  }
  wrapper.appendChild(input);
  return wrapper;
}

function readRecord(features) {
  const record = {};
  for (const feature of features) {
    const value = document.getElementById(fieldId(feature.name)).value;
    if (value === MISSING) record[feature.name] = null;
    else record[feature.name] = Array.isArray(feature.allowed) ? value : Number(value);
  }
  return record;
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = false;
  document.getElementById("result").hidden = true;
  document.getElementById("placeholder").hidden = true;
}

function showAnswer(answer, classes) {
  document.getElementById("error").hidden = true;
  document.getElementById("placeholder").hidden = true;
  document.getElementById("predicted-class").textContent = answer.prediction;
  const body = document.querySelector("#probabilities tbody");
  body.replaceChildren();
  for (const name of classes) {
    const p = answer.probabilities[name];
    const row = el("tr", { "data-class": name });
    if (name === answer.prediction) row.classList.add("top");
    row.appendChild(el("td", {}, name));
    row.appendChild(el("td", { class: "value" }, (100 * p).toFixed(1) + " %"));
    const cell = el("td");
    const bar = el("div", { class: "bar" });
    const fill = el("span");
    fill.style.width = (100 * p).toFixed(1) + "%";
    bar.appendChild(fill);
    cell.appendChild(bar);
    row.appendChild(cell);
    body.appendChild(row);
  }
  showReasons(answer.explanation);
  const set = answer.prediction_set;
  document.getElementById("set-line").hidden = !set;
  if (set) {
    const level = Math.round(100 * answer.prediction_set_level) + " %";
    document.getElementById("prediction-set").textContent = describeSet(set, classes) + ", " + level;
    document.getElementById("set-level").textContent = level;
  }
  document.getElementById("answered-by").textContent =
    "Answered by " + answer.model_name + " v" + answer.model_version +
    " - request " + answer.request_id;
  document.getElementById("result").hidden = false;
}

// "Good or Vg"; a set that skips a class in between (conformal.contiguous: false)
// names it, "Average or Vg (not Good)", as core.conformal.describe_set does.
function describeSet(set, classes) {
  const inside = classes.slice(classes.indexOf(set[0]), classes.indexOf(set[set.length - 1]) + 1);
  const skipped = inside.filter((name) => !set.includes(name));
  return set.join(" or ") + (skipped.length ? " (not " + skipped.join(" or ") + ")" : "");
}

// The three features that moved this prediction most, with their direction.
function showReasons(explanation) {
  const box = document.getElementById("reasons");
  box.hidden = !explanation;
  if (!explanation) return;
  const list = document.getElementById("reasons-list");
  list.replaceChildren();
  // Contributions that show as 0.00 moved nothing (a field left unknown is imputed to
  // the baseline's own value): say so rather than list them.
  const moved = Object.entries(explanation.contributions)
    .filter(([, value]) => Math.abs(value) >= 0.005)
    .slice(0, 3);
  document.getElementById("reasons-intro").textContent = moved.length
    ? "Why: the " + ["feature", "two features", "three features"][moved.length - 1] +
      " that moved this answer most"
    : "Why: no feature moved this answer away from the baseline student";
  for (const [name, value] of moved) {
    const sign = value >= 0 ? "+" : "\u2212";
    list.appendChild(el("li", { "data-feature": name }, name + ": " + sign + Math.abs(value).toFixed(2)));
  }
  document.getElementById("reasons-units").textContent = explanation.units;
}

function describeErrors(detail) {
  if (!Array.isArray(detail)) return String(detail);
  return detail.map((d) => d.msg).join("\n");
}

async function main() {
  let info;
  try {
    const response = await fetch("/model/info");
    info = await response.json();
  } catch (err) {
    showError("Cannot reach the service: " + err);
    return;
  }
  const features = info.schema.features;
  document.getElementById("decision-rule").textContent =
    info.decision_rule || "the estimator's own prediction";
  document.getElementById("model").textContent =
    info.name + " v" + info.version + " (" + info.alias + ") - predicts " +
    info.schema.target.name + ": " + info.classes.join(" < ");
  const fields = document.getElementById("fields");
  for (const feature of features) fields.appendChild(buildField(feature));

  const form = document.getElementById("record-form");
  const submit = document.getElementById("submit");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    try {
      const response = await fetch("/predict?explain=true", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(readRecord(features)),
      });
      const answer = await response.json();
      if (response.ok) showAnswer(answer, info.classes);
      else showError("Error " + response.status + ":\n" + describeErrors(answer.detail));
    } catch (err) {
      showError("Request failed: " + err);
    } finally {
      submit.disabled = false;
    }
  });
  document.getElementById("reset").addEventListener("click", () => {
    form.reset();
    document.getElementById("result").hidden = true;
    document.getElementById("error").hidden = true;
    document.getElementById("placeholder").hidden = false;
  });
  document.body.dataset.ready = "true";
}

main();

// digits serve: the page's behaviour. Draw with pointer events (mouse, touch, pen), ask
// /api/predict or /api/explain while drawing (debounced, stale answers dropped), upload by
// file picker, camera, drag-and-drop or paste, and read whole numbers with /api/read.
// No inline code (the Content-Security-Policy forbids it), no outside URL.
"use strict";

const $ = (id) => document.getElementById(id);
const DEBOUNCE_MS = 120;

const state = {
  mode: "draw",
  strokes: [], // each a {width, points: [[x, y], ...]} in canvas pixels
  drawing: null,
  why: false,
  seq: 0, // the newest request; older answers are dropped
  timer: 0,
  lastBlob: null, // the last picture sent for one digit, for "Why?"
  uploadUrl: null,
  numberUrl: null,
};

// ------------------------------------------------------------------ the API

async function ask(path, blob) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": blob.type || "application/octet-stream" },
    body: blob,
  });
  let body;
  try {
    body = await response.json();
  } catch (e) {
    throw new Error("the server's answer was not JSON (HTTP " + response.status + ")");
  }
  if (!response.ok) {
    throw new Error(body.error || "HTTP " + response.status);
  }
  return body;
}

function showModel() {
  fetch("/api/model")
    .then((r) => r.json())
    .then((m) => {
      const acc = m.test_accuracy != null ? ", " + (100 * m.test_accuracy).toFixed(2) + "% on MNIST's test set" : "";
      $("model").textContent = "model " + (m.preset || "custom") + ": " + m.parameters.toLocaleString() + " parameters" + acc;
    })
    .catch(() => {});
}

// ------------------------------------------------------------------ one digit's answer

function buildBars() {
  const bars = $("bars");
  for (let d = 0; d < 10; d++) {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = "<small></small><i></i><b></b>";
    bar.querySelector("b").textContent = String(d);
    bars.appendChild(bar);
  }
}

function setAnswer(text, kind) {
  const a = $("answer");
  a.textContent = text;
  a.className = "answer" + (kind ? " " + kind : "");
}

// the one-line answer under the canvas, for phones
function setMini(answer, detail, kind) {
  const mini = $("mini");
  mini.textContent = "";
  mini.className = "mini" + (kind ? " " + kind : "");
  if (answer) {
    const b = document.createElement("b");
    b.textContent = answer;
    mini.appendChild(b);
    mini.appendChild(document.createTextNode(" " + detail));
  } else {
    mini.textContent = detail;
  }
}

function setBars(probs, top, unsure) {
  const bars = $("bars").children;
  for (let d = 0; d < bars.length; d++) {
    const p = probs ? probs[d] || 0 : 0;
    bars[d].querySelector("i").style.height = Math.max(2, Math.round(p * 100)) + "%";
    bars[d].querySelector("small").textContent = probs && p >= 0.01 ? Math.round(p * 100) + "%" : "";
    bars[d].className = "bar" + (probs && d === top ? " top" : "") + (unsure ? " unsure" : "");
  }
}

function clearWhy() {
  $("why").hidden = true;
  $("why").removeAttribute("src");
  $("why-placeholder").hidden = false;
}

function showResult(r) {
  const status = $("status");
  status.className = "status";
  if (r.status === "ok") {
    setAnswer(r.label, "");
    status.textContent = "It's a " + r.label + ".";
    setMini(r.label, (100 * r.confidence).toFixed(0) + "% sure", "");
  } else if (r.status === "unsure") {
    setAnswer("?", "unsure");
    status.textContent = "Unsure: best guess " + r.guess + ".";
    status.className = "status unsure";
    setMini("?", "unsure: best guess " + r.guess, "unsure");
  } else if (r.status === "empty") {
    setAnswer("\u2013", "empty");
    status.textContent = state.mode === "draw" ? "Empty canvas: draw a digit." : "Empty: no ink found.";
    setMini("", status.textContent, "");
  } else {
    setAnswer("\u2013", "empty");
    status.textContent = "No digit: only lines, frames or noise.";
    setMini("", status.textContent, "");
  }
  $("confidence").textContent = r.guess != null ? "confidence " + (100 * r.confidence).toFixed(1) + "%" +
    (r.top3.length > 1 ? "; then " + r.top3.slice(1).map((t) => t.label + " " + (100 * t.probability).toFixed(1) + "%").join(", ") : "") : "";
  setBars(r.probabilities, r.guess, r.status === "unsure");
  if (r.preprocessed) {
    $("seen").src = r.preprocessed;
  }
  if (r.heatmap) {
    $("why").src = r.heatmap;
    $("why").hidden = false;
    $("why-placeholder").hidden = true;
  } else if (!state.why || r.guess == null) {
    clearWhy();
  }
}

function showError(message) {
  setAnswer("!", "unsure");
  setMini("!", message, "unsure");
  $("status").textContent = message;
  $("status").className = "status unsure";
  $("confidence").textContent = "";
  setBars(null, -1, false);
}

function resetResult(message) {
  setAnswer("\u2013", "empty");
  setMini("", message, "");
  $("status").textContent = message;
  $("status").className = "status";
  $("confidence").textContent = "";
  $("seen").removeAttribute("src");
  setBars(null, -1, false);
  clearWhy();
}

async function recognise(blob) {
  const seq = ++state.seq;
  state.lastBlob = blob;
  try {
    const r = await ask(state.why ? "/api/explain" : "/api/predict", blob);
    if (seq === state.seq) {
      showResult(r);
    }
  } catch (e) {
    if (seq === state.seq) {
      showError(e.message);
    }
  }
}

// ------------------------------------------------------------------ drawing

const canvas = $("canvas");
const ctx = canvas.getContext("2d");

function redraw() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#111";
  ctx.fillStyle = "#111";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const s of state.strokes) {
    ctx.lineWidth = s.width;
    if (s.points.length === 1) {
      ctx.beginPath();
      ctx.arc(s.points[0][0], s.points[0][1], s.width / 2, 0, 2 * Math.PI);
      ctx.fill();
      continue;
    }
    ctx.beginPath();
    ctx.moveTo(s.points[0][0], s.points[0][1]);
    for (let i = 1; i < s.points.length; i++) {
      ctx.lineTo(s.points[i][0], s.points[i][1]);
    }
    ctx.stroke();
  }
}

function canvasPoint(e) {
  const r = canvas.getBoundingClientRect();
  return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
}

function drawingChanged(now) {
  clearTimeout(state.timer);
  if (state.strokes.length === 0) {
    state.seq++;
    resetResult("Empty canvas: draw a digit.");
    return;
  }
  const send = () => canvas.toBlob((blob) => blob && recognise(blob), "image/png");
  if (now) {
    send();
  } else {
    state.timer = setTimeout(send, DEBOUNCE_MS);
  }
}

canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0 && e.pointerType === "mouse") {
    return;
  }
  e.preventDefault();
  canvas.setPointerCapture(e.pointerId);
  state.drawing = { width: Number($("pen").value), points: [canvasPoint(e)] };
  state.strokes.push(state.drawing);
  redraw();
});
canvas.addEventListener("pointermove", (e) => {
  if (!state.drawing) {
    return;
  }
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    state.drawing.points.push(canvasPoint(ev));
  }
  redraw();
  drawingChanged(false);
});
function endStroke() {
  if (state.drawing) {
    state.drawing = null;
    drawingChanged(true);
  }
}
canvas.addEventListener("pointerup", endStroke);
canvas.addEventListener("pointercancel", endStroke);

function undo() {
  state.strokes.pop();
  redraw();
  drawingChanged(true);
}
function clearCanvas() {
  state.strokes = [];
  redraw();
  drawingChanged(true);
}
$("undo").addEventListener("click", undo);
$("clear").addEventListener("click", clearCanvas);

// ------------------------------------------------------------------ uploads

function pictureGiven(file) {
  if (!file) {
    return;
  }
  if (state.mode === "number") {
    readNumber(file);
    return;
  }
  if (state.mode !== "upload") {
    setMode("upload");
  }
  if (state.uploadUrl) {
    URL.revokeObjectURL(state.uploadUrl);
  }
  state.uploadUrl = URL.createObjectURL(file);
  $("uploaded").src = state.uploadUrl;
  $("uploaded-figure").hidden = false;
  resetResult("Looking\u2026");
  recognise(file);
}

for (const id of ["file", "camera", "number-file", "number-camera"]) {
  $(id).addEventListener("change", (e) => {
    pictureGiven(e.target.files[0]);
    e.target.value = "";
  });
}

for (const id of ["drop", "number-drop"]) {
  const zone = $(id);
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    pictureGiven(e.dataTransfer.files[0]);
  });
}
// a picture dropped anywhere else is not opened by the browser in place of the page
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

document.addEventListener("paste", (e) => {
  for (const item of e.clipboardData ? e.clipboardData.items : []) {
    if (item.kind === "file" && item.type.startsWith("image/")) {
      e.preventDefault();
      pictureGiven(item.getAsFile());
      return;
    }
  }
});

// ------------------------------------------------------------------ whole numbers

async function readNumber(file) {
  if (state.numberUrl) {
    URL.revokeObjectURL(state.numberUrl);
  }
  state.numberUrl = URL.createObjectURL(file);
  $("number-image").src = state.numberUrl;
  $("number-view").hidden = false;
  $("boxes").textContent = "";
  $("number-digits").textContent = "";
  $("number-answer").textContent = "\u2026";
  $("number-status").textContent = "Reading\u2026";
  const seq = ++state.seq;
  let r;
  try {
    r = await ask("/api/read", file);
  } catch (e) {
    if (seq === state.seq) {
      $("number-answer").textContent = "!";
      $("number-status").textContent = e.message;
    }
    return;
  }
  if (seq !== state.seq) {
    return;
  }
  const answer = $("number-answer");
  answer.textContent = r.number || "\u2013";
  answer.className = "answer number" + (r.status === "unsure" ? " unsure" : r.status === "empty" ? " empty" : "");
  $("number-status").textContent =
    r.status === "empty" ? "No digits found." :
    r.digits.length + (r.digits.length === 1 ? " digit" : " digits") + (r.status === "unsure" ? "; '?' marks the unsure ones" : "") + ".";
  for (const d of r.digits) {
    const box = document.createElement("div");
    box.className = "box" + (d.status === "ok" ? "" : " unsure");
    box.style.left = (100 * d.box.x) / r.width + "%";
    box.style.top = (100 * d.box.y) / r.height + "%";
    box.style.width = (100 * d.box.w) / r.width + "%";
    box.style.height = (100 * d.box.h) / r.height + "%";
    const label = document.createElement("span");
    label.textContent = (d.status === "ok" ? d.label : "?" + d.guess) + " " + Math.round(100 * d.confidence) + "%";
    box.appendChild(label);
    $("boxes").appendChild(box);
    const li = document.createElement("li");
    if (d.status !== "ok") {
      li.className = "unsure";
    }
    const img = document.createElement("img");
    img.alt = "digit as the network saw it";
    if (d.preprocessed) {
      img.src = d.preprocessed;
    }
    li.appendChild(img);
    li.appendChild(document.createTextNode(d.status === "ok" ? d.label : "? (" + d.guess + ")"));
    $("number-digits").appendChild(li);
  }
}

// ------------------------------------------------------------------ modes and keys

function setMode(mode) {
  state.mode = mode;
  for (const m of ["draw", "upload", "number"]) {
    const tab = $("mode-" + m);
    tab.setAttribute("aria-selected", String(m === mode));
    tab.tabIndex = m === mode ? 0 : -1;
    $("panel-" + m).hidden = m !== mode;
  }
  $("digit-result").hidden = mode === "number";
  $("number-result").hidden = mode !== "number";
  state.seq++;
  if (mode === "draw") {
    drawingChanged(true);
  } else if (mode === "upload") {
    resetResult("Give a picture of one digit.");
    $("uploaded-figure").hidden = true;
  }
}

const modes = ["draw", "upload", "number"];
for (const m of modes) {
  const tab = $("mode-" + m);
  tab.addEventListener("click", () => setMode(m));
  tab.addEventListener("keydown", (e) => {
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (step) {
      const next = modes[(modes.indexOf(m) + step + modes.length) % modes.length];
      setMode(next);
      $("mode-" + next).focus();
    }
  });
}

$("why-button").addEventListener("click", () => {
  state.why = true;
  if (state.lastBlob && state.mode !== "number") {
    recognise(state.lastBlob);
  }
});

document.addEventListener("keydown", (e) => {
  if (state.mode !== "draw" || e.target.tagName === "INPUT") {
    return;
  }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
    e.preventDefault();
    undo();
  } else if (e.key === "Escape" || (e.key === "Delete" && e.target === canvas)) {
    clearCanvas();
  }
});

buildBars();
redraw();
resetResult("Draw a digit to begin.");
showModel();

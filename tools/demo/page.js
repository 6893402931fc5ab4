// The demo page: draw on the pad (mouse, pen or finger: pointer events), and every change is sent
// to the server as a PNG, one request at a time (the newest drawing goes next), so the answer
// follows the pen. Uploaded photos are sent as they are. The page's state is on <html> as data-
// attributes (version drawn, version shown, requests pending, answers), which its test reads.
"use strict";

const $ = (id) => document.getElementById(id);
const pad = $("pad");
const ink = pad.getContext("2d");
const state = document.documentElement.dataset;
const STROKE = 18; // pixels of the 280-pixel pad: about a pen's stroke on MNIST's scale

let version = 0; // of the pad's content (or the upload) that the page should show
let shown = 0; // the version whose answer is shown
let pending = 0;
let blank = true;
let stroke = null; // the pointer drawing now, and where it last was
let answers = 0;
let answersWhileDrawing = 0;
let maxBody = Infinity;

function mark() {
  Object.assign(state, { version, shown, pending, answers, answersWhileDrawing });
}

function say(text) {
  $("message").textContent = text;
  $("message").className = text ? "error" : "";
}

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  blank = true;
  version += 1;
  shown = version;
  forget();
  mark();
}

function at(event) {
  const box = pad.getBoundingClientRect();
  return {
    x: ((event.clientX - box.left) * pad.width) / box.width,
    y: ((event.clientY - box.top) * pad.height) / box.height,
  };
}

function line(from, to) {
  ink.strokeStyle = "#000";
  ink.lineWidth = STROKE;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.beginPath();
  ink.moveTo(from.x, from.y);
  ink.lineTo(to.x, to.y);
  ink.stroke();
}

pad.addEventListener("pointerdown", (event) => {
  if (stroke !== null || event.button !== 0) return;
  event.preventDefault();
  pad.setPointerCapture(event.pointerId);
  stroke = { id: event.pointerId, last: at(event) };
  ink.fillStyle = "#000";
  ink.beginPath();
  ink.arc(stroke.last.x, stroke.last.y, STROKE / 2, 0, 2 * Math.PI);
  ink.fill();
  changed();
});

pad.addEventListener("pointermove", (event) => {
  if (stroke === null || event.pointerId !== stroke.id) return;
  const coalesced = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const each of coalesced.length ? coalesced : [event]) {
    const point = at(each);
    line(stroke.last, point);
    stroke.last = point;
  }
  changed();
});

for (const type of ["pointerup", "pointercancel", "lostpointercapture"]) {
  pad.addEventListener(type, (event) => {
    if (stroke !== null && event.pointerId === stroke.id) stroke = null;
  });
}

function changed() {
  blank = false;
  version += 1;
  send();
}

// The newest drawing goes to the server once the previous answer is in.
function send() {
  if (pending > 0 || blank || shown >= version) return mark();
  const asked = version;
  pending += 1;
  mark();
  pad.toBlob((png) => ask(png, "drawing", asked), "image/png");
}

async function ask(picture, source, asked) {
  const drawing = stroke !== null;
  let answer;
  try {
    const response = await fetch(`/api/predict?from=${source}`, { method: "POST", body: picture });
    answer = await response.json().catch(() => ({}));
    if (!response.ok && !answer.error) answer = { error: `the server answered ${response.status}` };
  } catch (error) {
    answer = { error: "the server does not answer: is `make demo` still running?" };
  }
  if (asked > shown) {
    shown = asked;
    if (answer.error) {
      forget();
      say(answer.error);
    } else {
      show(answer);
      say("");
    }
  }
  answers += 1;
  if (drawing && stroke !== null) answersWhileDrawing += 1;
  pending -= 1;
  send();
}

$("clear").addEventListener("click", () => {
  say("");
  clearPad();
});

$("upload").addEventListener("change", () => {
  const file = $("upload").files[0];
  if (!file) return;
  if (file.size > maxBody) {
    say(`${file.name}: ${file.size.toLocaleString()} bytes, more than the ${maxBody.toLocaleString()} this page takes`);
    return;
  }
  clearPad();
  version += 1; // the upload's answer is the one to show
  preview(file);
  pending += 1;
  mark();
  ask(file, "upload", version);
});

// The photo on the pad, whole, for the person to see (the server reads the file itself).
function preview(file) {
  createImageBitmap(file)
    .then((image) => {
      const scale = Math.min(pad.width / image.width, pad.height / image.height);
      const width = image.width * scale;
      const height = image.height * scale;
      ink.drawImage(image, (pad.width - width) / 2, (pad.height - height) / 2, width, height);
    })
    .catch(() => {}); // not an image the browser shows: the server's answer says why
}

// --- the answer --------------------------------------------------------------------------

const bars = [];
for (let digit = 0; digit < 10; digit++) {
  const row = document.createElement("div");
  row.className = "bar";
  row.dataset.digit = digit;
  row.innerHTML = `<span class="label">${digit}</span><span class="track"><span class="fill"></span></span><span class="value"></span>`;
  $("bars").append(row);
  bars.push(row);
}

function forget() {
  $("digit").textContent = "?";
  $("note").textContent = "";
  for (const row of bars) {
    row.classList.remove("top");
    row.dataset.p = "";
    row.querySelector(".fill").style.width = "0";
    row.querySelector(".value").textContent = "";
  }
  $("seen").getContext("2d").clearRect(0, 0, 28, 28);
  $("layers").replaceChildren();
  $("features").replaceChildren();
}

function show(answer) {
  $("digit").textContent = answer.digit;
  $("note").textContent = answer.note || "";
  answer.probabilities.forEach((p, digit) => {
    const row = bars[digit];
    row.classList.toggle("top", digit === answer.digit);
    row.dataset.p = p;
    row.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    row.querySelector(".value").textContent = p.toFixed(3);
  });
  paint($("seen"), 28, 28, answer.pixels.map((v) => [v, v, v]));
  showLayers(answer.hidden);
  showFeatures(answer.features);
}

function paint(canvas, width, height, colours) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  colours.forEach(([r, g, b], i) => image.data.set([r, g, b, 255], 4 * i));
  context.putImageData(image, 0, 0);
}

// Activity from none (black) through red and orange to the layer's most active unit (yellow-white).
function heat(t) {
  return [Math.round(255 * Math.min(1, 2 * t)), Math.round(255 * Math.max(0, 1.6 * t - 0.6)), Math.round(255 * Math.max(0, 3 * t - 2))];
}

function showLayers(hidden) {
  const layers = hidden.map((units, index) => {
    const columns = Math.min(32, units.length);
    const rows = Math.ceil(units.length / columns);
    const top = Math.max(...units) || 1;
    const colours = Array.from({ length: columns * rows }, (_, i) => (i < units.length ? heat(units[i] / top) : [40, 40, 40]));
    const box = document.createElement("div");
    box.className = "layer";
    const canvas = document.createElement("canvas");
    paint(canvas, columns, rows, colours);
    canvas.style.width = `${columns * 10}px`;
    canvas.style.height = `${rows * 10}px`;
    const firing = units.filter((a) => a > 0).length;
    const caption = document.createElement("div");
    caption.className = "caption";
    caption.textContent = `layer ${index + 1}: ${firing} of ${units.length} units fire (most: ${top.toFixed(2)})`;
    box.append(canvas, caption);
    return box;
  });
  $("layers").replaceChildren(...layers);
}

function showFeatures(features) {
  const shown = features.map(({ unit, activation, weights }) => {
    const box = document.createElement("div");
    box.className = "feature";
    const canvas = document.createElement("canvas");
    paint(canvas, 28, 28, weights.map((w) => (w >= 0 ? [255, 255 - 2 * w, 255 - 2 * w] : [255 + 2 * w, 255 + 2 * w, 255])));
    const caption = document.createElement("div");
    caption.className = "caption";
    caption.textContent = `unit ${unit}: ${activation.toFixed(2)}`;
    box.append(canvas, caption);
    return box;
  });
  $("features").replaceChildren(...shown);
}

// --- start -------------------------------------------------------------------------------

clearPad();
forget();
fetch("/api/model")
  .then((response) => response.json())
  .then((model) => {
    $("model").textContent = `${model.model}: ${model.sizes.join("–")} (hidden layers ${model.sizes.slice(1, -1).join(", ") || "none"})`;
    maxBody = model.max_body;
    state.ready = "yes";
  })
  .catch(() => say("the server does not answer: is `make demo` still running?"));

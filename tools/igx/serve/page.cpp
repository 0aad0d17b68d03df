#include "page.h"

namespace igx_serve {

const std::string& page_html() {
  // Colours as igx's HTML report: green for evidence for the explained class, red against.
  static const std::string page = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>igx serve</title>
<style>
body { font-family: sans-serif; margin: 24px; max-width: 980px; color: #222; }
h1 { font-size: 22px; margin: 0 0 12px 0; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
textarea { width: 100%; height: 60px; font-size: 15px; }
button { font-size: 15px; margin: 6px 6px 6px 0; }
#tokens { line-height: 2.2; font-size: 20px; margin-top: 10px; }
.token { padding: 3px 4px; margin: 1px; border-radius: 3px; }
.facts { margin-top: 8px; font-size: 15px; }
.facts b { margin-right: 4px; }
.error { color: #b00; }
canvas { border: 1px solid #aaa; margin-right: 16px; touch-action: none; }
</style>
</head>
<body>
<h1>igx serve: explanations with a measured error</h1>
<section>
  <label>Text model <select id="text-model"></select></label>
  <textarea id="text" placeholder="Type a message"></textarea>
  <button id="explain-text">Explain text</button> tolerance <input id="tolerance" value="0.01" size="6">
  <div id="text-status" class="facts"></div>
  <div id="tokens"></div>
</section>
<section>
  <label>Image model <select id="image-model"></select></label>
  <div>Draw a digit, or drop an image file on the left square.</div>
  <canvas id="draw" width="280" height="280"></canvas><canvas id="heat" width="280" height="280"></canvas>
  <div><button id="explain-image">Explain digit</button><button id="clear">Clear</button>
  <input type="file" id="file" accept="image/*"></div>
  <div id="image-status" class="facts"></div>
</section>
<script>
"use strict";
const models = {text: [], image: []};
const shapes = {};

function colour(score, scale) {
  // White to green (positive) or red (negative), by |score| / scale.
  const t = scale > 0 ? Math.min(1, Math.abs(score) / scale) : 0;
  const fade = Math.round(255 * (1 - t));
  return score >= 0 ? `rgb(${fade}, ${Math.round(255 - 90 * t)}, ${fade})` : `rgb(${Math.round(255 - 40 * t)}, ${fade}, ${fade})`;
}

function facts(record) {
  const e = record.examples[0];
  const label = e.prediction_label !== undefined ? e.prediction_label : e.prediction;
  const p = e.probability !== undefined ? ` (p = ${e.probability.toFixed(3)})` : "";
  const rel = e.relative_error === null || e.relative_error === undefined ? "n/a" : (100 * e.relative_error).toFixed(3) + " %";
  const certified = e.certified === undefined ? "n/a" : (e.certified ? "yes" : "no");
  return `<span id="prediction"><b>prediction</b>${label}${p}</span> &nbsp; <span><b>delta</b>${Number(e.delta).toExponential(2)}</span>` +
         ` &nbsp; <span><b>relative error</b>${rel}</span> &nbsp; <span id="certified"><b>certified</b>${certified}</span>` +
         ` &nbsp; <span><b>steps</b>${e.steps}</span>`;
}

async function explain(model, instances, parameters) {
  const response = await fetch(`/v1/models/${encodeURIComponent(model)}:explain`, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({instances: instances, parameters: parameters})});
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body.explanations[0];
}

async function explainText() {
  const status = document.getElementById("text-status"), out = document.getElementById("tokens");
  status.textContent = "explaining...";
  out.innerHTML = "";
  try {
    const tolerance = parseFloat(document.getElementById("tolerance").value);
    const record = await explain(document.getElementById("text-model").value, [document.getElementById("text").value],
                                 {tolerance: tolerance});
    const e = record.examples[0];
    const scale = Math.max(...e.token_scores.map(Math.abs));
    e.tokens.forEach((token, i) => {
      const span = document.createElement("span");
      span.className = "token";
      span.textContent = token;
      span.title = e.token_scores[i].toPrecision(4);
      span.style.backgroundColor = colour(e.token_scores[i], scale);
      out.appendChild(span);
      out.appendChild(document.createTextNode(" "));
    });
    status.innerHTML = facts(record);
    document.body.dataset.state = "explained";
  } catch (error) {
    status.innerHTML = `<span class="error">${error.message.replace(/</g, "&lt;")}</span>`;
    document.body.dataset.state = "error";
  }
}

// Drawing: white strokes on black, as MNIST digits.
const draw = document.getElementById("draw"), pen = draw.getContext("2d");
function clearDrawing() { pen.fillStyle = "black"; pen.fillRect(0, 0, draw.width, draw.height); }
clearDrawing();
let drawing = false;
draw.addEventListener("pointerdown", (e) => { drawing = true; stroke(e); });
draw.addEventListener("pointermove", (e) => { if (drawing) stroke(e); });
window.addEventListener("pointerup", () => { drawing = false; });
function stroke(e) {
  const box = draw.getBoundingClientRect();
  pen.fillStyle = "white";
  pen.beginPath();
  pen.arc(e.clientX - box.left, e.clientY - box.top, 12, 0, 2 * Math.PI);
  pen.fill();
}
function showImage(file) {
  const image = new Image();
  image.onload = () => { clearDrawing(); pen.drawImage(image, 0, 0, draw.width, draw.height); };
  image.src = URL.createObjectURL(file);
}
draw.addEventListener("dragover", (e) => e.preventDefault());
draw.addEventListener("drop", (e) => { e.preventDefault(); if (e.dataTransfer.files[0]) showImage(e.dataTransfer.files[0]); });
document.getElementById("file").addEventListener("change", (e) => { if (e.target.files[0]) showImage(e.target.files[0]); });
document.getElementById("clear").addEventListener("click", clearDrawing);

async function explainImage() {
  const status = document.getElementById("image-status");
  const model = document.getElementById("image-model").value;
  const [channels, height, width] = shapes[model];
  const small = document.createElement("canvas");
  small.width = width; small.height = height;
  const context = small.getContext("2d");
  context.drawImage(draw, 0, 0, width, height);
  const data = context.getImageData(0, 0, width, height).data;
  const pixels = [];
  for (let c = 0; c < channels; ++c) {
    const plane = [];
    for (let y = 0; y < height; ++y) {
      const row = [];
      for (let x = 0; x < width; ++x) {
        const i = 4 * (y * width + x);
        row.push(channels === 1 ? (0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2]) / 255 : data[i + c] / 255);
      }
      plane.push(row);
    }
    pixels.push(plane);
  }
  status.textContent = "explaining...";
  try {
    const record = await explain(model, [pixels], {tolerance: parseFloat(document.getElementById("tolerance").value)});
    const values = record.examples[0].attributions;  // [C][H][W]
    const heat = document.getElementById("heat").getContext("2d");
    let scale = 0;
    for (const plane of values) for (const row of plane) for (const v of row) scale = Math.max(scale, Math.abs(v));
    const cell = 280 / width;
    for (let y = 0; y < height; ++y) {
      for (let x = 0; x < width; ++x) {
        let sum = 0;
        for (const plane of values) sum += plane[y][x];
        heat.fillStyle = colour(sum, scale);
        heat.fillRect(x * cell, y * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
    status.innerHTML = facts(record);
  } catch (error) {
    status.innerHTML = `<span class="error">${error.message.replace(/</g, "&lt;")}</span>`;
  }
}

document.getElementById("explain-text").addEventListener("click", explainText);
document.getElementById("explain-image").addEventListener("click", explainImage);

async function start() {
  const names = (await (await fetch("/v1/models")).json()).models;
  for (const name of names) {
    const metadata = await (await fetch(`/v2/models/${encodeURIComponent(name)}`)).json();
    const modality = metadata.parameters.modality;
    if (modality === "image") shapes[name] = metadata.inputs[0].shape.slice(1);
    if (modality !== "text" && modality !== "image") continue;
    const option = document.createElement("option");
    option.textContent = name;
    document.getElementById(modality + "-model").appendChild(option);
  }
  // /?model=NAME&text=...: explain that text now.
  const query = new URLSearchParams(location.search);
  if (query.get("model")) document.getElementById("text-model").value = query.get("model");
  if (query.get("text")) {
    document.getElementById("text").value = query.get("text");
    await explainText();
  }
}
start();
</script>
</body>
</html>
)HTML";
  return page;
}

}  // namespace igx_serve

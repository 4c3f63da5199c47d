// The heap map page: HEAP (written by holeheap map) holds frames, each the
// spans that changed since the frame before; the slider picks a frame and the
// canvas redraws the heap as it was then. Bytes run left to right in rows of
// equal length, so each span's area is in proportion to its bytes.
"use strict";
(function () {
  const ROWS = 48, ROW_H = 14, GAP = 2, WIDTH = 960, LEFT = 0;
  const KIND = ["control", "block", "hole"];
  const FILL = { control: "#7f7f7f", hole: "#f2b63d", block: ["#2f6db5", "#5b95d9"] };
  const data = HEAP;
  const rowBytes = Math.max(1, Math.ceil(data.extent / ROWS));
  const rows = Math.max(1, Math.ceil(data.extent / rowBytes));
  const scale = WIDTH / rowBytes;
  const canvas = document.getElementById("map");
  const slider = document.getElementById("slider");
  const label = document.getElementById("call");
  const stats = document.getElementById("stats");
  const tip = document.getElementById("tip");
  const live = new Map(); // offset -> span
  let shown = -1, sorted = [];

  function bytes(n) {
    const units = ["bytes", "KiB", "MiB", "GiB"];
    let u = 0, v = n;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return u === 0 ? n + " bytes" : (v < 10 ? v.toFixed(1) : v.toFixed(0)) + " " + units[u];
  }

  function apply(frame) {
    for (const offset of frame.del) live.delete(offset);
    for (const s of frame.add)
      live.set(s[0], { offset: s[0], size: s[1], kind: KIND[s[2]], call: s[3], requested: s[4], traced: s[5] });
  }

  // Replay the frames' changes up to frame k (from the start when going back).
  function seek(k) {
    if (k < shown) { live.clear(); shown = -1; }
    for (let i = shown + 1; i <= k; i++) apply(data.frames[i]);
    shown = k;
    sorted = Array.from(live.values()).sort((a, b) => a.offset - b.offset);
  }

  // One rectangle per row the span covers; a wide hole is labelled with its size once.
  function drawSpan(ctx, s, index) {
    let at = s.offset, labelled = false;
    const end = s.offset + s.size;
    while (at < end) {
      const row = Math.floor(at / rowBytes), rowEnd = (row + 1) * rowBytes;
      const piece = Math.min(end, rowEnd) - at;
      const x = LEFT + (at - row * rowBytes) * scale, y = row * (ROW_H + GAP), w = piece * scale;
      ctx.fillStyle = s.kind === "block" ? FILL.block[index % 2] : FILL[s.kind];
      ctx.fillRect(x, y, Math.max(w, 0.5), ROW_H);
      if (s.kind === "hole" && w >= 64 && !labelled) {
        labelled = true;
        ctx.fillStyle = "#000";
        ctx.fillText(bytes(s.size), x + w / 2, y + ROW_H - 3.5);
      }
      at += piece;
    }
  }

  function draw() {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = WIDTH * ratio;
    canvas.height = rows * (ROW_H + GAP) * ratio;
    canvas.style.width = WIDTH + "px";
    canvas.style.height = rows * (ROW_H + GAP) + "px";
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    ctx.clearRect(0, 0, WIDTH, rows * (ROW_H + GAP));
    sorted.forEach((s, i) => drawSpan(ctx, s, i));
  }

  function describe(frame) {
    return "after call " + frame.call + " of " + data.calls + ": " + frame.blocks + " blocks, " +
      bytes(frame.live) + " live; " + frame.holes + " free spans; span " + bytes(frame.span) +
      ". Each row is " + bytes(rowBytes) + "; drawn up to offset " + data.extent + ".";
  }

  function show(k) {
    seek(k);
    draw();
    const frame = data.frames[k];
    label.textContent = "call " + frame.call + " of " + data.calls;
    stats.textContent = describe(frame);
    tip.hidden = true;
  }

  function spanAt(offset) {
    let lo = 0, hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid].offset + sorted[mid].size <= offset) lo = mid + 1; else hi = mid;
    }
    return lo < sorted.length && sorted[lo].offset <= offset ? sorted[lo] : null;
  }

  function hover(event) {
    const box = canvas.getBoundingClientRect();
    const x = event.clientX - box.left, y = event.clientY - box.top;
    const row = Math.floor(y / (ROW_H + GAP));
    const s = x >= 0 && x < WIDTH && row >= 0 && row < rows && y - row * (ROW_H + GAP) < ROW_H ?
      spanAt(row * rowBytes + Math.floor(x / scale)) : null;
    if (s === null) { tip.hidden = true; return; }
    tip.textContent = s.kind === "block"
      ? "block at offset 0x" + s.offset.toString(16) + " (traced " + s.traced + "): " + s.size +
        " bytes, " + s.requested + " asked for; allocated by call " + s.call
      : s.kind + " at offset 0x" + s.offset.toString(16) + ": " + bytes(s.size);
    tip.style.left = (event.pageX + 12) + "px";
    tip.style.top = (event.pageY + 12) + "px";
    tip.hidden = false;
  }

  slider.max = String(data.frames.length - 1);
  slider.value = String(data.start);
  slider.addEventListener("input", () => show(Number(slider.value)));
  canvas.addEventListener("mousemove", hover);
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  document.addEventListener("keydown", (e) => {
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (step === 0 || e.target === slider) return;
    slider.value = String(Math.min(data.frames.length - 1, Math.max(0, Number(slider.value) + step)));
    show(Number(slider.value));
  });
  show(data.start);
})();

// What the training page draws: the loss and accuracy charts, images of filters and
// activation maps, the grid of test digits and the probability bars. Plain canvas 2D.

const INK = '#1d2330';
const MUTED = '#8a93a3';
const LINE = '#e6e9ef';
const TRAIN = '#2f6fd6';
const VAL = '#d9731a';

/** Draws values (row-major, width × height) into a canvas of that size as grey levels, lo → black, hi → white. */
export function drawGrey(canvas, values, width, height, lo = 0, hi = 1) {
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(width, height);
  const span = hi > lo ? hi - lo : 1;
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, Math.min(255, Math.round((255 * (values[i] - lo)) / span)));
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** Keeps exactly `count` canvases in `container` (adding or removing at the end); returns them. */
export function canvases(container, count) {
  while (container.children.length > count) container.lastChild.remove();
  while (container.children.length < count) container.append(document.createElement('canvas'));
  return [...container.children];
}

/** Chart frame: axes, grid lines and tick labels; returns { ctx, x(v), y(v) } mapping values to pixels. */
function frame(canvas, { xMax, yMin, yMax, yTicks, xLabel, format }) {
  const ctx = canvas.getContext('2d');
  const W = canvas.width, H = canvas.height;
  const m = { l: 44, r: 12, t: 10, b: 30 };
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  const x = (v) => m.l + ((W - m.l - m.r) * v) / Math.max(xMax, 1);
  const y = (v) => H - m.b - ((H - m.t - m.b) * (v - yMin)) / (yMax - yMin);
  ctx.strokeStyle = LINE;
  ctx.fillStyle = MUTED;
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of yTicks) {
    ctx.beginPath();
    ctx.moveTo(m.l, Math.round(y(t)) + 0.5);
    ctx.lineTo(W - m.r, Math.round(y(t)) + 0.5);
    ctx.stroke();
    ctx.fillText(format(t), m.l - 6, y(t));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText(xLabel, (m.l + W - m.r) / 2, H - m.b + 14);
  ctx.fillText('0', x(0), H - m.b + 3);
  ctx.fillText(String(xMax), x(xMax), H - m.b + 3);
  ctx.strokeStyle = MUTED;
  ctx.beginPath();
  ctx.moveTo(m.l + 0.5, m.t);
  ctx.lineTo(m.l + 0.5, H - m.b + 0.5);
  ctx.lineTo(W - m.r, H - m.b + 0.5);
  ctx.stroke();
  return { ctx, x, y };
}

function polyline(ctx, points, color, width) {
  if (points.length === 0) return;
  ctx.strokeStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  points.forEach(([px, py], i) => (i === 0 ? ctx.moveTo(px, py) : ctx.lineTo(px, py)));
  ctx.stroke();
}

/** The running mean of losses (exponential, 0.9), the curve drawn over the raw losses. */
export function smooth(losses) {
  const out = [];
  let s = null;
  for (const l of losses) out.push((s = s === null ? l : 0.9 * s + 0.1 * l));
  return out;
}

/** Loss per iteration (1-based) over [0, numIterations]. */
export function drawLoss(canvas, losses, numIterations) {
  const smoothed = smooth(losses);
  const top = Math.max(0.5, ...smoothed) * 1.1;
  const yMax = Math.ceil(top * 2) / 2;
  const step = yMax > 3 ? 1 : 0.5;
  const yTicks = Array.from({ length: Math.floor(yMax / step) + 1 }, (_, i) => i * step);
  const { ctx, x, y } = frame(canvas, { xMax: numIterations, yMin: 0, yMax, yTicks, xLabel: 'iteration', format: (t) => t.toFixed(1) });
  const clip = (v) => y(Math.min(v, yMax));
  polyline(ctx, losses.map((l, i) => [x(i + 1), clip(l)]), '#b9c8e6', 1);
  polyline(ctx, smoothed.map((l, i) => [x(i + 1), clip(l)]), INK, 2);
}

/** Training and validation accuracy at each check ({ iteration, trainAcc, valAcc }). */
export function drawAccuracy(canvas, checks, numIterations) {
  const yTicks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const { ctx, x, y } = frame(canvas, { xMax: numIterations, yMin: 0, yMax: 1, yTicks, xLabel: 'iteration', format: (t) => `${Math.round(t * 100)}%` });
  // A dashed line at 90%.
  ctx.strokeStyle = MUTED;
  ctx.lineWidth = 1;
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(x(0), Math.round(y(0.9)) + 0.5);
  ctx.lineTo(x(numIterations), Math.round(y(0.9)) + 0.5);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.fillStyle = MUTED;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'bottom';
  ctx.fillText('90%', x(0) + 4, y(0.9) - 2);
  for (const [key, color] of [['trainAcc', TRAIN], ['valAcc', VAL]]) {
    const points = checks.map((c) => [x(c.iteration), y(c[key])]);
    polyline(ctx, points, color, 2);
    ctx.fillStyle = color;
    for (const [px, py] of points) {
      ctx.beginPath();
      ctx.arc(px, py, 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
}

/** Ten rows: the class, a bar and the probability in %; the highest in bold. */
export function drawProbabilities(container, probs) {
  if (container.children.length !== 30) {
    container.replaceChildren();
    for (let c = 0; c < 10; c++) {
      const label = document.createElement('span');
      label.textContent = String(c);
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.append(document.createElement('div'));
      const value = document.createElement('span');
      value.dataset.prob = String(c);
      container.append(label, bar, value);
    }
  }
  const best = probs ? probs.indexOf(Math.max(...probs)) : -1;
  for (let c = 0; c < 10; c++) {
    const [label, bar, value] = [...container.children].slice(3 * c, 3 * c + 3);
    const p = probs ? probs[c] : 0;
    bar.firstChild.style.width = `${(100 * p).toFixed(1)}%`;
    value.textContent = probs ? `${(100 * p).toFixed(1)}%` : '–';
    for (const el of [label, value]) el.classList.toggle('top', c === best);
  }
}

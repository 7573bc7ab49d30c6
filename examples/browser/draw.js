// A drawing pad for the training page (pointer events: mouse, pen and touch) and the
// preprocessing that turns a drawing into an MNIST-like input: the ink's bounding box is
// scaled, keeping its aspect ratio, to fit a 20x20 box (area averaging, so thin strokes
// become grey rather than disappear), then placed in a 28x28 field so that its centre of
// mass is at the centre, as the MNIST digits were made. Values are in [0, 1].

export const SIDE = 28;
const BOX = 20;

/** The ink of a canvas drawn white on black, one value in [0, 1] per pixel (the red channel). */
export function inkOf(canvas) {
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  const ink = new Float64Array(canvas.width * canvas.height);
  for (let i = 0; i < ink.length; i++) ink[i] = data[4 * i] / 255;
  return ink;
}

/** The 28x28 input (Float64Array, row-major) for ink of width × height, or null when nothing is drawn. */
export function toMnist(ink, width, height) {
  let [x0, y0, x1, y1] = [width, height, -1, -1];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (ink[y * width + x] > 0) {
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      }
    }
  }
  if (x1 < 0) return null;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const scale = BOX / Math.max(w, h);
  const bw = Math.max(1, Math.round(w * scale));
  const bh = Math.max(1, Math.round(h * scale));
  const box = areaResize(ink, width, x0, y0, w, h, bw, bh);

  // The centre of mass of the box, then the integer shift that puts it at the field's centre.
  let mass = 0, mx = 0, my = 0;
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const v = box[y * bw + x];
      mass += v; mx += v * (x + 0.5); my += v * (y + 0.5);
    }
  }
  const dx = Math.round(SIDE / 2 - mx / mass);
  const dy = Math.round(SIDE / 2 - my / mass);
  const out = new Float64Array(SIDE * SIDE);
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const X = x + dx, Y = y + dy;
      if (X >= 0 && X < SIDE && Y >= 0 && Y < SIDE) out[Y * SIDE + X] = Math.min(1, box[y * bw + x]);
    }
  }
  return out;
}

/** The w × h region at (x0, y0) of `src` (rows of `stride`) resized to bw × bh by area averaging. */
function areaResize(src, stride, x0, y0, w, h, bw, bh) {
  const out = new Float64Array(bw * bh);
  const sx = w / bw, sy = h / bh;
  for (let by = 0; by < bh; by++) {
    const top = by * sy, bottom = top + sy;
    for (let bx = 0; bx < bw; bx++) {
      const left = bx * sx, right = left + sx;
      let sum = 0;
      for (let y = Math.floor(top); y < Math.min(h, Math.ceil(bottom)); y++) {
        const cy = Math.min(bottom, y + 1) - Math.max(top, y);
        for (let x = Math.floor(left); x < Math.min(w, Math.ceil(right)); x++) {
          const cx = Math.min(right, x + 1) - Math.max(left, x);
          sum += cx * cy * src[(y0 + y) * stride + x0 + x];
        }
      }
      out[by * bw + bx] = sum / (sx * sy);
    }
  }
  return out;
}

/**
 * Makes `canvas` a drawing pad: white strokes on black, `onChange()` after each stroke segment
 * (at most once per frame) and after clear(). Returns { clear }.
 */
export function drawingPad(canvas, onChange) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  const clear = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    onChange();
  };
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = canvas.width / 12;
  let last = null;
  let pending = false;
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * (canvas.width / r.width), (e.clientY - r.top) * (canvas.height / r.height)];
  };
  const changed = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; onChange(); });
  };
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    last = point(e);
    ctx.beginPath();
    ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fillStyle = '#fff';
    ctx.fill();
    changed();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (last === null) return;
    const p = point(e);
    ctx.beginPath();
    ctx.moveTo(last[0], last[1]);
    ctx.lineTo(p[0], p[1]);
    ctx.stroke();
    last = p;
    changed();
  });
  const end = () => { last = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  clear();
  return { clear };
}

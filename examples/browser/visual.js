// The "what a convolution does" section: a picture drawn on a canvas, eight 3x3 filters,
// and the maps that convcore's convForward → reluForward → maxPoolForward make of it.

const SIZE = 128;
const SCALE = 1.5; // CSS pixels per map pixel, for the activation and the pooled maps alike

/** A small scene with edges in every direction, flat areas, curves and a fine texture. */
function drawPicture(ctx) {
  const sky = ctx.createLinearGradient(0, 0, 0, 80);
  sky.addColorStop(0, '#3b7dd8');
  sky.addColorStop(1, '#bfe0ff');
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, SIZE, SIZE);
  ctx.fillStyle = '#ffd23f'; // sun
  ctx.beginPath();
  ctx.arc(100, 24, 13, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#5a9e4b'; // hills
  ctx.beginPath();
  ctx.moveTo(0, 86);
  ctx.quadraticCurveTo(30, 58, 64, 80);
  ctx.quadraticCurveTo(96, 96, 128, 70);
  ctx.lineTo(128, 128);
  ctx.lineTo(0, 128);
  ctx.fill();
  ctx.fillStyle = '#c8553d'; // house
  ctx.fillRect(22, 72, 40, 32);
  ctx.fillStyle = '#4a2c2a'; // roof
  ctx.beginPath();
  ctx.moveTo(16, 73);
  ctx.lineTo(42, 50);
  ctx.lineTo(68, 73);
  ctx.fill();
  ctx.fillStyle = '#fff3c4'; // windows and door
  ctx.fillRect(28, 78, 10, 9);
  ctx.fillRect(46, 78, 10, 9);
  ctx.fillStyle = '#3d2417';
  ctx.fillRect(37, 91, 9, 13);
  ctx.fillStyle = '#6b4226'; // tree
  ctx.fillRect(92, 78, 6, 22);
  ctx.fillStyle = '#2f6b2f';
  ctx.beginPath();
  ctx.arc(95, 70, 14, 0, 2 * Math.PI);
  ctx.fill();
  ctx.strokeStyle = '#f4f1e8'; // a fence: thin vertical and diagonal strokes
  ctx.lineWidth = 1.5;
  for (let x = 4; x < 124; x += 6) {
    ctx.beginPath();
    ctx.moveTo(x, 112);
    ctx.lineTo(x, 124);
    ctx.stroke();
  }
  ctx.beginPath();
  ctx.moveTo(0, 116);
  ctx.lineTo(128, 116);
  ctx.moveTo(0, 121);
  ctx.lineTo(128, 121);
  ctx.stroke();
}

/** Luminance in [0, 1] of the canvas, as a (1,1,SIZE,SIZE) tensor. */
function luminance(cc, ctx) {
  const rgba = ctx.getImageData(0, 0, SIZE, SIZE).data;
  const data = new Float64Array(SIZE * SIZE);
  for (let i = 0; i < data.length; i++) {
    data[i] = (0.2126 * rgba[4 * i] + 0.7152 * rgba[4 * i + 1] + 0.0722 * rgba[4 * i + 2]) / 255;
  }
  return cc.tensor(data, [1, 1, SIZE, SIZE]);
}

const FIXED = [
  { name: 'vertical edges (Sobel x)', k: [-1, 0, 1, -2, 0, 2, -1, 0, 1] },
  { name: 'horizontal edges (Sobel y)', k: [-1, -2, -1, 0, 0, 0, 1, 2, 1] },
  { name: 'diagonal edges', k: [0, 1, 2, -1, 0, 1, -2, -1, 0] },
  { name: 'outline (Laplacian)', k: [-1, -1, -1, -1, 8, -1, -1, -1, -1] },
  { name: 'box blur', k: Array(9).fill(1 / 9) },
  { name: 'sharpen', k: [0, -1, 0, -1, 5, -1, 0, -1, 0] },
];

/** Nine normal weights rounded to 0.01; `uniform` gives numbers in [0, 1). */
function randomFilter(uniform) {
  const gauss = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return Array.from({ length: 9 }, () => Math.round(gauss() * 100) / 100);
}

/** mulberry32: the first random filters are the same on every load (and in docs/demo.png). */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** viridis, as a polynomial fit (Matt Zucker): t in [0, 1] → [r, g, b] in [0, 255]. */
function viridis(t) {
  const c = [
    [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
    [0.1050930431085774, 1.404613529898575, 1.384590162594685],
    [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
    [-4.634230498983486, -5.799100973351585, -19.33244095627987],
    [6.228269936347081, 14.17993336680509, 56.69055260068105],
    [4.776384997670288, -13.74514537774601, -65.35303263337234],
    [-5.435455855934631, 4.645852612178535, 26.3124352495832],
  ];
  return [0, 1, 2].map((j) => {
    let v = c[6][j];
    for (let i = 5; i >= 0; i--) v = v * t + c[i][j];
    return Math.round(255 * Math.min(1, Math.max(0, v)));
  });
}
const LUT = Array.from({ length: 256 }, (_, i) => viridis(i / 255));

/** Draws channel f of a (1,F,H,W) tensor, scaled by `max`, into a new canvas. */
function mapCanvas(t, f, max) {
  const [, , H, W] = t.shape;
  const canvas = document.createElement('canvas');
  canvas.width = W;
  canvas.height = H;
  canvas.style.width = `${W * SCALE}px`;
  canvas.style.height = `${H * SCALE}px`;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(W, H);
  const off = f * H * W;
  for (let i = 0; i < H * W; i++) {
    const [r, g, b] = LUT[Math.round(255 * Math.min(1, t.data[off + i] / max))];
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** The 3x3 weights as a small table, blue for negative and red for positive. */
function kernelTable(k) {
  const table = document.createElement('table');
  table.className = 'kernel';
  const m = Math.max(...k.map(Math.abs)) || 1;
  for (let i = 0; i < 3; i++) {
    const row = table.insertRow();
    for (let j = 0; j < 3; j++) {
      const v = k[3 * i + j];
      const cell = row.insertCell();
      const a = Math.abs(v) / m;
      cell.style.background = v >= 0 ? `rgba(214, 69, 65, ${0.85 * a})` : `rgba(52, 101, 164, ${0.85 * a})`;
      cell.style.color = a > 0.6 ? '#fff' : '#222';
      cell.textContent = Number.isInteger(v) ? String(v) : v.toFixed(2).replace(/^(-?)0\./, '$1.');
    }
  }
  return table;
}

function figure(content, caption) {
  const fig = document.createElement('figure');
  const cap = document.createElement('figcaption');
  cap.textContent = caption;
  fig.append(content, cap);
  return fig;
}

/**
 * The value drawn at full brightness: the 99.5th percentile of the map, so that a handful of
 * extreme pixels do not leave the rest of the map dark (larger values are clipped).
 */
function brightest(plane) {
  const sorted = Float64Array.from(plane).sort();
  const p = sorted[Math.floor(0.995 * (sorted.length - 1))];
  return p > 0 ? p : Math.max(sorted[sorted.length - 1], 1e-12);
}

/** Runs the stack on the picture and draws one card per filter. */
function render(cc, x, filters) {
  const F = filters.length;
  const w = cc.tensor(filters.flatMap((f) => f.k), [F, 1, 3, 3]);
  const b = cc.tensor(new Float64Array(F), [F]);
  let act, pooled;
  let ms = Infinity;
  for (let rep = 0; rep < 3; rep++) { // the best of three: the first call also pays for compilation
    const t = performance.now();
    act = cc.reluForward(cc.convForward(x, w, b, { stride: 1, pad: 0 }).out).out;
    pooled = cc.maxPoolForward(act, { poolHeight: 2, poolWidth: 2, stride: 2 }).out;
    ms = Math.min(ms, performance.now() - t);
  }
  const cards = filters.map((f, i) => {
    const n = act.shape[2] * act.shape[3];
    const plane = act.data.subarray(i * n, (i + 1) * n);
    const max = brightest(plane);
    const card = document.createElement('div');
    card.className = 'card';
    const title = document.createElement('h3');
    title.textContent = f.name;
    const row = document.createElement('div');
    row.className = 'card-row';
    row.append(
      figure(kernelTable(f.k), '3×3 filter'),
      figure(mapCanvas(act, i, max), `activation ${act.shape[2]}×${act.shape[3]}`),
      figure(mapCanvas(pooled, i, max), `max-pooled ${pooled.shape[2]}×${pooled.shape[3]}`),
    );
    card.append(title, row);
    return card;
  });
  document.getElementById('maps').replaceChildren(...cards);
  document.getElementById('visual-time').textContent =
    `convForward (1,1,128,128) × (8,1,3,3) → reluForward → maxPoolForward (2×2, stride 2): ${ms.toFixed(1)} ms in convcore.`;
}

export function setupVisual(cc) {
  const ctx = document.getElementById('picture').getContext('2d', { willReadFrequently: true });
  drawPicture(ctx);
  const x = luminance(cc, ctx);
  const filters = (uniform) => [...FIXED, { name: 'random', k: randomFilter(uniform) }, { name: 'random', k: randomFilter(uniform) }];
  render(cc, x, filters(seeded(1)));
  const reroll = document.getElementById('reroll');
  reroll.disabled = false;
  reroll.addEventListener('click', () => render(cc, x, filters(Math.random)));
}

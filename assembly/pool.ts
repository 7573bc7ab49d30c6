// Pooling over each of the NC planes of x (N,C,H,W); no padding, H2 = (H - PHt)/SH + 1.

// x (NC,H,W) -> out (NC,H2,W2), argmax (NC,H2,W2): index within the plane of the first
// maximum of each window in row-major window order (a strict > keeps the first).
export function maxpool_forward(x: usize, out: usize, argmax: usize, NC: i32, H: i32, W: i32,
  PHt: i32, PWd: i32, SH: i32, SW: i32, H2: i32, W2: i32): void {
  const HW = H * W;
  let o = out;
  let a = argmax;
  if (PHt == 2 && PWd == 2) {
    // The common 2x2 window, unrolled: four loads, the first maximum kept.
    for (let p = 0; p < NC; p++) {
      const xp = x + (<usize>(p * HW) << 3);
      for (let h2 = 0; h2 < H2; h2++) {
        const r0 = h2 * SH * W;
        for (let w2 = 0; w2 < W2; w2++) {
          let idx = r0 + w2 * SW;
          const p0 = xp + (<usize>idx << 3);
          let m = load<f64>(p0);
          let v = load<f64>(p0, 8);
          if (v > m) { m = v; idx = r0 + w2 * SW + 1; }
          v = load<f64>(p0 + (<usize>W << 3));
          if (v > m) { m = v; idx = r0 + W + w2 * SW; }
          v = load<f64>(p0 + (<usize>W << 3), 8);
          if (v > m) { m = v; idx = r0 + W + w2 * SW + 1; }
          store<f64>(o, m);
          store<i32>(a, idx);
          o += 8;
          a += 4;
        }
      }
    }
    return;
  }
  for (let p = 0; p < NC; p++) {
    const xp = x + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const first = h2 * SH * W + w2 * SW;
        let best = first;
        let m = load<f64>(xp + (<usize>first << 3));
        for (let i = 0; i < PHt; i++) {
          const r = first + i * W;
          for (let j = 0; j < PWd; j++) {
            const v = load<f64>(xp + (<usize>(r + j) << 3));
            if (v > m) { m = v; best = r + j; }
          }
        }
        store<f64>(o, m);
        store<i32>(a, best);
        o += 8;
        a += 4;
      }
    }
  }
}

// dout (NC,H2,W2), argmax (NC,H2,W2) -> dx (NC,H,W): each dout goes to its window's
// first argmax, accumulating where windows overlap. When windows tile the plane
// exactly (stride = window, H and W multiples of it) every dx entry is written once,
// so the plane is written without being zeroed first.
export function maxpool_backward(dout: usize, argmax: usize, dx: usize, NC: i32, H: i32, W: i32,
  PHt: i32, PWd: i32, SH: i32, SW: i32, H2: i32, W2: i32): void {
  const HW = H * W;
  const tiles = SH == PHt && SW == PWd && H2 * PHt == H && W2 * PWd == W;
  let d = dout;
  let a = argmax;
  if (tiles && PHt == 2 && PWd == 2) {
    for (let p = 0; p < NC; p++) {
      const dxp = dx + (<usize>(p * HW) << 3);
      for (let h2 = 0; h2 < H2; h2++) {
        const r0 = h2 * 2 * W;
        for (let w2 = 0; w2 < W2; w2++) {
          const base = r0 + w2 * 2;
          const g = load<f64>(d);
          const k = load<i32>(a);
          const q0 = dxp + (<usize>base << 3);
          const q1 = q0 + (<usize>W << 3);
          store<f64>(q0, k == base ? g : 0.0);
          store<f64>(q0, k == base + 1 ? g : 0.0, 8);
          store<f64>(q1, k == base + W ? g : 0.0);
          store<f64>(q1, k == base + W + 1 ? g : 0.0, 8);
          d += 8;
          a += 4;
        }
      }
    }
    return;
  }
  memory.fill(dx, 0, <usize>(NC * HW) << 3);
  for (let p = 0; p < NC; p++) {
    const dxp = dx + (<usize>(p * HW) << 3);
    const n = H2 * W2;
    for (let q = 0; q < n; q++) {
      const t = dxp + (<usize>load<i32>(a) << 3);
      store<f64>(t, load<f64>(t) + load<f64>(d));
      d += 8;
      a += 4;
    }
  }
}

// x (NC,H,W) -> out (NC,H2,W2): the mean of each window.
export function avgpool_forward(x: usize, out: usize, NC: i32, H: i32, W: i32,
  PHt: i32, PWd: i32, SH: i32, SW: i32, H2: i32, W2: i32): void {
  const HW = H * W;
  const scale = 1.0 / <f64>(PHt * PWd);
  let o = out;
  for (let p = 0; p < NC; p++) {
    const xp = x + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const first = h2 * SH * W + w2 * SW;
        let s = 0.0;
        for (let i = 0; i < PHt; i++) {
          const r = xp + (<usize>(first + i * W) << 3);
          for (let j = 0; j < PWd; j++) s += load<f64>(r + (<usize>j << 3));
        }
        store<f64>(o, s * scale);
        o += 8;
      }
    }
  }
}

// dout (NC,H2,W2) -> dx (NC,H,W): each dout spread evenly over its window, accumulating.
export function avgpool_backward(dout: usize, dx: usize, NC: i32, H: i32, W: i32,
  PHt: i32, PWd: i32, SH: i32, SW: i32, H2: i32, W2: i32): void {
  const HW = H * W;
  const scale = 1.0 / <f64>(PHt * PWd);
  memory.fill(dx, 0, <usize>(NC * HW) << 3);
  let d = dout;
  for (let p = 0; p < NC; p++) {
    const dxp = dx + (<usize>(p * HW) << 3);
    for (let h2 = 0; h2 < H2; h2++) {
      for (let w2 = 0; w2 < W2; w2++) {
        const g = load<f64>(d) * scale;
        const first = h2 * SH * W + w2 * SW;
        for (let i = 0; i < PHt; i++) {
          const r = dxp + (<usize>(first + i * W) << 3);
          for (let j = 0; j < PWd; j++) {
            const t = r + (<usize>j << 3);
            store<f64>(t, load<f64>(t) + g);
          }
        }
        d += 8;
      }
    }
  }
}

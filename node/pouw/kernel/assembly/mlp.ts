/**
 * The SIMD training kernel (AssemblyScript, compiled to node/pouw/kernel/mlp-simd.wasm
 * by `npm run build:kernel`). It computes exactly what the reference kernel
 * (node/pouw/kernel/mlp.ts) computes, bit for bit: every output element's sum
 * runs over its reduction index in the reference's order, products and sums
 * are separate f32 operations (no FMA, no relaxed SIMD), and exp/log are the
 * op-for-op sequences of node/pouw/kernel/f32.ts.
 *
 * All three matrix products are one strided routine, `gemm`:
 *   C[r][c] = init + Σ_{k ascending} A(r, k)·B(k, c),  A(r, k) = a[r·ars + k·aks],  B(k, c) = b[k·bks + c]
 * vectorised across 4 consecutive outputs c (one f32x4 lane each), with
 * register tiles of 4 rows × 2 vectors, then 1-row tiles, then scalar
 * columns for widths not divisible by 4. Tiling across outputs leaves every
 * element's own sum order untouched.
 *   forward   r = sample, c = output j, k = input i   (init: the bias; ReLU on store)
 *   backprop  r = sample, c = input i,  k = output j  (B = Wᵀ, transposed by `transpose`; masked by input > 0)
 *   weights   r = input i, c = output j, k = sample   (init +0; the momentum update fused into the store)
 * The caller (node/pouw/kernel/simd.ts) owns the memory layout and passes pointers.
 */

// ---- exp and log, mirroring f32.ts ----

const LOG2E: f32 = <f32>1.4426950408889634;
const LN2_HI: f32 = <f32>0.693145751953125;
const LN2_LO: f32 = <f32>1.4286067653302226e-6;
const EXP_C0: f32 = <f32>(1.0 / 720.0);
const EXP_C1: f32 = <f32>(1.0 / 120.0);
const EXP_C2: f32 = <f32>(1.0 / 24.0);
const EXP_C3: f32 = <f32>(1.0 / 6.0);
const EXP_C4: f32 = <f32>0.5;
const EXP_C5: f32 = <f32>1.0;
const EXP_C6: f32 = <f32>1.0;
const EXP_MIN: f32 = -87.0;
const EXP_MAX: f32 = 88.0;

const LN2: f32 = <f32>0.6931471805599453;
const SQRT_HALF: f32 = <f32>0.7071067811865476;
const LOG_C0: f32 = <f32>(1.0 / 9.0);
const LOG_C1: f32 = <f32>(1.0 / 7.0);
const LOG_C2: f32 = <f32>(1.0 / 5.0);
const LOG_C3: f32 = <f32>(1.0 / 3.0);
const LOG_C4: f32 = <f32>1.0;

/** e^x: clamp to [-87, 88], n = floor(x·log2e + 0.5), Cody–Waite reduction, degree-6 Horner, × 2^n. NaN stays NaN. */
export function expf(x: f32): f32 {
  if (x != x) return x;
  if (x < EXP_MIN) x = EXP_MIN;
  else if (x > EXP_MAX) x = EXP_MAX;
  const n: f32 = Mathf.floor(x * LOG2E + <f32>0.5);
  const r: f32 = x - n * LN2_HI - n * LN2_LO;
  let p: f32 = EXP_C0;
  p = p * r + EXP_C1;
  p = p * r + EXP_C2;
  p = p * r + EXP_C3;
  p = p * r + EXP_C4;
  p = p * r + EXP_C5;
  p = p * r + EXP_C6;
  // n is in [-126, 127]: 2^n is a normal float32, built from its exponent bits.
  const pow2 = reinterpret<f32>((<i32>n + 127) << 23);
  return p * pow2;
}

/** ln x: x = m·2^e, m in [√½, √2), 2·atanh((m − 1)/(m + 1)) by an odd series to s^9. */
export function logf(x: f32): f32 {
  const bits = reinterpret<i32>(x);
  let e: i32 = ((bits >>> 23) & 0xff) - 127;
  let m = reinterpret<f32>((bits & 0x007fffff) | 0x3f800000);
  if (m > <f32>2.0 * SQRT_HALF) {
    m = m * <f32>0.5;
    e += 1;
  }
  const s: f32 = (m - <f32>1.0) / (m + <f32>1.0);
  const s2: f32 = s * s;
  let p: f32 = LOG_C0;
  p = p * s2 + LOG_C1;
  p = p * s2 + LOG_C2;
  p = p * s2 + LOG_C3;
  p = p * s2 + LOG_C4;
  const logM: f32 = (<f32>2.0 * s) * p;
  return <f32>e * LN2 + logM;
}

// ---- gemm ----

/** Store C (= acc) into out. */
export const MODE_STORE: i32 = 0;
/** Store max-style ReLU: acc > 0 ? acc : +0 (NaN becomes +0, as in the reference). */
export const MODE_RELU: i32 = 1;
/** Backprop: acc where aux (the layer's input) > 0, else +0. */
export const MODE_MASK: i32 = 2;
/** Weights: acc is the gradient; v = μ·v + g, w = w − η·v into out (params) and aux (velocity). */
export const MODE_UPDATE: i32 = 3;

let lrS: f32 = 0;
let muS: f32 = 0;
let finite: i32 = 1;

/** Learning rate and momentum (float32) for the updates of the next step; clears the finite flag. */
export function beginUpdate(lr: f32, mu: f32): void {
  lrS = lr;
  muS = mu;
  finite = 1;
}

/** 1 if every parameter updated since `beginUpdate` is finite. */
export function updatesFinite(): i32 {
  return finite;
}

// @ts-ignore: decorator
@inline function epilogueV(mode: i32, acc: v128, at: usize, out: usize, aux: usize): void {
  const zero = f32x4.splat(0);
  if (mode == MODE_STORE) {
    v128.store(out + at, acc);
  } else if (mode == MODE_RELU) {
    v128.store(out + at, v128.and(acc, f32x4.gt(acc, zero)));
  } else if (mode == MODE_MASK) {
    v128.store(out + at, v128.and(acc, f32x4.gt(v128.load(aux + at), zero)));
  } else {
    const v = f32x4.add(f32x4.mul(f32x4.splat(muS), v128.load(aux + at)), acc);
    v128.store(aux + at, v);
    const w = f32x4.sub(v128.load(out + at), f32x4.mul(f32x4.splat(lrS), v));
    v128.store(out + at, w);
    if (!i32x4.all_true(f32x4.eq(f32x4.sub(w, w), zero))) finite = 0;
  }
}

// @ts-ignore: decorator
@inline function epilogueS(mode: i32, acc: f32, at: usize, out: usize, aux: usize): void {
  if (mode == MODE_STORE) {
    store<f32>(out + at, acc);
  } else if (mode == MODE_RELU) {
    store<f32>(out + at, acc > 0 ? acc : <f32>0.0);
  } else if (mode == MODE_MASK) {
    store<f32>(out + at, load<f32>(aux + at) > 0 ? acc : <f32>0.0);
  } else {
    const v: f32 = muS * load<f32>(aux + at) + acc;
    store<f32>(aux + at, v);
    const w: f32 = load<f32>(out + at) - lrS * v;
    store<f32>(out + at, w);
    if (!(w - w == 0)) finite = 0;
  }
}

/**
 * C (R × N, row stride ldc floats, at `out`) from A·B over K, with `mode`'s
 * epilogue. `bias`: the accumulators' start per column c (0 for +0 start).
 * Strides are in floats.
 */
export function gemm(mode: i32, R: i32, N: i32, K: i32, a: usize, ars: i32, aks: i32, b: usize, bks: i32, bias: usize, out: usize, ldc: i32, aux: usize): void {
  const rs: usize = <usize>ars << 2;
  const ks: usize = <usize>aks << 2;
  const bs: usize = <usize>bks << 2;
  const N8 = N & ~7;
  const N4 = N & ~3;
  const zero = f32x4.splat(0);
  let r = 0;
  for (; r + 4 <= R; r += 4) {
    const arow = a + <usize>r * rs;
    let c = 0;
    for (; c < N8; c += 8) {
      let i00 = zero;
      let i01 = zero;
      if (bias) {
        i00 = v128.load(bias + (<usize>c << 2));
        i01 = v128.load(bias + (<usize>c << 2), 16);
      }
      let i10 = i00;
      let i11 = i01;
      let i20 = i00;
      let i21 = i01;
      let i30 = i00;
      let i31 = i01;
      let ap = arow;
      let bp = b + (<usize>c << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let x = v128.load32_splat(ap);
        i00 = f32x4.add(i00, f32x4.mul(x, b0));
        i01 = f32x4.add(i01, f32x4.mul(x, b1));
        x = v128.load32_splat(ap + rs);
        i10 = f32x4.add(i10, f32x4.mul(x, b0));
        i11 = f32x4.add(i11, f32x4.mul(x, b1));
        x = v128.load32_splat(ap + 2 * rs);
        i20 = f32x4.add(i20, f32x4.mul(x, b0));
        i21 = f32x4.add(i21, f32x4.mul(x, b1));
        x = v128.load32_splat(ap + 3 * rs);
        i30 = f32x4.add(i30, f32x4.mul(x, b0));
        i31 = f32x4.add(i31, f32x4.mul(x, b1));
        ap += ks;
        bp += bs;
      }
      const o0: usize = (<usize>r * <usize>ldc + <usize>c) << 2;
      const ol: usize = <usize>ldc << 2;
      epilogueV(mode, i00, o0, out, aux);
      epilogueV(mode, i01, o0 + 16, out, aux);
      epilogueV(mode, i10, o0 + ol, out, aux);
      epilogueV(mode, i11, o0 + ol + 16, out, aux);
      epilogueV(mode, i20, o0 + 2 * ol, out, aux);
      epilogueV(mode, i21, o0 + 2 * ol + 16, out, aux);
      epilogueV(mode, i30, o0 + 3 * ol, out, aux);
      epilogueV(mode, i31, o0 + 3 * ol + 16, out, aux);
    }
    for (; c < N4; c += 4) {
      let i0 = bias ? v128.load(bias + (<usize>c << 2)) : zero;
      let i1 = i0;
      let i2 = i0;
      let i3 = i0;
      let ap = arow;
      let bp = b + (<usize>c << 2);
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bp);
        i0 = f32x4.add(i0, f32x4.mul(v128.load32_splat(ap), b0));
        i1 = f32x4.add(i1, f32x4.mul(v128.load32_splat(ap + rs), b0));
        i2 = f32x4.add(i2, f32x4.mul(v128.load32_splat(ap + 2 * rs), b0));
        i3 = f32x4.add(i3, f32x4.mul(v128.load32_splat(ap + 3 * rs), b0));
        ap += ks;
        bp += bs;
      }
      const o0: usize = (<usize>r * <usize>ldc + <usize>c) << 2;
      const ol: usize = <usize>ldc << 2;
      epilogueV(mode, i0, o0, out, aux);
      epilogueV(mode, i1, o0 + ol, out, aux);
      epilogueV(mode, i2, o0 + 2 * ol, out, aux);
      epilogueV(mode, i3, o0 + 3 * ol, out, aux);
    }
    for (let rr = r; rr < r + 4; rr++) scalarColumns(mode, rr, N4, N, K, a, rs, ks, b, bs, bias, out, ldc, aux);
  }
  for (; r < R; r++) {
    const arow = a + <usize>r * rs;
    let c = 0;
    for (; c < N8; c += 8) {
      let i0 = zero;
      let i1 = zero;
      if (bias) {
        i0 = v128.load(bias + (<usize>c << 2));
        i1 = v128.load(bias + (<usize>c << 2), 16);
      }
      let ap = arow;
      let bp = b + (<usize>c << 2);
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(ap);
        i0 = f32x4.add(i0, f32x4.mul(x, v128.load(bp)));
        i1 = f32x4.add(i1, f32x4.mul(x, v128.load(bp, 16)));
        ap += ks;
        bp += bs;
      }
      const o0: usize = (<usize>r * <usize>ldc + <usize>c) << 2;
      epilogueV(mode, i0, o0, out, aux);
      epilogueV(mode, i1, o0 + 16, out, aux);
    }
    for (; c < N4; c += 4) {
      let i0 = bias ? v128.load(bias + (<usize>c << 2)) : zero;
      let ap = arow;
      let bp = b + (<usize>c << 2);
      for (let k = 0; k < K; k++) {
        i0 = f32x4.add(i0, f32x4.mul(v128.load32_splat(ap), v128.load(bp)));
        ap += ks;
        bp += bs;
      }
      epilogueV(mode, i0, (<usize>r * <usize>ldc + <usize>c) << 2, out, aux);
    }
    scalarColumns(mode, r, N4, N, K, a, rs, ks, b, bs, bias, out, ldc, aux);
  }
}

// @ts-ignore: decorator
@inline function scalarColumns(mode: i32, r: i32, c0: i32, N: i32, K: i32, a: usize, rs: usize, ks: usize, b: usize, bs: usize, bias: usize, out: usize, ldc: i32, aux: usize): void {
  for (let c = c0; c < N; c++) {
    let acc: f32 = bias ? load<f32>(bias + (<usize>c << 2)) : <f32>0.0;
    let ap = a + <usize>r * rs;
    let bp = b + (<usize>c << 2);
    for (let k = 0; k < K; k++) {
      acc = acc + load<f32>(ap) * load<f32>(bp);
      ap += ks;
      bp += bs;
    }
    epilogueS(mode, acc, (<usize>r * <usize>ldc + <usize>c) << 2, out, aux);
  }
}

/** Bias gradients db[j] = Σ_{b ascending} δ[b][j] (from +0) and their momentum update. */
export function biasUpdate(d: usize, B: i32, N: i32, params: usize, velocity: usize): void {
  const N4 = N & ~3;
  const rowBytes: usize = <usize>N << 2;
  let c = 0;
  for (; c < N4; c += 4) {
    let acc = f32x4.splat(0);
    let dp = d + (<usize>c << 2);
    for (let s = 0; s < B; s++) {
      acc = f32x4.add(acc, v128.load(dp));
      dp += rowBytes;
    }
    epilogueV(MODE_UPDATE, acc, <usize>c << 2, params, velocity);
  }
  for (; c < N; c++) {
    let acc: f32 = 0;
    let dp = d + (<usize>c << 2);
    for (let s = 0; s < B; s++) {
      acc = acc + load<f32>(dp);
      dp += rowBytes;
    }
    epilogueS(MODE_UPDATE, acc, <usize>c << 2, params, velocity);
  }
}

/** dst (cols × rows) = srcᵀ, src rows × cols row-major. */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  for (let i = 0; i < rows; i++) {
    const srow = src + ((<usize>i * <usize>cols) << 2);
    for (let j = 0; j < cols; j++) store<f32>(dst + ((<usize>j * <usize>rows + <usize>i) << 2), load<f32>(srow + (<usize>j << 2)));
  }
}

// ---- softmax and cross-entropy, per sample, as in MlpKernel.softmax ----

/** Writes e_c into p (when p ≠ 0) then p_c = e_c / s; returns log(s) − (z_label − m). */
function softmax(z: usize, C: i32, label: i32, p: usize): f32 {
  let m = load<f32>(z);
  for (let c = 1; c < C; c++) {
    const v = load<f32>(z + (<usize>c << 2));
    if (v > m) m = v;
  }
  let sum: f32 = 0;
  for (let c = 0; c < C; c++) {
    const e = expf(load<f32>(z + (<usize>c << 2)) - m);
    if (p) store<f32>(p + (<usize>c << 2), e);
    sum = sum + e;
  }
  if (p) for (let c = 0; c < C; c++) store<f32>(p + (<usize>c << 2), load<f32>(p + (<usize>c << 2)) / sum);
  const zl: f32 = label < C ? load<f32>(z + (<usize>label << 2)) : <f32>NaN;
  return logf(sum) - (zl - m);
}

/** Output deltas δ[s][c] = (p_c − [c = y_s])·invB for B samples; returns Σ_s (ascending) of the cross-entropies. */
export function outputDeltas(logits: usize, labels: usize, B: i32, C: i32, invB: f32, delta: usize, p: usize): f32 {
  let lossSum: f32 = 0;
  for (let s = 0; s < B; s++) {
    const y = <i32>load<u8>(labels + <usize>s);
    const z = logits + ((<usize>s * <usize>C) << 2);
    lossSum = lossSum + softmax(z, C, y, p);
    const d = delta + ((<usize>s * <usize>C) << 2);
    for (let c = 0; c < C; c++) store<f32>(d + (<usize>c << 2), (load<f32>(p + (<usize>c << 2)) - (c == y ? <f32>1.0 : <f32>0.0)) * invB);
  }
  return lossSum;
}

let correctCount: i32 = 0;

/** Argmax accuracy and summed loss over n samples, continuing `lossSum`; the number correct is added to `correct()`'s count. */
export function evaluateChunk(logits: usize, labels: usize, n: i32, C: i32, lossSum: f32): f32 {
  for (let s = 0; s < n; s++) {
    const y = <i32>load<u8>(labels + <usize>s);
    const z = logits + ((<usize>s * <usize>C) << 2);
    let best = 0;
    for (let c = 1; c < C; c++) if (load<f32>(z + (<usize>c << 2)) > load<f32>(z + (<usize>best << 2))) best = c;
    if (best == y) correctCount++;
    lossSum = lossSum + softmax(z, C, y, 0);
  }
  return lossSum;
}

/** Reads and clears the correct count. */
export function takeCorrect(): i32 {
  const n = correctCount;
  correctCount = 0;
  return n;
}

/** Start of free memory (after the module's static data). */
export function heapBase(): usize {
  return __heap_base;
}

/**
 * Float32 arithmetic for the training kernel (DESIGN §8). Every operation is
 * one IEEE-754 binary32 operation: `Math.fround` of the float64 result of
 * + − × ÷ on float32 inputs is the correctly rounded float32 result (float64
 * has more than 2·24 + 2 bits), so this is what a wasm `f32` instruction
 * computes. `Math.exp/log/pow` differ between engines and are not used: exp
 * and log below are fixed sequences of float32 operations that a SIMD kernel
 * can mirror step by step.
 */
export const f = Math.fround;

// exp: x = n·ln2 + r with n = floor(x·log2(e) + 0.5), |r| ≤ ln2/2 (Cody–Waite, ln2 split so n·LN2_HI is exact),
// e^r by a degree-6 Taylor polynomial in Horner form, then × 2^n (exact).
const LOG2E = f(1.4426950408889634);
const LN2_HI = f(0.693145751953125);
const LN2_LO = f(1.4286067653302226e-6);
const EXP_C = [1 / 720, 1 / 120, 1 / 24, 1 / 6, 0.5, 1, 1].map(f);
/** Inputs are clamped here: e^-87 is still a normal float32, e^88 still finite. */
export const EXP_MIN = -87;
export const EXP_MAX = 88;

// 2^n for n in [-126, 127], by exact doubling and halving (no Math.pow).
const POW2 = new Float32Array(256);
POW2[127] = 1;
for (let n = 1; n <= 127; n++) POW2[127 + n] = POW2[126 + n]! * 2;
for (let n = 1; n <= 126; n++) POW2[127 - n] = POW2[128 - n]! / 2;

/** e^x in float32 operations (relative error below 2e-7 on [-87, 88]); NaN stays NaN. */
export function expf(x: number): number {
  if (x < EXP_MIN) x = EXP_MIN;
  else if (x > EXP_MAX) x = EXP_MAX;
  const n = Math.floor(f(f(x * LOG2E) + 0.5));
  const r = f(f(x - f(n * LN2_HI)) - f(n * LN2_LO));
  let p = EXP_C[0]!;
  for (let i = 1; i < EXP_C.length; i++) p = f(f(p * r) + EXP_C[i]!);
  return f(p * POW2[n + 127]!);
}

// log: x = m·2^e with m in [√½, √2), log m = 2·atanh(s), s = (m − 1)/(m + 1), |s| < 0.172, odd series to s^9.
const LN2 = f(0.6931471805599453);
const SQRT_HALF = f(Math.SQRT1_2);
const LOG_C = [1 / 9, 1 / 7, 1 / 5, 1 / 3, 1].map(f);
const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** ln x for a positive normal float32 x, in float32 operations (absolute error below 1e-6 near 1). */
export function logf(x: number): number {
  asFloat[0] = x;
  let e = ((bits[0]! >>> 23) & 0xff) - 127;
  bits[0] = (bits[0]! & 0x007fffff) | 0x3f800000; // m in [1, 2)
  let m = asFloat[0]!;
  if (m > f(2 * SQRT_HALF)) {
    m = f(m * 0.5);
    e += 1;
  }
  const s = f(f(m - 1) / f(m + 1));
  const s2 = f(s * s);
  let p = LOG_C[0]!;
  for (let i = 1; i < LOG_C.length; i++) p = f(f(p * s2) + LOG_C[i]!);
  const logM = f(f(2 * s) * p);
  return f(f(e * LN2) + logM);
}

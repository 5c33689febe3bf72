/**
 * The datasets this node can load, matched against genesis registrations by
 * content hash (DESIGN §8: a node refuses jobs on datasets it does not hold):
 * `mnist-10k` from the mnist package, and `synthetic:<seed>` regenerated from
 * its seed and shape. Loaded once per process.
 */
import type { DatasetInfo } from "../types/genesis.ts";
import { toHex } from "../util/hex.ts";
import { mnist10k, syntheticDataset, type Dataset } from "./datasets.ts";

const cache = new Map<string, Dataset | null>();

/** The dataset a genesis entry names, or null when this node cannot produce bytes with that hash. */
export function loadDataset(info: Pick<DatasetInfo, "name" | "id" | "features" | "classes" | "train" | "validation">): Dataset | null {
  const key = toHex(info.id);
  if (cache.has(key)) return cache.get(key)!;
  let d: Dataset | null = null;
  if (info.name === "mnist-10k") d = mnist10k();
  else if (info.name.startsWith("synthetic:")) {
    d = syntheticDataset({ seed: info.name.slice("synthetic:".length), features: info.features, classes: info.classes, train: info.train, validation: info.validation });
  }
  if (d && toHex(d.id) !== key) d = null;
  cache.set(key, d);
  return d;
}

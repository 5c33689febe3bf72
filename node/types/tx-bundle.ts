/**
 * A bundle of signed transactions for gossip (topic `txs`): an SSZ list of
 * each transaction's own encoding, at most TX_BUNDLE_MAX_TXS of them and
 * TX_BUNDLE_MAX_BYTES in all.
 */
import { ByteListType, ListCompositeType } from "@chainsafe/ssz";
import { MAX_SIGNED_TX_BYTES } from "./txcodec.ts";

export const TX_BUNDLE_MAX_TXS = 1024;
// Well under gossip's 4 MiB message limit (see GOSSIP_MAX_MESSAGE_BYTES): about 270 transfers.
export const TX_BUNDLE_MAX_BYTES = 1024 * 1024;

export const TxBundle = new ListCompositeType(new ByteListType(MAX_SIGNED_TX_BYTES), TX_BUNDLE_MAX_TXS, { typeName: "TxBundle" });

/** Bundles of `txs` (encoded signed transactions), each within both limits, in order. */
export function bundleTxs(txs: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let part: Uint8Array[] = [];
  let bytes = 0;
  for (const t of txs) {
    // 4 bytes of offset per item, plus the item.
    if (part.length > 0 && (part.length === TX_BUNDLE_MAX_TXS || bytes + 4 + t.length > TX_BUNDLE_MAX_BYTES)) {
      out.push(TxBundle.serialize(part));
      part = [];
      bytes = 0;
    }
    part.push(t);
    bytes += 4 + t.length;
  }
  if (part.length > 0) out.push(TxBundle.serialize(part));
  return out;
}

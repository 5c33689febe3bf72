/** Gossip topics, one set per chain id (DESIGN §10). */
export type TopicKind = "tx" | "txs" | "proposal" | "vote" | "attestation" | "evidence" | "anchor";

/**
 * `tx` carries one signed transaction a message; `txs` a bundle of them
 * (TxBundle: what one admission micro-batch took), so a loaded node sends
 * one gossip message per batch instead of one per transaction.
 */
export function topicNames(chainId: string): Record<TopicKind, string> {
  const t = (k: TopicKind) => `/pouw/${chainId}/${k}/ssz/1`;
  return { tx: t("tx"), txs: t("txs"), proposal: t("proposal"), vote: t("vote"), attestation: t("attestation"), evidence: t("evidence"), anchor: t("anchor") };
}

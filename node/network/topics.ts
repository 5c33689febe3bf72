/** Gossip topics, one set per chain id (DESIGN §10). */
export type TopicKind = "tx" | "proposal" | "vote" | "attestation" | "evidence" | "anchor";

export function topicNames(chainId: string): Record<TopicKind, string> {
  const t = (k: TopicKind) => `/pouw/${chainId}/${k}/ssz/1`;
  return { tx: t("tx"), proposal: t("proposal"), vote: t("vote"), attestation: t("attestation"), evidence: t("evidence"), anchor: t("anchor") };
}

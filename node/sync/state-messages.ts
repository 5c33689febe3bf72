/**
 * State-sync req/resp messages (SSZ) and their protocol ids, in reqresp.ts's
 * scheme (/pouw/<chain>/<kind>/ssz/<version>):
 * - `state_snapshots`: empty request → one SnapshotList, the snapshots this
 *   node serves (newest first);
 * - `state_manifest`: StateRequest (index ignored) → a ManifestHead and the
 *   rest of the state (SSZ State with an empty accounts list), or nothing
 *   when the node does not hold that height;
 * - `state_chunk`: StateRequest → the chunk's bytes (accounts' SSZ
 *   encodings back to back), or nothing.
 * A chunk is addressed by its content: the manifest lists every chunk's
 * subtree root, so a chunk is checked on its own before it is kept.
 */
import { ContainerType, ListCompositeType, type ValueOf } from "@chainsafe/ssz";
import { Bytes32, Uint32, UintNum64 } from "../types/primitives.ts";

export const SnapshotInfo = new ContainerType(
  { height: UintNum64, blockHash: Bytes32, accountCount: UintNum64, chunks: Uint32 },
  { typeName: "SnapshotInfo" },
);
export type SnapshotInfoT = ValueOf<typeof SnapshotInfo>;

/** Most snapshots a node lists. */
export const MAX_LISTED_SNAPSHOTS = 16;
export const SnapshotList = new ListCompositeType(SnapshotInfo, MAX_LISTED_SNAPSHOTS);

/** Most account chunks of a manifest: 2^20 chunks of 4,096 accounts are 4.3 billion accounts, the list's limit. */
export const MAX_ACCOUNT_CHUNKS = 2 ** 20;
export const ManifestHead = new ContainerType(
  { height: UintNum64, blockHash: Bytes32, accountCount: UintNum64, accountChunkRoots: new ListCompositeType(Bytes32, MAX_ACCOUNT_CHUNKS) },
  { typeName: "ManifestHead" },
);
export type ManifestHeadT = ValueOf<typeof ManifestHead>;

export const StateRequest = new ContainerType({ height: UintNum64, index: Uint32 }, { typeName: "StateRequest" });

export type StateSyncKind = "state_snapshots" | "state_manifest" | "state_chunk";
export const stateProtocolId = (chainId: string, kind: StateSyncKind): string => `/pouw/${chainId}/${kind}/ssz/1`;

/** Largest rest-of-state a manifest may carry (validators, staking, jobs, proofs, checkpoints…). */
export const MAX_REST_BYTES = 64 * 1024 * 1024;

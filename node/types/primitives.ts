import { setHasher } from "@chainsafe/persistent-merkle-tree";
import { hasher as hashtreeHasher } from "@chainsafe/persistent-merkle-tree/hasher/hashtree";
import { BooleanType, ByteListType, ByteVectorType, UintBigintType, UintNumberType } from "@chainsafe/ssz";
import { ADDRESS_BYTES } from "../crypto/address.ts";
import { MLDSA44_PUBLIC_KEY_BYTES, MLDSA44_SIGNATURE_BYTES } from "../crypto/mldsa.ts";

// Every SSZ root in the node goes through the SIMD hashtree hasher (about 10x
// the default noble one). Set here, in the module every SSZ type imports, so no
// entry point (CLI, client, worker, test) can hash with the slow default.
setHasher(hashtreeHasher);

export const Bytes32 = new ByteVectorType(32);
export const Address = new ByteVectorType(ADDRESS_BYTES);
/** An EVM address (anchor key of a validator, DESIGN §9). */
export const EthAddress = new ByteVectorType(20);
export const PublicKey = new ByteVectorType(MLDSA44_PUBLIC_KEY_BYTES);
export const Signature = new ByteVectorType(MLDSA44_SIGNATURE_BYTES);
/** UTF-8 chain id such as "pouw-devnet-1". */
export const ChainId = new ByteListType(32);
/** Amounts in units (1 POUW = 10^9 units), u64. */
export const Amount = new UintBigintType(8);
export const Uint64 = new UintBigintType(8);
/** Heights, rounds, times (ms), gas: u64 on the wire, JS numbers in memory (they stay far below 2^53). */
export const UintNum64 = new UintNumberType(8, { clipInfinity: true });
export const Uint32 = new UintNumberType(4);
export const Uint16 = new UintNumberType(2);
export const Uint8 = new UintNumberType(1);
export const Bool = new BooleanType();

export const MAX_U64 = (1n << 64n) - 1n;
export const ZERO_HASH = new Uint8Array(32);

/** POUW has 9 decimals: 1 POUW = 10^9 units (DESIGN §3). */
export const POUW_DECIMALS = 9;
export const UNITS_PER_POUW = 10n ** BigInt(POUW_DECIMALS);

/** Units as POUW, without trailing zeros: 1500000000n → "1.5". */
export function formatPouw(units: bigint | string): string {
  const u = BigInt(units);
  const neg = u < 0n;
  const abs = neg ? -u : u;
  const frac = (abs % UNITS_PER_POUW).toString().padStart(POUW_DECIMALS, "0").replace(/0+$/, "");
  return `${neg ? "-" : ""}${abs / UNITS_PER_POUW}${frac ? "." + frac : ""}`;
}

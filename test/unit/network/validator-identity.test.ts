/** A validator's proof binds its consensus key to one libp2p peer id on one chain. */
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { describe, expect, it } from "vitest";
import { AccountKey } from "../../../node/crypto/keys.ts";
import { signIdentity, ValidatorIdentity, verifyIdentity } from "../../../node/network/validator-identity.ts";
import { bytesEqual } from "../../../node/util/hex.ts";

describe("validator identity", () => {
  it("verifies for the signing node's peer id and chain only", async () => {
    const key = AccountKey.fromLabel("identity/validator");
    const peer = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const other = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    const proof = signIdentity("chain-a", peer, key);
    expect(bytesEqual(verifyIdentity("chain-a", peer, proof)!, key.publicKey)).toBe(true);
    // Replayed by another peer, or on another chain: refused.
    expect(verifyIdentity("chain-a", other, proof)).toBeNull();
    expect(verifyIdentity("chain-b", peer, proof)).toBeNull();
    // Another key claimed with this signature, or garbage: refused.
    const claimed = ValidatorIdentity.serialize({ ...ValidatorIdentity.deserialize(proof), publicKey: AccountKey.fromLabel("identity/other").publicKey });
    expect(verifyIdentity("chain-a", peer, claimed)).toBeNull();
    expect(verifyIdentity("chain-a", peer, new Uint8Array(10))).toBeNull();
  });
});

/** `pouw tx …`: build, sign, submit and follow transactions (transfer and staking). */
import { AnchorKey } from "../crypto/anchor-key.ts";
import { encodeAddress } from "../crypto/address.ts";
import { PouwClient, PouwRpcError } from "../client/client.ts";
import { signAndSubmit, type SendOverrides } from "../client/send.ts";
import type { AccountKey } from "../crypto/keys.ts";
import { TxSelector, type TransactionT } from "../types/transaction.ts";
import { fromHex, isHex } from "../util/hex.ts";
import { formatPouw, parsePouw, parseWhole } from "./amount.ts";
import { readKeyFile } from "./key-file.ts";
import { Keyring, resolveAddress } from "./keyring.ts";
import { passwordSource } from "./password.ts";

export interface SendOptions {
  from: string;
  rpc: string;
  keyring?: string;
  /** The password of an encrypted --from key (first line of this file); else asked on a terminal. */
  passwordFile?: string;
  tip?: string;
  maxFee?: string;
  nonce?: string;
  wait: boolean;
  json?: boolean;
}

export interface TransferOptions extends SendOptions {
  to: string;
  amount: string;
}

/** --tip, --max-fee (units per gas) and --nonce, each checked against its u64 field. */
export function sendOverrides(opts: Pick<SendOptions, "tip" | "maxFee" | "nonce">): SendOverrides {
  return {
    ...(opts.tip !== undefined ? { tip: parseWhole(opts.tip, "--tip", "fee per gas (units)") } : {}),
    ...(opts.maxFee !== undefined ? { maxFee: parseWhole(opts.maxFee, "--max-fee", "fee per gas (units)") } : {}),
    ...(opts.nonce !== undefined ? { nonce: parseWhole(opts.nonce, "--nonce", "nonce") } : {}),
  };
}

/** The keyring for signing: an encrypted key's password from --password-file, else a terminal prompt. */
export function signingKeyring(opts: { keyring?: string; passwordFile?: string }): Keyring {
  return new Keyring(opts.keyring, { password: passwordSource(opts) });
}

/**
 * Signs `body` from `opts.from` (node/client/send.ts: the node's fee
 * suggestion, a gas limit of exactly the intrinsic gas), sends it and
 * (unless --no-wait) follows it to finality. `what` describes it on the terminal.
 */
export async function send(opts: SendOptions, body: TransactionT["body"], what: string): Promise<{ hash: string; success: boolean; fee?: bigint }> {
  const overrides = sendOverrides(opts); // bad numbers fail before the key is read or the node asked
  const key = await signingKeyring(opts).get(opts.from);
  const client = new PouwClient(opts.rpc);
  const { hash, nonce } = await signAndSubmit(client, key, body, overrides);
  const out = (o: Record<string, unknown>, text: string) => console.log(opts.json ? JSON.stringify(o) : text);
  if (!opts.wait) {
    out({ hash, status: "pending" }, `${what}\n  tx ${hash} pending`);
    return { hash, success: true };
  }
  if (!opts.json) console.log(`${what}\n  tx ${hash} (nonce ${nonce}) waiting for finality…`);
  const final = await client.waitForTransaction(hash, { timeoutMs: 60_000 });
  if (final.status === "finalized") {
    const r = final.receipt;
    if (opts.json) console.log(JSON.stringify(final));
    else {
      console.log(`  ${r.status === "success" ? "finalized" : `FAILED (${r.error})`} in block ${final.blockHeight}; fee ${formatPouw(BigInt(r.feeBurned) + BigInt(r.tip))} POUW (${r.gasUsed} gas)`);
    }
    if (r.status !== "success") process.exitCode = 1;
    return { hash, success: r.status === "success", fee: BigInt(r.feeBurned) + BigInt(r.tip) };
  }
  if (final.status === "replaced") {
    out(final as unknown as Record<string, unknown>, `  replaced by ${final.replacedBy} (same sender and nonce ${final.nonce}): that transaction is the one that counts`);
    process.exitCode = 1;
    return { hash, success: false };
  }
  out(final as Record<string, unknown>, `  rejected: ${final.status === "rejected" ? `${final.error.code}: ${final.error.message}` : final.status}`);
  process.exitCode = 1;
  return { hash, success: false };
}

export async function transferCommand(opts: TransferOptions): Promise<void> {
  const keyring = new Keyring(opts.keyring);
  const to = resolveAddress(keyring, opts.to, "--to");
  const amount = parsePouw(opts.amount);
  const from = keyring.info(opts.from).address; // the address only: send() decrypts the key
  await send(opts, { selector: TxSelector.Transfer, value: { to, amount } }, `sent ${formatPouw(amount)} POUW from ${from} to ${encodeAddress(to)}`);
}

export interface CreateValidatorOptions extends SendOptions {
  /** The node's validator key file (keys/validator.json in its home), or a key name. */
  consensusKey: string;
  amount: string;
  commission: string;
  anchorAddress?: string;
}

/** The consensus key (its seed gives the default anchor address): a key file, encrypted or not, or a key name. */
function consensusKeyOf(opts: SendOptions, ref: string): Promise<AccountKey> {
  return ref.endsWith(".json") ? readKeyFile(ref, { password: passwordSource(opts), what: "consensus key" }) : signingKeyring(opts).get(ref);
}

/** Commission as a percentage ("5", "12.5") → basis points. */
export function parseCommission(s: string): number {
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(s)) throw new Error(`commission must be a percentage such as 5 or 12.5, got "${s}"`);
  const bps = Math.round(Number(s) * 100);
  if (bps > 10_000) throw new Error("commission cannot exceed 100 %");
  return bps;
}

export async function createValidatorCommand(opts: CreateValidatorOptions): Promise<void> {
  const consensus = await consensusKeyOf(opts, opts.consensusKey);
  const amount = parsePouw(opts.amount);
  const commissionBps = parseCommission(opts.commission);
  // By default the anchor key derived from the consensus key (what the node signs checkpoints with when its home has no anchor key file).
  const anchor = opts.anchorAddress ?? AnchorKey.fromSeed(consensus.seed).address;
  if (!isHex(anchor) || fromHex(anchor).length !== 20) throw new Error("--anchor-address must be a 0x-prefixed 20-byte EVM address");
  if (fromHex(anchor).every((b) => b === 0)) throw new Error("--anchor-address must not be zero: checkpoints need a signer");
  await send(
    opts,
    { selector: TxSelector.CreateValidator, value: { consensusKey: consensus.publicKey, anchorAddress: fromHex(anchor), commissionBps, amount } },
    `create validator ${consensus.bech32} with a self-bond of ${formatPouw(amount)} POUW, commission ${commissionBps / 100} %`,
  );
}

export async function delegateCommand(opts: SendOptions & { validator: string; amount: string }): Promise<void> {
  const keyring = new Keyring(opts.keyring);
  const validator = resolveAddress(keyring, opts.validator, "--validator");
  const amount = parsePouw(opts.amount);
  await send(opts, { selector: TxSelector.Delegate, value: { validator, amount } }, `delegate ${formatPouw(amount)} POUW to ${encodeAddress(validator)}`);
}

/** `--shares all` undelegates the whole delegation (looked up over RPC). */
export async function undelegateCommand(opts: SendOptions & { validator: string; shares: string }): Promise<void> {
  const keyring = new Keyring(opts.keyring);
  const validator = resolveAddress(keyring, opts.validator, "--validator");
  let shares: bigint;
  if (opts.shares === "all") {
    const mine = await new PouwClient(opts.rpc).getDelegations(keyring.info(opts.from).address);
    const d = mine.delegations.find((x) => x.validator === encodeAddress(validator));
    if (!d) throw new Error(`${opts.from} has no delegation to ${encodeAddress(validator)}`);
    shares = BigInt(d.shares);
  } else {
    shares = parseWhole(opts.shares, "--shares", "number of shares");
  }
  await send(opts, { selector: TxSelector.Undelegate, value: { validator, shares } as TransactionT["body"]["value"] }, `undelegate ${shares} shares from ${encodeAddress(validator)}`);
}

export async function unjailCommand(opts: SendOptions): Promise<void> {
  await send(opts, { selector: TxSelector.Unjail, value: { reserved: 0 } }, `unjail the validator operated by ${opts.from}`);
}

export async function withdrawRewardsCommand(opts: SendOptions & { validator?: string }): Promise<void> {
  const keyring = new Keyring(opts.keyring);
  const validator = opts.validator ? resolveAddress(keyring, opts.validator, "--validator") : new Uint8Array(20);
  const client = new PouwClient(opts.rpc);
  const from = keyring.info(opts.from).address;
  const before = await client.getAccount(from, { proof: false });
  const sent = await send(opts, { selector: TxSelector.WithdrawRewards, value: { validator } }, `withdraw rewards${opts.validator ? ` from ${encodeAddress(validator)}` : " from every delegation"}`);
  if (!sent.success || sent.fee === undefined || opts.json || !opts.wait) return;
  // How much: the balance change around the transaction, its fee added back. Exact when this was the account's only
  // transaction meanwhile (its nonce moved by one) and nothing was sent to it in those blocks.
  const after = await client.getAccount(from, { proof: false });
  const withdrawn = BigInt(after.balance) - BigInt(before.balance) + sent.fee;
  const alone = BigInt(after.nonce) === BigInt(before.nonce) + 1n;
  console.log(
    `  withdrew ${formatPouw(withdrawn > 0n ? withdrawn : 0n)} POUW (balance ${formatPouw(BigInt(before.balance))} → ${formatPouw(BigInt(after.balance))} POUW${alone ? "" : "; other transactions of this account ran meanwhile, so this is approximate"})`,
  );
}

export function describeRpcError(e: unknown): string {
  if (e instanceof PouwRpcError) return `${e.code}: ${e.message}`;
  if (e instanceof TypeError && /fetch failed/.test(e.message)) return `cannot reach the node (${(e.cause as Error)?.message ?? e.message})`;
  return (e as Error).message ?? String(e);
}

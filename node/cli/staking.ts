/** `pouw validators` and `pouw delegations`: the staking state over RPC. */
import { PouwClient } from "../client/client.ts";
import { formatPouw } from "./amount.ts";
import { encodeAddress } from "../crypto/address.ts";
import { Keyring, resolveAddress } from "./keyring.ts";

export async function validatorsCommand(o: { rpc: string; all?: boolean; json?: boolean }): Promise<void> {
  const set = await new PouwClient(o.rpc).getValidators({ all: o.all ?? false });
  if (o.json) {
    console.log(JSON.stringify(set));
    return;
  }
  console.log(`height ${set.height}: ${set.active.length} active, total power ${set.totalPower}; next epoch boundary at ${set.nextEpochBoundary}`);
  for (const v of set.active) {
    console.log(`  ${v.address}  power ${v.power}  ${formatPouw(v.tokens)} POUW  commission ${v.commissionBps / 100} %  missed ${v.missedBlocks}${v.jailed ? "  JAILED" : ""}`);
  }
  if (set.candidates) {
    const active = new Set(set.active.map((v) => v.address));
    const rest = set.candidates.filter((v) => !active.has(v.address));
    if (rest.length > 0) console.log("not in the active set:");
    for (const v of rest) {
      const jail = v.tombstoned ? "tombstoned" : v.jailed ? `jailed until ${v.jailedUntil}` : "candidate";
      console.log(`  ${v.address}  ${formatPouw(v.tokens)} POUW  ${jail}  operator ${v.operator}`);
    }
  }
}

export async function delegationsCommand(who: string, o: { rpc: string; keyring?: string; json?: boolean }): Promise<void> {
  const address = encodeAddress(resolveAddress(new Keyring(o.keyring), who));
  const d = await new PouwClient(o.rpc).getDelegations(address);
  if (o.json) {
    console.log(JSON.stringify(d));
    return;
  }
  console.log(`${d.address} at height ${d.height}:`);
  if (d.delegations.length === 0) console.log("  no delegations");
  for (const x of d.delegations) console.log(`  ${x.validator}: ${formatPouw(x.value)} POUW (${x.shares} shares), rewards ${formatPouw(x.pendingRewards)} POUW`);
  for (const u of d.unbonding) console.log(`  unbonding ${formatPouw(u.amount)} POUW from ${u.validator}, paid at height ${u.completionHeight}`);
  if (d.commission) console.log(`  commission of ${d.commission.validator}: ${formatPouw(d.commission.amount)} POUW`);
}

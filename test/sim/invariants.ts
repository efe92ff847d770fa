/**
 * The guarantees, checked against what the simulated customers took in (README "Guarantees and how they
 * are kept"):
 * - nothing lost: every delivery a record routes is taken in by its customer, or dead-lettered with a reason;
 * - order: per customer and package, the first delivery of a status never comes before the first delivery
 *   of an earlier status, unless that earlier status was dead-lettered (in the store: a crashed process's
 *   last write may land after its crash);
 * - duplicates only from what was out or not yet committed at a crash, stop or rebalance (or was sent by
 *   a stale owner), or what the customer took in while the integrator never heard its answer;
 * - memory bound: no lane holds more than twice its `maxInMemory` plus two rounds of its concurrency (claims
 *   under way) and a record per partition in hand;
 * - poison: every malformed record is kept with its reason, and never blocks its partition;
 * - limits shared by all integrators (README "Running several integrators"): never more than `concurrency`
 *   requests open at a customer, and never more than ratePerSecond × window + ratePerSecond requests in any
 *   window (the bucket's one second of burst), whichever processes sent them;
 * - the delivery log's reading of the core: every `accepted` comes right after the change that lists its
 *   customer (the log writes the change's line for it, src/log/wire.ts);
 * - a rebalance hold ends with its rebalance: no lane stays held once its process has handled the group's
 *   current assignment (a late signal would stop its sending for the hold's whole time limit).
 */
import type { World } from './world.ts';
import { tupleKey } from './world.ts';

export async function violations(world: World): Promise<string[]> {
  const out: string[] = [];
  const receipts = world.ledger.receipts;
  const got = new Map<string, number[]>();
  receipts.forEach((r, i) => {
    const k = tupleKey(r.customer, r.packageId, r.step);
    got.set(k, [...(got.get(k) ?? []), i]);
  });

  // Nothing lost; dead letters kept with their reason.
  const dlq = new Set<string>();
  for (const c of world.schedule.customers) {
    const { items } = await world.store.listDeadLetters(c.id, 0, 1_000_000);
    for (const x of items) {
      if (!x.reason) out.push(`dead letter without a reason: ${c.id} ${x.id}`);
      const data = (JSON.parse(x.delivery.body) as { data: { package_id: string; step: number } }).data;
      dlq.add(tupleKey(c.id, data.package_id, data.step));
    }
  }
  for (const t of world.expected) {
    if (!got.has(t) && !dlq.has(t)) out.push(`lost: ${t} (neither delivered nor dead-lettered)`);
  }

  // Order of first deliveries per customer and package.
  const first = new Map<string, Map<number, number>>();
  receipts.forEach((r, i) => {
    const k = `${r.customer}|${r.packageId}`;
    const m = first.get(k) ?? new Map<number, number>();
    if (!m.has(r.step)) m.set(r.step, i);
    first.set(k, m);
  });
  for (const [k, m] of first) {
    const steps = [...m.keys()].sort((a, b) => a - b);
    for (let a = 0; a < steps.length; a++) {
      for (let b = a + 1; b < steps.length; b++) {
        const [i, j] = [steps[a]!, steps[b]!];
        // Dead-lettered: seen by a live process, or only in the store (its write landed after the crash of
        // the process that made it; the next owner may read the record again and send it after the later ones).
        const dead = world.deadLettered.has(`${k}|${i}`) || dlq.has(`${k}|${i}`);
        if (m.get(j)! < m.get(i)! && !dead) {
          out.push(`order: ${k} step ${j} first delivered before step ${i}`);
        }
      }
    }
  }

  // Duplicates only where a fault or a lost answer excuses them.
  for (const [t, idx] of got) {
    if (idx.length < 2) continue;
    const [customer] = t.split('|');
    const eventIds = new Set(idx.map((i) => receipts[i]!.eventId));
    const unheard = [...eventIds].some((e) => world.ledger.unacknowledged.has(`${customer}|${e}`));
    if (!world.excused.has(t) && !unheard)
      out.push(`duplicate without a fault to excuse it: ${t} ×${idx.length}`);
  }

  if (world.maxHeldOverCap > 0) out.push(`memory: a lane held ${world.maxHeldOverCap} more than its bound`);
  for (const h of world.holdsOutlived) out.push(`hold outlived its rebalance: ${h}`);

  world.schedule.customers.forEach((c, i) => {
    const sim = world.customers[i]!;
    if (sim.maxOpen > c.concurrency)
      out.push(
        `concurrency: ${c.id} had ${sim.maxOpen} requests open (limit ${c.concurrency}) at ${sim.maxOpenAt - 1_800_000_000_000}`,
      );
    const worst = rateExcess(sim.sends, c.ratePerSecond);
    if (worst) out.push(`rate: ${c.id} (${c.ratePerSecond}/s) ${worst}`);
  });

  const kept = await world.store.listPoison(0, 100_000);
  for (const p of world.poison) {
    if (!kept.items.some((x) => x.partition === p.partition && x.offset === String(p.offset) && x.reason))
      out.push(`poison p${p.partition}@${p.offset} not recorded with its reason`);
  }
  out.push(...world.acceptedApart.slice(0, 5));
  return out;
}

/** A window holding more sends than ratePerSecond × window + ratePerSecond, described; else null. */
export function rateExcess(sends: readonly number[], perSecond: number | null): string | null {
  if (perSecond === null) return null;
  const t = [...sends].sort((a, b) => a - b);
  for (let j = 0; j < t.length; j++) {
    for (let i = 0; i <= j; i++) {
      const windowMs = t[j]! - t[i]!;
      const count = j - i + 1;
      if (count > (perSecond * windowMs) / 1000 + perSecond)
        return `${count} requests within ${windowMs} ms from ${t[i]! - 1_800_000_000_000}`;
    }
  }
  return null;
}

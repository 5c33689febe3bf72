// @ts-check
/**
 * The pouw explorer (issue 16): a read-only page over the node's own
 * JSON-RPC, same origin, no framework and no build step. Routes are hashes
 * (#/block/12, #/tx/0x…, #/account/pouw1…, #/job/0x…). New heads come from
 * the `newHeads` WebSocket subscription; nothing polls the node for them.
 *
 * Every value from the node reaches the DOM as text (textContent and
 * attributes set one by one), never as HTML.
 */

const RECENT = 15;
const CHECKPOINTS_SHOWN = 20;
const SVG = "http://www.w3.org/2000/svg";

/** @type {HTMLElement} */
const app = /** @type {HTMLElement} */ (document.getElementById("app"));
const liveBadge = /** @type {HTMLElement} */ (document.getElementById("live"));

// ---- JSON-RPC over HTTP POST (same origin) --------------------------------------------------------------------------

let nextId = 1;

class RpcError extends Error {
  /** @param {{ code: number, message: string, data?: { code?: string } }} e */
  constructor(e) {
    super(e.message);
    this.code = e.code;
    this.dataCode = e.data?.code;
  }
}

/**
 * @param {string} method
 * @param {unknown[]} [params]
 * @returns {Promise<any>}
 */
async function rpc(method, params = []) {
  const res = await fetch("/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }) });
  const body = await res.json();
  if (body.error) throw new RpcError(body.error);
  return body.result;
}

/**
 * One HTTP request for many calls; each answer is its result or an RpcError.
 * @param {[string, unknown[]][]} calls
 * @returns {Promise<any[]>}
 */
async function rpcBatch(calls) {
  if (calls.length === 0) return [];
  const first = nextId;
  nextId += calls.length;
  const res = await fetch("/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: first + i, method, params }))) });
  const body = await res.json();
  if (!Array.isArray(body)) throw new RpcError(body.error ?? { code: -32603, message: "bad batch answer" });
  const byId = new Map(body.map((r) => [r.id, r]));
  return calls.map((_, i) => {
    const r = byId.get(first + i);
    return !r ? new RpcError({ code: -32603, message: "no answer" }) : r.error ? new RpcError(r.error) : r.result;
  });
}

// ---- DOM helpers: text only ------------------------------------------------------------------------------------------

/**
 * An element with attributes and children; strings become text nodes.
 * @param {string} tag
 * @param {Record<string, string | number | undefined | null>} [attrs]
 * @param {...(Node | string | number | null | undefined)} children
 * @returns {HTMLElement}
 */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) e.append(typeof c === "object" ? c : String(c));
  return e;
}

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 */
function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** @param {string} href @param {string | number} text @param {string} [cls] */
const link = (href, text, cls = "mono") => el("a", { href, class: cls }, String(text));
/** @param {string} s */
const short = (s) => (typeof s === "string" && s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-6)}` : String(s ?? ""));
/** @param {string} status */
const badge = (status) => el("span", { class: `badge ${status}`, "data-status": status }, status);
/** @param {string} k @param {Node | string | number} v @param {string} [id] */
const card = (k, v, id) => el("div", { class: "card" }, el("div", { class: "k" }, k), el("div", { class: "v", id }, v));

/**
 * @param {string[]} heads
 * @param {(Node | string | number | null)[][]} rows
 * @param {string} [id]
 */
function table(heads, rows, id) {
  const body = el("tbody", {});
  for (const r of rows) body.append(el("tr", {}, ...r.map((c) => el("td", {}, c))));
  return el("table", { id }, el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", {}, h)))), body);
}

/** @param {[string, Node | string | number | null | undefined][]} pairs */
function fields(pairs) {
  const dl = el("dl", {});
  for (const [k, v] of pairs) dl.append(el("dt", {}, k), el("dd", { class: typeof v === "string" && v.startsWith("0x") ? "mono" : undefined }, v ?? "—"));
  return dl;
}

/** Where the page being built renders: a detached view, put on screen only if it is still the current route. */
let view = el("div", {});

/**
 * A page's renderer, bound to the view of the route that called it (taken before the page's first await), so a page
 * that finishes after the user moved on never draws over the next one.
 */
function render() {
  const v = view;
  /** @param {...Node} nodes */
  return (...nodes) => v.replaceChildren(...nodes);
}

/** @param {unknown} e */
const errorText = (e) => el("p", { class: "error" }, e instanceof Error ? e.message : String(e));

/** @param {number} ms */
function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s ago` : `${Math.floor(s / 3600)} h ago`;
}
/** @param {number} ms */
const when = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");

/** Amounts are integers in base units, as decimal strings. @param {string} v */
const amount = (v) => BigInt(v).toLocaleString("en-US");

// ---- Live heads over the WebSocket subscription ---------------------------------------------------------------------

/** @type {Set<(h: any) => void>} */
const headListeners = new Set();
let lastHead = /** @type {any} */ (null);
let retryMs = 500;

function connectHeads() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
  ws.addEventListener("open", () => ws.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "pouw_subscribe", params: ["newHeads"] })));
  ws.addEventListener("message", (ev) => {
    const msg = JSON.parse(String(ev.data));
    if (msg.id === 1 && msg.result) {
      liveBadge.textContent = "live";
      liveBadge.className = "live on";
      retryMs = 500;
    }
    if (msg.method === "pouw_subscription" && msg.params?.result) {
      lastHead = msg.params.result;
      for (const f of headListeners) f(lastHead);
    }
  });
  ws.addEventListener("close", () => {
    liveBadge.textContent = "offline";
    liveBadge.className = "live off";
    setTimeout(connectHeads, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

// ---- Pages ----------------------------------------------------------------------------------------------------------

/** @param {any} b a header (newHeads) or a block */
function blockRow(b) {
  const n = b.txCount ?? b.transactions?.length ?? 0;
  const tr = el("tr", { "data-height": b.height }, el("td", {}, link(`#/block/${b.height}`, b.height)), el("td", {}, when(b.time)), el("td", {}, n), el("td", { class: "mono" }, link(`#/account/${b.proposer}`, short(b.proposer))), el("td", { class: "mono" }, short(b.hash)));
  return tr;
}

/** Home: the head, finality, time since the last block and the recent blocks, updated by each new head. */
async function home() {
  const show = render();
  const info = await rpc("pouw_chainInfo");
  const from = Math.max(1, info.height - RECENT + 1);
  const heights = [];
  for (let h = info.height; h >= from; h--) heights.push(h);
  const blocks = (await rpcBatch(heights.map((h) => ["pouw_getBlock", [h]]))).filter((b) => !(b instanceof Error));
  const head = { height: info.height, hash: info.headHash, time: info.headTime };
  const heightV = el("span", { id: "head-height" }, head.height);
  const hashV = el("span", { id: "head-hash", class: "mono" }, short(head.hash));
  const finalV = el("span", { id: "finalized-height" }, head.height);
  const sinceV = el("span", { id: "since-last" }, ago(head.time));
  const rows = el("tbody", {}, ...blocks.map(blockRow));
  show(
    el("h1", {}, `Chain ${info.chainId}`),
    el(
      "div",
      { class: "cards" },
      card("Head height", heightV),
      card("Head hash", hashV),
      card("Finalized (BFT: the head)", finalV),
      card("Last block", sinceV),
      card("Mempool", info.mempoolSize),
      card("Peers", info.network ? info.network.peers : "no networking"),
    ),
    el("h2", {}, "Recent blocks"),
    el("table", { id: "recent-blocks" }, el("thead", {}, el("tr", {}, ...["Height", "Time", "Txs", "Proposer", "Hash"].map((h) => el("th", {}, h)))), rows),
  );
  let headTime = head.time;
  const tick = setInterval(() => (sinceV.textContent = ago(headTime)), 1000);
  /** @param {any} h */
  const onHead = (h) => {
    if (h.height <= Number(heightV.textContent)) return;
    heightV.textContent = String(h.height);
    finalV.textContent = String(h.height);
    hashV.textContent = short(h.hash);
    headTime = h.time;
    sinceV.textContent = ago(h.time);
    const tr = blockRow(h);
    tr.classList.add("fresh");
    rows.prepend(tr);
    while (rows.children.length > RECENT) rows.lastElementChild?.remove();
  };
  headListeners.add(onHead);
  return () => {
    clearInterval(tick);
    headListeners.delete(onHead);
  };
}

/** @param {string} ref a height or a block hash */
async function blockPage(ref) {
  const show = render();
  const b = await rpc("pouw_getBlock", [/^\d+$/.test(ref) ? Number(ref) : ref, { fullTransactions: true }]);
  const txs = b.transactions.map((/** @type {any} */ t) => [link(`#/tx/${t.hash}`, short(t.hash)), t.body.type, link(`#/account/${t.from}`, short(t.from)), t.nonce, t.receipt ? badge(t.receipt.status) : "—", t.receipt ? t.receipt.gasUsed : "—"]);
  show(
    el("h1", {}, `Block ${b.height}`),
    fields([
      ["Height", b.height],
      ["Hash", b.hash],
      ["Time", `${when(b.time)} (${ago(b.time)})`],
      ["Parent", b.height > 1 ? link(`#/block/${b.height - 1}`, b.lastBlockHash) : b.lastBlockHash],
      ["Proposer", link(`#/account/${b.proposer}`, b.proposer)],
      ["State root", b.stateRoot],
      ["Tx root", b.txRoot],
      ["Attestation root", b.attestationRoot],
      ["Validators hash", b.validatorsHash],
      ["Base fee per gas", b.baseFeePerGas],
      ["Gas used", b.gasUsed],
      ["Commit signatures", b.commit ? b.commit.signatures.length : "not stored yet"],
      ["Evidence", b.evidence.length],
    ]),
    el("h2", {}, `Transactions (${b.transactions.length})`),
    txs.length ? table(["Hash", "Type", "From", "Nonce", "Receipt", "Gas"], txs, "block-txs") : el("p", { class: "muted" }, "No transactions."),
  );
}

/** @param {string} hash */
async function txPage(hash) {
  const show = render();
  const t = await rpc("pouw_getTransaction", [hash]);
  if (!t) return show(el("h1", {}, "Transaction"), el("p", { class: "error" }, `Unknown transaction ${hash}`));
  const pairs = /** @type {[string, any][]} */ ([
    ["Hash", t.hash],
    ["Status", badge(t.status)],
  ]);
  if (t.blockHeight !== undefined) pairs.push(["Block", link(`#/block/${t.blockHeight}`, `${t.blockHeight} (${short(t.blockHash)})`)], ["Index", t.index]);
  if (t.from) pairs.push(["From", link(`#/account/${t.from}`, t.from)]);
  if (t.nonce !== undefined) pairs.push(["Nonce", t.nonce]);
  if (t.body) {
    pairs.push(["Type", t.body.type]);
    for (const [k, v] of Object.entries(t.body)) if (k !== "type") pairs.push([k, k === "to" ? link(`#/account/${v}`, String(v)) : typeof v === "object" ? JSON.stringify(v) : String(v)]);
    pairs.push(["Max fee per gas", t.maxFeePerGas], ["Max priority fee", t.maxPriorityFeePerGas], ["Gas limit", t.gasLimit], ["Size", `${t.size} bytes`]);
  }
  if (t.receipt) pairs.push(["Receipt", badge(t.receipt.status)], ["Gas used", t.receipt.gasUsed], ["Fee burned", t.receipt.feeBurned], ["Tip", t.receipt.tip], ["Error", t.receipt.error]);
  if (t.error) pairs.push(["Rejected", `${t.error.code}: ${t.error.message}`]);
  if (t.replacedBy) pairs.push(["Replaced by", link(`#/tx/${t.replacedBy}`, t.replacedBy)]);
  show(el("h1", {}, "Transaction"), fields(pairs));
}

/** @param {string} address */
async function accountPage(address) {
  const show = render();
  const a = await rpc("pouw_getAccount", [address, { proof: false }]);
  show(
    el("h1", {}, "Account"),
    fields([
      ["Address", el("span", { class: "mono", id: "account-address" }, a.address)],
      ["Balance", el("span", { id: "account-balance" }, amount(a.balance))],
      ["Nonce", el("span", { id: "account-nonce" }, a.nonce)],
      ["Exists", a.exists ? "yes" : "no"],
      ["At height", a.height],
    ]),
  );
}

async function validatorsPage() {
  const show = render();
  const v = await rpc("pouw_getValidators", [{ all: true }]);
  const active = new Set(v.active.map((/** @type {any} */ x) => x.address));
  const rows = [...v.active, ...(v.candidates ?? []).filter((/** @type {any} */ c) => !active.has(c.address))].map((/** @type {any} */ x) => {
    const tr = el(
      "tr",
      { "data-address": x.address },
      el("td", { class: "mono" }, link(`#/account/${x.address}`, short(x.address))),
      el("td", {}, badge(x.status)),
      el("td", { class: "power" }, x.power ?? "0"),
      el("td", { class: "missed" }, x.missedBlocks),
      el("td", {}, amount(x.tokens)),
      el("td", {}, `${x.commissionBps / 100} %`),
      el("td", { class: "mono" }, link(`#/account/${x.operator}`, short(x.operator))),
    );
    return tr;
  });
  show(
    el("h1", {}, `Validators (${v.active.length} active)`),
    el("div", { class: "cards" }, card("Total power", v.totalPower), card("Height", v.height), card("Next set at", v.nextEpochBoundary)),
    el("h2", {}, "Set"),
    el("table", { id: "validators" }, el("thead", {}, el("tr", {}, ...["Address", "Status", "Power", "Missed blocks (signed-blocks window)", "Tokens", "Commission", "Operator"].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows)),
  );
}

async function jobsPage() {
  const show = render();
  const r = await rpc("pouw_listJobs", [{ limit: 100 }]);
  const rows = r.jobs.map((/** @type {any} */ j) => [link(`#/job/${j.id}`, short(j.id)), badge(j.status), j.createdAt, amount(j.reward), `${j.spec.layers.join("-")}, ${j.spec.steps} steps`, j.spec.checkpoints, link(`#/account/${j.requester}`, short(j.requester))]);
  show(el("h1", {}, `Jobs (${r.total} live)`), rows.length ? table(["Job", "Status", "Created", "Reward", "Model", "Checkpoints", "Requester"], rows, "jobs") : el("p", { class: "muted" }, "No jobs in the live state."));
}

/**
 * The validation loss (solid) and accuracy (dashed) of each checkpoint, as SVG polylines: one point per checkpoint that has a metric.
 * @param {{ index: number, step: number, loss: number, accuracyBps: number }[]} points
 */
function curveSvg(points) {
  const W = 720, H = 260, L = 48, R = 48, T = 14, B = 30;
  const s = svg("svg", { class: "curve", id: "loss-curve", viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img", "aria-label": "validation loss and accuracy per checkpoint" });
  const maxStep = Math.max(1, ...points.map((p) => p.step));
  const maxLoss = Math.max(1e-9, ...points.map((p) => p.loss));
  const x = (/** @type {number} */ step) => L + ((W - L - R) * step) / maxStep;
  const yLoss = (/** @type {number} */ v) => T + (H - T - B) * (1 - v / maxLoss);
  const yAcc = (/** @type {number} */ bps) => T + (H - T - B) * (1 - bps / 10_000);
  for (let i = 0; i <= 4; i++) {
    const y = T + ((H - T - B) * i) / 4;
    s.append(svg("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
    const lt = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" });
    lt.textContent = ((maxLoss * (4 - i)) / 4).toPrecision(3);
    const at = svg("text", { x: W - R + 6, y: y + 4 });
    at.textContent = `${(100 * (4 - i)) / 4} %`;
    s.append(lt, at);
  }
  s.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: H - B, y2: H - B }), svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: H - B }));
  const xl = svg("text", { x: (W + L - R) / 2, y: H - 8, "text-anchor": "middle" });
  xl.textContent = `step (0 … ${maxStep}) — loss solid, left; accuracy dashed, right`;
  s.append(xl);
  s.append(svg("polyline", { class: "acc", points: points.map((p) => `${x(p.step).toFixed(1)},${yAcc(p.accuracyBps).toFixed(1)}`).join(" ") }));
  s.append(svg("polyline", { class: "loss", "data-points": points.length, points: points.map((p) => `${x(p.step).toFixed(1)},${yLoss(p.loss).toFixed(1)}`).join(" ") }));
  for (const p of points) s.append(svg("circle", { class: "loss", cx: x(p.step).toFixed(1), cy: yLoss(p.loss).toFixed(1), r: 3 }));
  return s;
}

/** @param {string} id */
async function jobPage(id) {
  const show = render();
  const [job, curve] = await rpcBatch([
    ["pouw_getJob", [id]],
    ["pouw_getJobCurve", [id]],
  ]);
  if (job instanceof Error) throw job;
  const proof = job.proof ? await rpc("pouw_getProof", [job.proof]).catch((e) => e) : null;
  const nodes = [
    el("h1", {}, "Job"),
    fields([
      ["Id", job.id],
      ["Status", badge(job.status)],
      ["Requester", link(`#/account/${job.requester}`, job.requester)],
      ["Created at", link(`#/block/${job.createdAt}`, job.createdAt)],
      ["Ended at", job.endedAt ? link(`#/block/${job.endedAt}`, job.endedAt) : "—"],
      ["Reward", amount(job.reward)],
      ["Worker bond", amount(job.workerBond)],
      ["Model", `layers ${job.spec.layers.join("-")}, ${job.spec.steps} steps in segments of ${job.spec.segmentLength}, batch ${job.spec.batchSize}`],
      ["Target", JSON.stringify(job.spec.target)],
      ["Deadline", job.spec.deadline],
      ["Archived", job.archived ? "yes" : "no"],
    ]),
  ];
  nodes.push(el("h2", {}, "Training curve (validation, per checkpoint)"));
  if (curve instanceof Error) nodes.push(el("p", { class: "error" }, curve.message));
  else if (curve.points.length === 0) nodes.push(el("p", { class: "muted", id: "no-curve" }, curve.proof ? "No checkpoint blobs here to evaluate." : "No proof yet: no checkpoints."));
  else {
    nodes.push(curveSvg(curve.points));
    if (curve.missing) nodes.push(el("p", { class: "muted" }, `${curve.missing} of ${curve.checkpoints} checkpoints have no metric here.`));
    nodes.push(table(["Checkpoint", "Step", "Loss", "Accuracy"], curve.points.map((/** @type {any} */ p) => [p.index, p.step, p.loss.toPrecision(5), `${(p.accuracyBps / 100).toFixed(2)} %`]), "curve-points"));
  }
  nodes.push(el("h2", {}, "Proof"));
  if (!proof) nodes.push(el("p", { class: "muted" }, "No proof yet."));
  else if (proof instanceof Error) nodes.push(el("p", { class: "error" }, proof.message));
  else
    nodes.push(
      fields([
        ["Id", proof.id],
        ["Status", badge(proof.status)],
        ["Worker", link(`#/account/${proof.worker}`, proof.worker)],
        ["Submitted at", link(`#/block/${proof.submittedAt}`, proof.submittedAt)],
        ["Decided at", proof.decidedAt ?? "—"],
        ["Payable at", proof.payableAt ?? "—"],
        ["Checkpoints", proof.commitment.count],
        ["Claimed", JSON.stringify(proof.commitment.claimedMetric)],
        ["Valid power / invalid power", `${proof.validPower} / ${proof.invalidPower}`],
      ]),
      el("h2", {}, `Attestations (${proof.attesters.length + proof.dissenters.length})`),
      table(
        ["Validator", "Verdict"],
        [...proof.attesters.map((/** @type {string} */ a) => [link(`#/account/${a}`, a), badge("valid")]), ...proof.dissenters.map((/** @type {string} */ a) => [link(`#/account/${a}`, a), badge("invalid")])],
        "attestations",
      ),
    );
  show(...nodes);
}

async function checkpointsPage() {
  const show = render();
  const relay = await rpc("pouw_relayStatus");
  const last = relay.lastEpoch;
  const epochs = [];
  for (let e = last; e >= Math.max(1, last - CHECKPOINTS_SHOWN + 1); e--) epochs.push(e);
  const cps = await rpcBatch(epochs.map((e) => ["pouw_getCheckpoint", [e]]));
  const targets = relay.targets;
  const rows = cps.map((c, i) => {
    if (c instanceof Error) return el("tr", {}, el("td", {}, epochs[i]), el("td", { colspan: 4 + targets.length, class: "muted" }, c.message));
    const signed = c.validators.filter((/** @type {any} */ v) => v.signature).length;
    return el(
      "tr",
      { "data-epoch": c.epoch },
      el("td", {}, c.epoch),
      el("td", {}, link(`#/block/${c.height}`, c.height)),
      el("td", { class: "signatures" }, `${signed} / ${c.validators.length}`),
      el("td", {}, badge(c.quorum ? "yes" : "no")),
      el("td", { class: "mono" }, short(c.digest)),
      ...targets.map((/** @type {any} */ t) => el("td", { class: "anchored" }, badge(t.lastEpoch >= c.epoch ? "yes" : "no"))),
    );
  });
  show(
    el("h1", {}, "Checkpoints (epochs)"),
    el("div", { class: "cards" }, card("Last finished epoch", last), ...targets.map((/** @type {any} */ t) => card(`Anchored on ${t.target}`, t.lastEpoch < 0 ? "not read yet" : `epoch ${t.lastEpoch}${t.failures ? `, ${t.failures} failures` : ""}`))),
    targets.length ? el("span", {}) : el("p", { class: "muted" }, "This node relays to no settlement chain: anchoring is not known here."),
    rows.length
      ? el("table", { id: "checkpoints" }, el("thead", {}, el("tr", {}, ...["Epoch", "Height", "Signatures", "Quorum", "Digest", ...targets.map((/** @type {any} */ t) => `Anchored: ${t.target}`)].map((h) => el("th", {}, h)))), el("tbody", {}, ...rows))
      : el("p", { class: "muted" }, "No epoch has finished yet."),
  );
}

async function peersPage() {
  const show = render();
  const info = await rpc("pouw_chainInfo");
  const n = info.network;
  show(
    el("h1", {}, "Peers"),
    n
      ? fields([
          ["Connected peers", el("span", { id: "peer-count" }, n.peers)],
          ["This node's peer id", n.peerId],
          ["Syncing", n.syncing ? `yes (best peer at ${n.bestPeerHeight})` : "no"],
          ["Consensus round", n.round],
        ])
      : el("p", { class: "muted" }, "This node runs without networking (no peers)."),
  );
}

// ---- Search and routing ---------------------------------------------------------------------------------------------

/** @param {string} q */
async function search(q) {
  q = q.trim();
  /** @type {HTMLInputElement} */ (document.getElementById("q")).value = "";
  if (/^\d+$/.test(q)) return (location.hash = `#/block/${q}`);
  if (/^pouw1[02-9ac-hj-np-z]+$/i.test(q)) return (location.hash = `#/account/${q.toLowerCase()}`);
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(q)) {
    const h = (q.startsWith("0x") ? q : `0x${q}`).toLowerCase();
    const [tx, block, job] = await rpcBatch([
      ["pouw_getTransaction", [h]],
      ["pouw_getBlock", [h]],
      ["pouw_getJob", [h]],
    ]);
    if (tx && !(tx instanceof Error)) return (location.hash = `#/tx/${h}`);
    if (!(block instanceof Error)) return (location.hash = `#/block/${block.height}`);
    if (!(job instanceof Error)) return (location.hash = `#/job/${h}`);
    return app.replaceChildren(errorText(`Nothing known as ${h}`));
  }
  app.replaceChildren(errorText("Search for a block height, a transaction or block hash, a job id (0x + 64 hex digits) or a pouw1… address"));
}

/** @type {(() => void) | void} */
let leave;
let routeGen = 0;

async function route() {
  if (typeof leave === "function") leave();
  leave = undefined;
  const gen = ++routeGen;
  const mine = (view = el("div", {}));
  const [page = "", arg = ""] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  delete document.body.dataset.ready;
  /** @type {(() => void) | void} */
  let left;
  try {
    if (page === "") left = await home();
    else if (page === "block") await blockPage(arg);
    else if (page === "tx") await txPage(arg);
    else if (page === "account") await accountPage(arg);
    else if (page === "validators") await validatorsPage();
    else if (page === "jobs") await jobsPage();
    else if (page === "job") await jobPage(arg);
    else if (page === "checkpoints") await checkpointsPage();
    else if (page === "peers") await peersPage();
    else mine.replaceChildren(errorText(`No page ${location.hash}`));
  } catch (e) {
    mine.replaceChildren(errorText(e));
  }
  if (gen !== routeGen) {
    // Another route started meanwhile: this one is dropped.
    if (typeof left === "function") left();
    return;
  }
  leave = left;
  app.replaceChildren(...mine.childNodes);
  // For tests and scripts: which page is shown, and that it has its data.
  document.body.dataset.page = page || "home";
  document.body.dataset.ready = "1";
}

document.getElementById("search")?.addEventListener("submit", (ev) => {
  ev.preventDefault();
  void search(/** @type {HTMLInputElement} */ (document.getElementById("q")).value);
});
window.addEventListener("hashchange", () => void route());
connectHeads();
void route();

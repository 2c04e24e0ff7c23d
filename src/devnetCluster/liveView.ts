import type {DutyRecord, SlotSample} from "./observer.js";
import {quantile} from "./quantile.js";

export interface LiveFrame {
  sample: SlotSample;
  /** Duty results that arrived since the last frame. */
  fresh: DutyRecord[];
  epoch: number;
  /** Slots in the whole run; undefined with --forever. */
  totalSlots: number | undefined;
  secondsLeft: number | undefined;
  threshold: number;
}

const BAR_WIDTH = 30;

function perNode(frame: LiveFrame, node: number) {
  const mine = frame.fresh.filter((d) => d.node === node && d.duty === "attester");
  const ok = mine.filter((d) => d.status === "submitted");
  const consensus = ok
    .map((d) => d.stages.consensus)
    .filter((x): x is number => typeof x === "number")
    .sort((a, b) => a - b);
  const submit = ok
    .map((d) => d.stages.submit)
    .filter((x): x is number => typeof x === "number")
    .sort((a, b) => a - b);
  return {
    // --recoverers designated: an attestation shared for another operator to submit is this node's part done.
    ok: ok.length + mine.filter((d) => d.status === "delegated").length,
    failed: mine.filter((d) => d.status === "failed" || d.status === "late").length,
    round: mine.reduce((r, d) => Math.max(r, d.round ?? 0), 0),
    consensus: consensus.length ? `${Math.round(quantile(consensus, 0.5))} ms` : "-",
    latency: submit.length ? `${Math.round(quantile(submit, 0.5))} ms` : "-",
  };
}

/** One line per slot, for logs and pipes (stdout is not a terminal). */
export function plainLine(frame: LiveFrame): string {
  const s = frame.sample;
  const up = s.nodes.filter((n) => n.up).map((n) => n.node);
  const down = s.nodes.filter((n) => !n.up).map((n) => n.node);
  const att = frame.fresh.filter((d) => d.duty === "attester");
  const ok = att.filter((d) => d.status === "submitted").length;
  const late = att.filter((d) => d.status === "late").length;
  // --recoverers designated: a node's part of an attestation another operator submits.
  const delegated = att.filter((d) => d.status === "delegated").length;
  const lat = att
    .map((d) => d.stages.submit)
    .filter((x): x is number => typeof x === "number")
    .sort((a, b) => a - b);
  const failed = [...new Set(att.filter((d) => d.status === "failed").map((d) => d.reason ?? "unknown"))];
  return (
    `slot ${s.slot} epoch ${frame.epoch}: up ${up.join(",") || "none"}${down.length ? ` down ${down.join(",")}` : ""}; ` +
    `attester results ${ok} submitted${delegated ? ` ${delegated} delegated` : ""}${late ? ` ${late} late` : ""} ${att.length - ok - late - delegated} failed${failed.length ? ` (${failed.join(", ")})` : ""}` +
    `${lat.length ? `, p50 ${Math.round(quantile(lat, 0.5))} ms` : ""}${late > 0 ? ` (stages p50 ${stagesP50(att)})` : ""}; ` +
    `justified ${s.justified ?? "?"} finalized ${s.finalized ?? "?"}${proposals(frame.fresh)}`
  );
}

/** Each stage's median end over these results: a late slot says where its time went. */
function stagesP50(results: DutyRecord[]): string {
  const names = [...new Set(results.flatMap((d) => Object.keys(d.stages)))];
  return names
    .map((n) => {
      const v = results
        .map((d) => d.stages[n])
        .filter((x): x is number => typeof x === "number")
        .sort((a, b) => a - b);
      return `${n} ${Math.round(quantile(v, 0.5))}`;
    })
    .join(", ");
}

/**
 * The slot's block as each node saw it: when it was published (ms into the slot), whose it was with the builder API
 * (a builder's or a local block), in which round, and each stage.
 */
function proposals(fresh: DutyRecord[]): string {
  const mine = fresh.filter((d) => d.duty === "proposer" && d.validatorIndex >= 0);
  if (mine.length === 0) return "";
  const one = mine.map(
    (d) =>
      `node ${d.node} ${d.status}${d.path ? ` ${d.path} block` : ""}${d.round ? ` round ${d.round}` : ""} (${Object.entries(
        d.stages,
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")})`,
  );
  return `; proposal: ${one.join("; ")}`;
}

/** The terminal view: a progress bar to the end of the run and one row per node, redrawn every slot. */
export function tableView(frame: LiveFrame): string {
  const s = frame.sample;
  const lines: string[] = [];
  if (frame.totalSlots !== undefined) {
    const done = Math.min(1, (s.slot + 1) / frame.totalSlots);
    const filled = Math.round(done * BAR_WIDTH);
    lines.push(
      `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] slot ${s.slot + 1}/${frame.totalSlots}, epoch ${frame.epoch}, ${Math.max(0, Math.round(frame.secondsLeft ?? 0))} s left`,
    );
  } else {
    lines.push(`slot ${s.slot}, epoch ${frame.epoch} (--forever: Ctrl-C stops the run)`);
  }
  lines.push(
    `justified ${s.justified ?? "?"}  finalized ${s.finalized ?? "?"}  threshold ${frame.threshold} of ${s.nodes.length}`,
  );
  const head = ["node", "state", "peers", "attest ok/fail", "round", "decided", "latency p50", "refused", "series"];
  const rows = s.nodes.map((n) => {
    const p = perNode(frame, n.node);
    const refused = Object.values(n.refused ?? {}).reduce((a, b) => a + b, 0);
    return [
      String(n.node),
      n.up ? "up" : "DOWN",
      n.up ? String(n.peers ?? "?") : "-",
      `${p.ok}/${p.failed}`,
      String(p.round),
      p.consensus,
      p.latency,
      n.up ? String(refused) : "-",
      n.up ? String(n.seriesEntries ?? "?") : "-",
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] as number)).join("  ");
  lines.push(fmt(head), ...rows.map(fmt));
  return lines.join("\n");
}

/** Redraws in place on a terminal: moves the cursor up over the last frame and clears below it. */
export class LiveView {
  private lastLines = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  show(frame: LiveFrame): void {
    if (!this.tty) {
      this.out.write(plainLine(frame) + "\n");
      return;
    }
    const text = tableView(frame);
    this.out.write((this.lastLines ? `\x1b[${this.lastLines}A\x1b[J` : "") + text + "\n");
    this.lastLines = text.split("\n").length;
  }

  /** Plain messages (faults, phases) keep scrolling above the table. */
  note(message: string): void {
    if (this.tty && this.lastLines) {
      this.out.write(`\x1b[${this.lastLines}A\x1b[J`);
      this.lastLines = 0;
    }
    this.out.write(message + "\n");
  }
}

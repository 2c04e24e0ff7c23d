import type {Report} from "./report.js";
import {renderMarkdown} from "./reportMarkdown.js";

/*
 * Charts are hand-written SVG: the report must open offline from a file (no CDN script), and three plain charts
 * do not justify bundling a charting library into a validator's dependencies.
 */

const W = 760;
const H = 220;
const PAD = {l: 48, r: 12, t: 16, b: 28};

const esc = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

function frame(
  title: string,
  body: string,
  yLabels: {y: number; text: string}[],
  xLabels: {x: number; text: string}[],
): string {
  const grid = yLabels
    .map(
      (l) =>
        `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${l.y}" y2="${l.y}" class="grid"/><text x="${PAD.l - 6}" y="${l.y + 4}" text-anchor="end">${esc(l.text)}</text>`,
    )
    .join("");
  const xs = xLabels.map((l) => `<text x="${l.x}" y="${H - 8}" text-anchor="middle">${esc(l.text)}</text>`).join("");
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${grid}${xs}${body}</svg></figure>`;
}

function effectivenessChart(r: Report): string {
  const n = Math.max(1, r.epochs.length);
  const bw = (W - PAD.l - PAD.r) / n;
  const y = (v: number) => PAD.t + (1 - v) * (H - PAD.t - PAD.b);
  const bars = r.epochs
    .map((e, i) => {
      const v = e.duties ? e.good / e.duties : 0;
      const cls = v >= 0.99 ? "ok" : "bad";
      return `<rect x="${PAD.l + i * bw + 4}" y="${y(v)}" width="${bw - 8}" height="${y(0) - y(v)}" class="${cls}"><title>epoch ${e.epoch}: ${e.good}/${e.duties}</title></rect>`;
    })
    .join("");
  const target = `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(0.99)}" y2="${y(0.99)}" class="limit"/>`;
  const sync = r.epochs
    .flatMap((e, i) =>
      e.syncParticipation === null
        ? []
        : [`${(PAD.l + (i + 0.5) * bw).toFixed(1)},${y(e.syncParticipation).toFixed(1)}`],
    )
    .join(" ");
  return frame(
    "Effectiveness per epoch (attestations included with the correct target / duties); blue line: sync committee participation; red: 99% target",
    bars + target + `<polyline points="${sync}" class="sync"/>`,
    [0, 0.5, 1].map((v) => ({y: y(v), text: `${v * 100}%`})),
    r.epochs.map((e, i) => ({x: PAD.l + (i + 0.5) * bw, text: `epoch ${e.epoch}`})),
  );
}

function latencyChart(r: Report): string {
  const slots = Math.max(1, r.timeline.length);
  const pts = r.facts.duties.filter(
    (d) => d.duty === "attester" && d.status === "submitted" && typeof d.stages.submit === "number" && d.slot < slots,
  );
  // A loop, not Math.max(...): an hour at 10,000 validators is ~200,000 points, past the argument limit.
  let top = r.latency.deadlineMs * 1.5;
  for (const d of pts) top = Math.max(top, d.stages.submit as number);
  const x = (s: number) => PAD.l + ((s + 0.5) / slots) * (W - PAD.l - PAD.r);
  const y = (v: number) => PAD.t + (1 - v / top) * (H - PAD.t - PAD.b);
  const dots = pts
    .map(
      (d) =>
        `<circle cx="${x(d.slot).toFixed(1)}" cy="${y(d.stages.submit as number).toFixed(1)}" r="1.6" class="n${d.node}"/>`,
    )
    .join("");
  const p50 = r.timeline
    .filter((t) => t.p50 !== null)
    .map((t) => `${x(t.slot).toFixed(1)},${y(t.p50 as number).toFixed(1)}`)
    .join(" ");
  const deadline = `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(r.latency.deadlineMs)}" y2="${y(r.latency.deadlineMs)}" class="limit"/>`;
  const step = Math.max(1, Math.ceil(slots / 16 / 8) * 8);
  return frame(
    `Attestation latency from the due time, each dot one node's submission (color = node), line p50 per slot; red: the 1/3-slot deadline (${r.latency.deadlineMs} ms)`,
    dots + `<polyline points="${p50}" class="p50"/>` + deadline,
    [0, top / 2, top].map((v) => ({y: y(v), text: `${Math.round(v)} ms`})),
    Array.from({length: Math.ceil(slots / step)}, (_, i) => ({x: x(i * step), text: `slot ${i * step}`})),
  );
}

function upDownChart(r: Report): string {
  const f = r.facts;
  const slots = Math.max(1, r.timeline.length);
  const rowH = (H - PAD.t - PAD.b) / f.nodes;
  const cw = (W - PAD.l - PAD.r) / slots;
  const cells = f.samples
    .filter((s) => s.slot < slots)
    .flatMap((s) =>
      s.nodes.map(
        (n) =>
          `<rect x="${(PAD.l + s.slot * cw).toFixed(1)}" y="${(PAD.t + (n.node - 1) * rowH + 2).toFixed(1)}" width="${cw.toFixed(1)}" height="${(rowH - 4).toFixed(1)}" class="${n.up ? "ok" : "bad"}"><title>node ${n.node} slot ${s.slot}: ${n.up ? "up" : "down"}</title></rect>`,
      ),
    )
    .join("");
  const marks = r.faults
    .map(
      (x) =>
        `<line x1="${PAD.l + x.slot * cw}" x2="${PAD.l + x.slot * cw}" y1="${PAD.t}" y2="${H - PAD.b}" class="mark"><title>${x.event.action} node ${x.event.node} at slot ${x.slot}</title></line>`,
    )
    .join("");
  const labels = Array.from({length: f.nodes}, (_, k) => ({y: PAD.t + (k + 0.5) * rowH, text: `node ${k + 1}`}));
  const step = Math.max(8, Math.ceil(slots / 16 / 8) * 8);
  return frame(
    "Nodes up (green) and down (red) at each slot; dashed lines: faults injected",
    cells + marks,
    labels,
    Array.from({length: Math.ceil(slots / step)}, (_, i) => ({x: PAD.l + i * step * cw, text: `slot ${i * step}`})),
  );
}

/** Just enough Markdown for renderMarkdown's own output: headings, tables, paragraphs, **bold**. */
function markdownToHtml(md: string): string {
  const inline = (s: string) => esc(s).replace(/\*\*(.+?)\*\*/g, "<strong>$1</strong>");
  return md
    .split("\n\n")
    .map((block) => {
      if (block.startsWith("# ")) return `<h1>${inline(block.slice(2))}</h1>`;
      if (block.startsWith("## ")) return `<h2>${inline(block.slice(3))}</h2>`;
      if (block.startsWith("| ")) {
        const rows = block
          .split("\n")
          .filter((_, i) => i !== 1)
          .map((l) => l.slice(2, -2).split(" | "));
        const [head, ...body] = rows as string[][];
        return `<table><thead><tr>${(head as string[]).map((c) => `<th>${inline(c)}</th>`).join("")}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
      }
      return `<p>${inline(block)}</p>`;
    })
    .join("\n");
}

const STYLE = `body{font:14px system-ui,sans-serif;margin:2em auto;max-width:820px;color:#222}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}
svg text{font-size:11px;fill:#555}.grid{stroke:#eee}.ok{fill:#3a3}.bad{fill:#d33}.limit{stroke:#d33;stroke-dasharray:4 3}.mark{stroke:#333;stroke-dasharray:3 3}.p50{fill:none;stroke:#000;stroke-width:1.5}.sync{fill:none;stroke:#36c;stroke-width:2}
.n1{fill:#1f77b4}.n2{fill:#ff7f0e}.n3{fill:#2ca02c}.n4{fill:#9467bd}.n5{fill:#8c564b}.n6{fill:#e377c2}.n7{fill:#7f7f7f}.n8{fill:#bcbd22}.n9{fill:#17becf}.n10{fill:#d62728}figure{margin:1em 0}figcaption{font-weight:600;margin-bottom:.3em}`;

/** OUT/report.html: the charts first, then the same tables as report.md. */
export function renderHtml(r: Report): string {
  const [title, ...rest] = renderMarkdown(r).split("\n\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>r3dv devnet run</title><style>${STYLE}</style></head><body>
${markdownToHtml(title as string)}
${effectivenessChart(r)}
${latencyChart(r)}
${upDownChart(r)}
${markdownToHtml(rest.join("\n\n"))}
</body></html>
`;
}

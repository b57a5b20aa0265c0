/**
 * The namespace picture drawn twice from one model: as text (for terminals, `jupyter console`
 * and the text/plain fallback) and as SVG (JupyterLab, Notebook, HTML handouts). Pure.
 *
 * The idea both drawings carry: one PID column per namespace level. A process of a nested
 * namespace has a number in every column up to its own, so "PID 1 inside, PID 5 in the lab"
 * is one row: `5  1  bash`. In the SVG each namespace is a box that starts at its own column,
 * so the numbers left of a box are how the outer namespaces see the processes in it.
 */
import { allNamespaces, type NsNode, type Picture, type ProcEntry } from './model.js';

/** Longest command shown; longer ones end in `…`. */
const COMMAND_MAX = 60;

export function commandOf(p: ProcEntry, picture: Picture): string {
  let cmd = p.cmdline || `[${p.name}]`;
  if (p.pid === picture.selfPid) cmd = 'nstree';
  if (p.state === 'Z') cmd = `[${p.name}] <defunct>`;
  return cmd.length > COMMAND_MAX ? cmd.slice(0, COMMAND_MAX - 1) + '…' : cmd;
}

/** The notes after a process: which terminal's shell it is, whether nstree ran from it. */
export function notesOf(p: ProcEntry, picture: Picture): string[] {
  const notes: string[] = [];
  const terminal = picture.terminalShells.get(p.pid);
  if (terminal !== undefined) notes.push(p.console ? `ターミナル ${terminal} (コンソール)` : `ターミナル ${terminal}`);
  if (p.pid === picture.callerPid) notes.push('★ nstree を実行したシェル');
  return notes;
}

export function nsTitle(ns: NsNode, picture: Picture): string {
  if (ns.depth === 0) {
    const name = picture.view === 'lab' ? 'ラボの PID 名前空間' : picture.view === 'nested-proc' ? 'この /proc の PID 名前空間 (ラボの内側)' : 'この /proc の PID 名前空間';
    return `ns${ns.index}: ${name}`;
  }
  const outer = `ns${ns.parentIndex ?? '?'}`;
  const by = ns.creator ? ` — ${commandOf(ns.creator, picture)} (${outer} の PID ${ns.creator.nspid[ns.depth - 1] ?? ns.creator.pid}) が作成` : '';
  return `ns${ns.index}: ${outer} の内側${by}`;
}

/** What the view shows, in a sentence or two. */
export function viewNotes(picture: Picture): string[] {
  const notes: string[] = [];
  if (picture.view === 'lab') notes.push('この /proc はラボのもの: ラボのすべてのプロセスが見えます。');
  if (picture.view === 'nested-proc') {
    notes.push('この /proc はラボの内側の PID 名前空間でマウントされたもの:');
    notes.push('その名前空間と、さらに内側しか見えません (外側のプロセスは数えられもしません)。');
  }
  if (picture.view === 'empty') {
    notes.push('この /proc にはプロセスが 1 つも見えません。');
    notes.push('/proc に mount されているのは、もうプロセスがいない PID 名前空間の procfs です');
    notes.push('(入れ子の名前空間で mount -t proc proc /proc をしたまま exit したときなど)。umount /proc で下の /proc に戻ります。');
  }
  const root = picture.roots[0];
  if (picture.selfNsIndex !== null && root && picture.selfNsIndex !== root.index) {
    notes.push(`nstree は ns${picture.selfNsIndex} で動いていますが、/proc は ns${root.index} のもの (再マウントされていない) なので、`);
    notes.push('外側の名前空間まで見えます。');
  }
  return notes;
}

// ─────────────────────────────── text ───────────────────────────────

const LEGEND_TEXT = '列 nsN = その名前空間での PID。mnt = マウント名前空間 (同じ文字は同じ名前空間)。';

/** The picture as text: aligned columns, one heading per namespace, indented by depth. */
export function renderText(picture: Picture): string {
  const namespaces = allNamespaces(picture);
  const colWidth = Math.max(5, ...picture.levelNames.map((n) => n.length + 2), ...namespaces.flatMap((n) => n.processes.flatMap((p) => p.nspid.map((x) => String(x).length + 2))));
  const levelHeads = Array.from({ length: picture.levels }, (_, i) => pad(picture.levelNames[i] ?? 'ns?', colWidth, true));
  const lines: string[] = [];
  lines.push('PID 名前空間ごとのプロセス (nstree: /proc から)');
  for (const note of viewNotes(picture)) lines.push(note);
  lines.push(LEGEND_TEXT);
  lines.push('');
  if (namespaces.length) lines.push(`${levelHeads.join('')}  mnt  コマンド`);
  for (const ns of namespaces) {
    lines.push(`${'  '.repeat(ns.depth)}[${nsTitle(ns, picture)}]`);
    for (const p of ns.processes) {
      const cols = Array.from({ length: picture.levels }, (_, i) => pad(i < p.nspid.length ? String(p.nspid[i]) : '', colWidth, true));
      const mnt = p.mntNs ? picture.mountLetters.get(p.mntNs) ?? '?' : '?';
      const notes = notesOf(p, picture);
      lines.push(`${cols.join('')}  ${pad(mnt, 3, false)}  ${commandOf(p, picture)}${notes.length ? `   ← ${notes.join(', ')}` : ''}`);
    }
  }
  return lines.join('\n');
}

function pad(s: string, width: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - s.length));
  return right ? fill + s : s + fill;
}

// ─────────────────────────────── SVG ───────────────────────────────

const FONT = "'DejaVu Sans Mono', 'Noto Sans Mono CJK JP', 'Noto Sans CJK JP', monospace";
const FONT_SIZE = 13;
const ROW = 20;
const TITLE_ROW = 24;
const MARGIN = 12;
const COLUMN = 56;
const MNT_COLUMN = 44;
const BOX_PAD = 8;
/** One colour per namespace level: box fill, border, and the PID column of that level. */
const PALETTE = [
  { fill: '#eef3fb', stroke: '#3d6bb3' },
  { fill: '#fdf1e3', stroke: '#c0661c' },
  { fill: '#e9f5ea', stroke: '#2f8a3c' },
  { fill: '#f6e9f4', stroke: '#9a3d8c' },
  { fill: '#eef0f2', stroke: '#56606b' },
];
const colour = (level: number) => PALETTE[level % PALETTE.length];
/** Two lines: as one, it was the widest line of every picture (890 px, wider than JupyterLab's output area beside its file browser). */
const LEGEND = ['列 nsN = その名前空間での PID (太字が自分の名前空間での PID)。', 'mnt = マウント名前空間 (同じ文字は同じ名前空間)。'];

/** Rough drawn width of text in the monospace font (CJK characters are two cells wide). */
function textWidth(s: string): number {
  let cells = 0;
  for (const ch of s) cells += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return cells * FONT_SIZE * 0.6;
}

function xml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The picture as a standalone SVG document. */
export function renderSvg(picture: Picture): string {
  const namespaces = allNamespaces(picture);
  const levels = picture.levels;
  const commandX = MARGIN + levels * COLUMN + MNT_COLUMN;
  const header: string[] = [
    'PID 名前空間ごとのプロセス (nstree: /proc から)',
    ...viewNotes(picture),
  ];
  let width = commandX + 200;
  for (const ns of namespaces) {
    width = Math.max(width, MARGIN + ns.depth * COLUMN + BOX_PAD + textWidth(nsTitle(ns, picture)) + MARGIN + BOX_PAD);
    for (const p of ns.processes) {
      const notes = notesOf(p, picture);
      width = Math.max(width, commandX + textWidth(commandOf(p, picture)) + (notes.length ? 24 + textWidth(notes.join(', ')) : 0) + MARGIN + BOX_PAD);
    }
  }
  for (const h of [...header, ...LEGEND]) width = Math.max(width, MARGIN * 2 + textWidth(h));
  width = Math.ceil(width);

  const body: string[] = [];
  let y = MARGIN;
  for (const h of header) {
    y += ROW;
    body.push(`<text x="${MARGIN}" y="${y - 6}"${h === header[0] ? ' font-weight="bold"' : ''}>${xml(h)}</text>`);
  }
  // Column heads: one per level, in that level's colour, then mnt and the command.
  y += ROW;
  for (let i = 0; i < levels; i++) {
    body.push(`<text x="${MARGIN + (i + 1) * COLUMN - 10}" y="${y - 6}" text-anchor="end" font-weight="bold" fill="${colour(i).stroke}">${xml(picture.levelNames[i] ?? 'ns?')}</text>`);
  }
  body.push(`<text x="${MARGIN + levels * COLUMN}" y="${y - 6}" font-weight="bold" fill="#444">mnt</text>`);
  body.push(`<text x="${commandX}" y="${y - 6}" font-weight="bold" fill="#444">コマンド</text>`);
  y += 4;

  const drawNs = (ns: NsNode): void => {
    const { fill, stroke } = colour(ns.depth);
    const x = MARGIN + ns.depth * COLUMN - BOX_PAD / 2;
    const right = width - MARGIN + BOX_PAD / 2 - ns.depth * 6;
    const top = y;
    const rectIndex = body.length;
    body.push(''); // the box, filled in once its height is known
    y += TITLE_ROW;
    body.push(`<text x="${x + BOX_PAD}" y="${y - 7}" font-weight="bold" fill="${stroke}">${xml(nsTitle(ns, picture))}</text>`);
    for (const p of ns.processes) {
      y += ROW;
      const base = y - 6;
      const caller = p.pid === picture.callerPid;
      if (caller) body.push(`<rect x="${x + 2}" y="${y - ROW + 2}" width="${right - x - 4}" height="${ROW - 2}" rx="3" fill="#fff7b3"/>`);
      for (let i = 0; i < p.nspid.length && i < levels; i++) {
        body.push(`<text x="${MARGIN + (i + 1) * COLUMN - 10}" y="${base}" text-anchor="end" fill="${colour(i).stroke}"${i === p.nspid.length - 1 ? ' font-weight="bold"' : ''}>${p.nspid[i]}</text>`);
      }
      const mnt = p.mntNs ? picture.mountLetters.get(p.mntNs) ?? '?' : '?';
      body.push(`<text x="${MARGIN + levels * COLUMN + 8}" y="${base}" fill="#444">${xml(mnt)}</text>`);
      const cmd = commandOf(p, picture);
      body.push(`<text x="${commandX}" y="${base}">${xml(cmd)}</text>`);
      const notes = notesOf(p, picture);
      if (notes.length) body.push(`<text x="${commandX + textWidth(cmd) + 16}" y="${base}" fill="#8a5a00">← ${xml(notes.join(', '))}</text>`);
    }
    y += 6;
    for (const child of ns.children) {
      drawNs(child);
      y += 6;
    }
    y += BOX_PAD / 2;
    body[rectIndex] = `<rect x="${x}" y="${top}" width="${right - x}" height="${y - top}" rx="6" fill="${fill}" stroke="${stroke}" stroke-width="1.5"/>`;
  };
  for (const root of picture.roots) {
    drawNs(root);
    y += 8;
  }
  y += MARGIN - 8;
  for (const line of LEGEND) {
    y += ROW;
    body.push(`<text x="${MARGIN}" y="${y - 6}" fill="#555">${xml(line)}</text>`);
  }
  y += MARGIN;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="${xml(FONT)}" font-size="${FONT_SIZE}">`,
    `<title>${xml(header[0])}</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...body,
    '</svg>',
  ].join('\n');
}

/**
 * Words as bash reads them, without running anything: what a word means literally (quotes, `~`,
 * known variables), a name written back in the quoting a word is in, and what the cell itself
 * defines before the cursor (variables, functions).
 */
import { ansiEscape, type QuoteState } from './scanner.js';
import { wordEnd } from './scanner.js';

/** Expands what a word's text means literally: quotes, `~`, `$NAME` of known variables. */
export function expandWord(raw: string, vars: Map<string, string | null>, home?: string | null): { value: string; quote: QuoteState } | null {
  let i = 0;
  let value = '';
  let quote: QuoteState = 'none';
  const tilde = /^~([A-Za-z0-9_.-]*)(?=\/|$)/.exec(raw);
  if (tilde) {
    if (tilde[1] !== '' || !home) return null;
    value = home;
    i = 1;
  }
  const variable = (j: number): number | null => {
    const m = /^\$(?:([A-Za-z_]\w*)|\{([A-Za-z_]\w*)\})/.exec(raw.slice(j));
    if (!m) return null;
    const v = vars.get(m[1] ?? m[2]);
    if (v === undefined || v === null) return null;
    value += v;
    return j + m[0].length;
  };
  while (i < raw.length) {
    const c = raw[i];
    if (quote === 'single') {
      if (c === "'") quote = 'none';
      else value += c;
      i++;
    } else if (quote === 'ansi') {
      if (c === "'") quote = 'none';
      else if (c === '\\' && i + 1 < raw.length) {
        value += ansiEscape(raw[i + 1]);
        i++;
      } else value += c;
      i++;
    } else if (quote === 'double') {
      if (c === '"') {
        quote = 'none';
        i++;
      } else if (c === '\\' && '$`"\\'.includes(raw[i + 1] ?? '')) {
        value += raw[i + 1];
        i += 2;
      } else if (c === '$') {
        const j = variable(i);
        if (j === null) return null;
        i = j;
      } else if (c === '`') return null;
      else {
        value += c;
        i++;
      }
    } else {
      if (c === '\\') {
        if (i + 1 < raw.length && raw[i + 1] !== '\n') value += raw[i + 1];
        i += 2;
      } else if (c === "'") {
        quote = 'single';
        i++;
      } else if (c === '"') {
        quote = 'double';
        i++;
      } else if (c === '$' && raw[i + 1] === "'") {
        quote = 'ansi';
        i += 2;
      } else if (c === '$' && raw[i + 1] === '"') {
        quote = 'double';
        i += 2;
      } else if (c === '$') {
        const j = variable(i);
        if (j === null) return null;
        i = j;
      } else if (c === '`' || ((c === '<' || c === '>') && raw[i + 1] === '(')) return null;
      else {
        value += c;
        i++;
      }
    }
  }
  return { value, quote };
}

export const OPENERS: Record<QuoteState, string> = { none: '', single: "'", double: '"', ansi: "$'" };

/** `name` written so that bash reads it back literally, in the quoting the word is in. */
export function requote(name: string, quote: QuoteState, close: boolean): string {
  switch (quote) {
    case 'single':
      return name.replace(/'/g, "'\\''") + (close ? "'" : '');
    case 'double':
      return name.replace(/(["$`\\])/g, '\\$1') + (close ? '"' : '');
    case 'ansi':
      return name.replace(/(['\\])/g, '\\$1') + (close ? "'" : '');
    default:
      return name.replace(/([\s"'\\$`;&|()<>*?[\]{}!#^~=])/g, (_m, c: string, off: number) => (c === '=' || (c === '~' && off > 0) ? c : '\\' + c));
  }
}

/** Variables the cell sets before the cursor; values only when they are plain literals. */
export function cellVariables(code: string): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of code.matchAll(/(?:^|[\s;&|(])(?:(?:export|local|readonly|declare|typeset)\s+(?:-\w+\s+)*)?([A-Za-z_]\w*)\+?=/g)) {
    const from = m.index + m[0].length;
    const raw = code.slice(from, wordEnd(code, from));
    out.set(m[1], expandWord(raw, new Map(), null)?.value ?? null);
  }
  for (const m of code.matchAll(/\b(?:for|select)\s+([A-Za-z_]\w*)/g)) out.set(m[1], null);
  for (const m of code.matchAll(/\bread\s+([^;&|\n]*)/g)) {
    const words = m[1].trim().split(/\s+/);
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      if (w.startsWith('-')) {
        // -a -d -i -n -N -p -t -u take a value (attached or the next word).
        if (/^-[ersa-zA-Z]*[adinNptu]$/.test(w)) k++;
        if (/^-[ersa-zA-Z]*a$/.test(w)) out.set(words[k] ?? '', null);
      } else if (/^[A-Za-z_]\w*$/.test(w)) out.set(w, null);
      else break;
    }
  }
  out.delete('');
  return out;
}

/** Functions the cell defines. */
export function cellFunctions(code: string): string[] {
  const out: string[] = [];
  for (const m of code.matchAll(/(?:^|[\s;&|(])(?:function\s+([\w.:-]+)|([\w.:-]+)\s*\(\s*\))/g)) out.push(m[1] ?? m[2]);
  return out;
}

/**
 * `text` without the trailing characters in `chars`. A loop, not a regex: `/[ \t]+$/` retries
 * from every position of a long run and takes quadratic time on hostile input.
 */
export function trimEnd(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1])) end--;
  return text.slice(0, end);
}

/**
 * What a request's code and cursor mean. Jupyter counts the cursor in code points (protocol 5.2,
 * `cursor_pos`); JavaScript strings index UTF-16 units. This is the one place that converts: the
 * API takes the request's cursor as it came, and answers in code points again.
 */

/**
 * Larger cells are not analysed: scanning megabytes blocks the kernel's event loop (heartbeat
 * included) for seconds, and nobody presses Tab in a 256 KB cell. Their answers are empty.
 */
export const MAX_INTROSPECT_CHARS = 256 * 1024;

const SURROGATE = /[\uD800-\uDFFF]/;

export function unitsFromCodePoints(s: string, cp: number): number {
  if (!SURROGATE.test(s)) return Math.max(0, Math.min(cp, s.length));
  let units = 0;
  for (let n = 0; n < cp && units < s.length; n++) units += s.codePointAt(units)! > 0xffff ? 2 : 1;
  return units;
}

export function codePointsFromUnits(s: string, units: number): number {
  if (!SURROGATE.test(s)) return units;
  let n = 0;
  for (let i = 0; i < units && i < s.length; n++) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return n;
}


/** The length of `s` in code points. */
export function codePointLength(s: string): number {
  return codePointsFromUnits(s, s.length);
}

/**
 * A request's `cursor_pos` as a whole number of code points inside `code`: a missing or malformed
 * one means the end of the code, a negative one its start.
 */
export function requestCursor(pos: unknown, code: string): number {
  const n = typeof pos === 'number' && Number.isFinite(pos) ? Math.trunc(pos) : Infinity;
  return Math.max(0, Math.min(codePointLength(code), n));
}

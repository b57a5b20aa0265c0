/** Plain JSON shapes, shared by the wire (src/protocol) and the display markers (src/shell). */

/** A JSON object as `JSON.parse` gives it: not null, not an array. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

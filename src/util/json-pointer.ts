/** RFC 6901 JSON pointers. */

/** A member name as one reference token of a pointer: `~` as `~0`, `/` as `~1` (RFC 6901 §3). */
export function pointerToken(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

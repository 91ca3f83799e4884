// Reading free-form Kubernetes JSON a few known fields deep, without trusting its shape: each reader
// returns an empty value of the asked type for anything else. Shared by convert.ts and the webhook.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
export function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
/** The string entries of an object (labels, annotations, selectors). */
export function strMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(obj(v))) if (typeof x === 'string') out[k] = x;
  return out;
}

// Storage requests in bytes for the fake provisioner and the tests that count provisioned bytes: the
// core's Quantity parser (it rounds fractions up, as a provisioner rounds a request up to whole
// bytes), but throwing, since a claim the API server accepted always has a valid size.

import { parseQuantity } from '../core/quantity.js';

/** Parses a storage quantity ("50Mi", "1e9", "1.5Gi") into whole bytes; throws on anything else. */
export function parseQuantityBytes(q: string): number {
  const r = parseQuantity(q);
  if (r.kind !== 'ok') throw new Error(`not a storage quantity: ${JSON.stringify(q)} (${r.reason})`);
  if (r.value < 0) throw new Error(`not a storage quantity: ${JSON.stringify(q)} (negative)`);
  return r.value;
}

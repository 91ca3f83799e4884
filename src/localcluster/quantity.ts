// Kubernetes resource.Quantity → integer bytes, for storage requests in the harness. Covers the
// suffixes a PVC uses (apimachinery resource/suffix.go): binary Ki..Ei, decimal k..E, exponent
// (e.g. 1e9), plain integers. Fractions round up, as a provisioner rounds a request up to whole units.

const BINARY: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
const DECIMAL: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  E: 10n ** 18n,
};

/** Parses a storage quantity into bytes; throws on anything that is not a quantity. */
export function parseQuantityBytes(q: string): number {
  const m = /^([0-9]+)(?:\.([0-9]+))?(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))?$/.exec(q.trim());
  if (!m) throw new Error(`not a storage quantity: ${JSON.stringify(q)}`);
  const [, whole = '0', frac = '', exp, suffix = ''] = m;
  let mult = BINARY[suffix] ?? DECIMAL[suffix] ?? 1n;
  let scaleDown = 10n ** BigInt(frac.length);
  if (exp) {
    const e = Number(exp.slice(1));
    if (e >= 0) mult = 10n ** BigInt(e);
    else scaleDown *= 10n ** BigInt(-e);
  }
  const num = BigInt(whole + frac) * mult;
  const bytes = (num + scaleDown - 1n) / scaleDown;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`storage quantity too large: ${q}`);
  return Number(bytes);
}

/** Formats bytes the way a Quantity prints an exact binary multiple ("10Gi"), else plain bytes. */
export function formatBytes(bytes: number): string {
  const b = BigInt(bytes);
  for (const s of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const unit = BINARY[s] as bigint;
    if (b >= unit && b % unit === 0n) return `${b / unit}${s}`;
  }
  return String(bytes);
}

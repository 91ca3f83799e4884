// Kubernetes resource.Quantity parsing into integers: CPU in millicores, everything else in base
// units (bytes, counts). Source: k8s.io/apimachinery pkg/api/resource/quantity.go (suffixes).

const BINARY_EXP: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL_EXP: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY_RE = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;
/** Longer texts are not quantities anyone writes (apimachinery caps the mantissa too). */
const MAX_QUANTITY_CHARS = 100;
/** Powers of ten beyond these are out of range or below one unit whatever the mantissa. */
const MAX_TEN_EXP = 60;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export type QuantityResult = { kind: 'ok'; value: number } | { kind: 'invalid'; reason: string };

/**
 * mantissa x 2^twoExp x 10^tenExp x scale, rounded up (towards +infinity) as Kubernetes'
 * Value()/MilliValue() do, in exact integer arithmetic so "531.719G" is 531719000000 bytes, not one more.
 */
function exactCeil(negative: boolean, mantissa: string, twoExp: bigint, tenExp: number, scale: number): bigint | null {
  const [ip = '', fp = ''] = mantissa.split('.');
  const digits = BigInt(`${ip}${fp}` || '0');
  if (digits === 0n) return 0n;
  const ten = tenExp - fp.length;
  if (ten > MAX_TEN_EXP) return null;
  // Far below one unit: the magnitude is in (0, 1), so it rounds up to 1, or (negative) to 0.
  if (ten < -MAX_TEN_EXP - `${ip}${fp}`.length) return negative ? 0n : 1n;
  let num = digits * BigInt(scale) * (1n << twoExp);
  let den = 1n;
  if (ten >= 0) num *= 10n ** BigInt(ten);
  else den = 10n ** BigInt(-ten);
  const whole = num / den;
  if (negative) return -whole;
  return num % den === 0n ? whole : whole + 1n;
}

/** Parses a quantity to a number of base units times `scale` (1000 for millicores); rounds up like Kubernetes' Value()/MilliValue(). */
export function parseQuantity(input: unknown, scale = 1): QuantityResult {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { kind: 'invalid', reason: `quantity ${input} is not finite` };
    return { kind: 'ok', value: Math.ceil(input * scale) };
  }
  if (typeof input !== 'string') return { kind: 'invalid', reason: `quantity must be a string, got ${typeof input}` };
  const text = input.trim();
  const m = text.length <= MAX_QUANTITY_CHARS ? QUANTITY_RE.exec(text) : null;
  if (!m) return { kind: 'invalid', reason: `"${text.slice(0, 64)}" is not a Kubernetes quantity` };
  const suffix = m[3];
  const twoExp = suffix !== undefined ? BINARY_EXP[suffix] ?? 0n : 0n;
  const tenExp = suffix !== undefined ? DECIMAL_EXP[suffix] ?? 0 : m[4] !== undefined ? Number(m[4]) : 0;
  const value = Number.isSafeInteger(tenExp) ? exactCeil(m[1] === '-', m[2] as string, twoExp, tenExp, scale) : null;
  if (value === null || value > MAX_SAFE || value < -MAX_SAFE) return { kind: 'invalid', reason: `quantity "${text.slice(0, 64)}" is out of range` };
  return { kind: 'ok', value: Number(value) };
}

/** Formats bytes with a binary suffix for reasons: 53687091200 -> "50Gi", 1536 -> "1.5Ki". */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0';
  const units: [string, number][] = [['Ei', 2 ** 60], ['Pi', 2 ** 50], ['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]];
  const sign = bytes < 0 ? '-' : '';
  const abs = Math.abs(bytes);
  for (const [suffix, size] of units) {
    if (abs >= size) {
      const v = abs / size;
      const text = Number.isInteger(v) ? String(v) : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2).replace(/\.?0+$/, '');
      return `${sign}${text}${suffix}`;
    }
  }
  return `${sign}${abs}`;
}

/** Formats a resource amount in its natural unit for reasons (cpu in cores or m, memory-like in bytes). */
export function formatResource(resource: string, amount: number): string {
  if (resource === 'cpu') return amount % 1000 === 0 ? String(amount / 1000) : `${amount}m`;
  if (resource === 'memory' || resource === 'ephemeral-storage' || resource.startsWith('hugepages-')) return formatBytes(amount);
  return String(amount);
}

// Kubernetes resource.Quantity parsing into integers: CPU in millicores, everything else in base
// units (bytes, counts). Source: k8s.io/apimachinery pkg/api/resource/quantity.go (suffixes).

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

const QUANTITY_RE = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export type QuantityResult = { kind: 'ok'; value: number } | { kind: 'invalid'; reason: string };

/** Parses a quantity to a number of base units times `scale` (1000 for millicores); rounds up like Kubernetes' Value()/MilliValue(). */
export function parseQuantity(input: unknown, scale = 1): QuantityResult {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { kind: 'invalid', reason: `quantity ${input} is not finite` };
    return { kind: 'ok', value: Math.ceil(input * scale) };
  }
  if (typeof input !== 'string') return { kind: 'invalid', reason: `quantity must be a string, got ${typeof input}` };
  const text = input.trim();
  const m = QUANTITY_RE.exec(text);
  if (!m) return { kind: 'invalid', reason: `"${text.slice(0, 64)}" is not a Kubernetes quantity` };
  const num = Number(m[1]);
  let mult: number;
  if (m[2] !== undefined) mult = BINARY[m[2]] ?? DECIMAL[m[2]] ?? 1;
  else if (m[3] !== undefined) mult = 10 ** Number(m[3]);
  else mult = 1;
  const value = num * mult * scale;
  if (!Number.isFinite(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER) {
    return { kind: 'invalid', reason: `quantity "${text.slice(0, 64)}" is out of range` };
  }
  // Round up small fractions the way Kubernetes does (1.5m cpu -> 2m), but absorb float noise first.
  const rounded = Math.round(value);
  return { kind: 'ok', value: Math.abs(value - rounded) < 1e-6 ? rounded : Math.ceil(value) };
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

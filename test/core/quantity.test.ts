// Kubernetes quantities as integers: exact, rounded up the way Value()/MilliValue() round.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseQuantity } from '../../src/core/quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['531.719G', 1, 531_719_000_000], // a float would give one byte more
    ['1.5Gi', 1, 1_610_612_736],
    ['.5Ki', 1, 512],
    ['1e9', 1, 1_000_000_000],
    ['1E3', 1, 1000],
    ['+3', 1, 3],
    ['32Gi', 1, 34_359_738_368],
    ['0.1', 1000, 100],
    ['1.5m', 1000, 2], // fractions of the unit round up
    ['100n', 1000, 1],
    ['1e-99999999', 1, 1], // far below one unit, without computing 10^99999999
    ['-0.5', 1, 0],
    ['0', 1, 0],
  ])('%s (scale %d) is %d', (text, scale, value) => {
    expect(parseQuantity(text, scale)).toEqual({ kind: 'ok', value });
  });

  it.each([['1e16'], ['1e99999999'], ['8Ei'], ['12abc'], [''], ['1.2.3'], ['x'.repeat(200)]])('refuses %j with a reason', (text) => {
    const r = parseQuantity(text);
    expect(r.kind).toBe('invalid');
  });

  it('matches exact decimal arithmetic for any mantissa and decimal suffix, and refuses what is beyond a safe integer', () => {
    const suffixes: [string, number][] = [['', 0], ['k', 3], ['M', 6], ['G', 9], ['T', 12]];
    fc.assert(fc.property(fc.nat({ max: 999_999 }), fc.nat({ max: 999 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom(...suffixes), (ip, fp, fpDigits, [suffix, exp]) => {
      const frac = fpDigits === 0 ? '' : `.${String(fp).padStart(3, '0').slice(0, fpDigits)}`;
      const text = `${ip}${frac}${suffix}`;
      const exact = BigInt(`${ip}${frac.slice(1)}`) * 10n ** BigInt(exp);
      const den = 10n ** BigInt(Math.max(0, frac.length - 1));
      const want = exact / den + (exact % den === 0n ? 0n : 1n);
      if (want > BigInt(Number.MAX_SAFE_INTEGER)) expect(parseQuantity(text).kind).toBe('invalid');
      else expect(parseQuantity(text)).toEqual({ kind: 'ok', value: Number(want) });
    }), { numRuns: 2000 });
  });
});

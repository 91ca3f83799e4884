// The chaos run's fault schedule: a seed repeats it exactly, and it strikes what it was told to.

import { describe, expect, it } from 'vitest';
import { AGENT_FAULTS, FAULT_KINDS, faultSchedule } from '../../bench/chaos/schedule.js';

describe('chaos fault schedule', () => {
  it('is the same for the same seed and differs for another', () => {
    const a = faultSchedule({ seed: 42, steps: 50, kinds: FAULT_KINDS });
    const b = faultSchedule({ seed: 42, steps: 50, kinds: FAULT_KINDS });
    const c = faultSchedule({ seed: 43, steps: 50, kinds: FAULT_KINDS });
    expect(b).toEqual(a);
    expect(c.map((s) => s.kind)).not.toEqual(a.map((s) => s.kind));
  });

  it('draws only the given kinds, strikes bursts back to back and pauses after each', () => {
    const kinds = FAULT_KINDS.filter((k) => !AGENT_FAULTS.includes(k));
    const s = faultSchedule({ seed: 7, steps: 200, kinds, gapMs: [1000, 2000] });
    expect(s).toHaveLength(200);
    expect(s.every((x) => kinds.includes(x.kind))).toBe(true);
    expect(new Set(s.map((x) => x.kind)).size).toBe(kinds.length);
    // Within a burst only the last step pauses; bursts of 2 and 3 occur.
    const bursts = new Map<number, typeof s>();
    for (const x of s) bursts.set(x.burst, [...(bursts.get(x.burst) ?? []), x]);
    for (const steps of [...bursts.values()].slice(0, -1)) {
      expect(steps.slice(0, -1).every((x) => x.gapMs === 0)).toBe(true);
      const last = steps[steps.length - 1]!;
      expect(last.gapMs).toBeGreaterThanOrEqual(1000);
      expect(last.gapMs).toBeLessThanOrEqual(2000);
    }
    expect([...bursts.values()].some((b) => b.length > 1)).toBe(true);
    expect(s.map((x) => x.index)).toEqual(s.map((_, i) => i + 1));
  });

  it('refuses an empty list of kinds', () => {
    expect(() => faultSchedule({ seed: 1, steps: 1, kinds: [] })).toThrow(/no fault kinds/);
  });
});

// The bind path's time budget, in one place (issue 11). kube-scheduler waits `httpTimeout` for our
// answer to POST /bind; past it, it forgets the pod while we may still bind it. Every wait on the
// path is a configuration value, and their worst-case sum must fit inside that timeout:
//
//   lag grace     a bind our watch cannot place yet is re-checked for up to  --bind-lag-grace-ms
//   hold          a gang member waits at the barrier, answered after      --bind-hold-limit-ms
//   sweep         the hold is answered at the next barrier sweep, up to   --gang-sweep-ms later
//   binding       the Binding call (and on 409, the read of the pod) share --binding-timeout-ms
//   margin        event-loop lag and the HTTP exchange itself             BIND_BUDGET_MARGIN_MS
//
// A member released just before its hold limit still has to be bound, so the worst case is the sum.

export interface BindBudget {
  lagGraceMs: number;
  holdLimitMs: number;
  sweepMs: number;
  bindingTimeoutMs: number;
  /** The scheduler's extenders[].httpTimeout (manifests/scheduler/kube-scheduler-config.yaml). */
  schedulerHttpTimeoutMs: number;
}

/** Left over for event-loop lag (p99 118 ms in the 30-minute soak, bench/RESULTS.md) and the exchange. */
export const BIND_BUDGET_MARGIN_MS = 1000;

/** The longest one bind request can take from arrival to answer. */
export function bindWorstCaseMs(b: BindBudget): number {
  return b.lagGraceMs + b.holdLimitMs + b.sweepMs + b.bindingTimeoutMs + BIND_BUDGET_MARGIN_MS;
}

/** Problems with the budget, for users; empty when the worst case fits the scheduler's timeout. */
export function bindBudgetErrors(b: BindBudget): string[] {
  const worst = bindWorstCaseMs(b);
  if (worst <= b.schedulerHttpTimeoutMs) return [];
  return [
    `the bind path can take ${worst} ms, more than the scheduler's httpTimeout of ${b.schedulerHttpTimeoutMs} ms ` +
      `(--scheduler-http-timeout-ms): --bind-lag-grace-ms ${b.lagGraceMs} + --bind-hold-limit-ms ${b.holdLimitMs} + ` +
      `--gang-sweep-ms ${b.sweepMs} + --binding-timeout-ms ${b.bindingTimeoutMs} + ${BIND_BUDGET_MARGIN_MS} ms margin; ` +
      'lower one of them, or raise httpTimeout in the scheduler configuration and --scheduler-http-timeout-ms with it',
  ];
}

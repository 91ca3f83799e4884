// Prometheus metrics of the mutating webhook, registered on a registry the caller owns (the extender's,
// so /metrics serves them with the rest).

import { Counter, Histogram, type Registry } from 'prom-client';

export interface WebhookMetrics {
  /** result: marked (patched), unchanged (allowed as it is, also other kinds and operations), refused (4xx/5xx). */
  requests: Counter<'result'>;
  /** why: gang, local-claim, unknown-claim (the cache did not know a claim or class: watch lag). */
  marks: Counter<'why'>;
  duration: Histogram<string>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  return {
    requests: new Counter({
      name: 'extender_webhook_requests_total', help: 'Mutating webhook requests by result (marked, unchanged, refused).', labelNames: ['result'], registers: [registry],
    }),
    marks: new Counter({
      name: 'extender_webhook_marks_total', help: 'Pods the webhook marked, by why (gang, local-claim, unknown-claim).', labelNames: ['why'], registers: [registry],
    }),
    duration: new Histogram({
      name: 'extender_webhook_request_duration_seconds', help: 'Server-side time per webhook request, body read to response.', registers: [registry],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
  };
}

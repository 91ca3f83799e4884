// The webhook's certificate manager (issue 12, "TLS for the webhook with no manual steps"). Self-managed
// mode keeps a CA and a serving pair in a Secret, the CA in the webhook configuration's caBundle, and
// renews both before expiry; file mode follows a pair cert-manager mounts. Either way the HTTPS server
// learns of every pair through onCertificate (it calls setSecureContext), the first one before start resolves.

import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { pollFiles, type FileWatchState } from './files.js';
import { createKubeCertStore, type CertStore } from './kube.js';
import { requiredNames, type RequiredNames } from './rules.js';
import { checkCertificates, type CheckResult } from './self-managed.js';
import { CertificateError, type CertMode, type CertPair, type CertStatus } from './types.js';

const DAY_MS = 86_400_000;

export const CERT_DEFAULTS = Object.freeze({
  checkEveryMs: 3_600_000,
  retryEveryMs: 10_000,
  filePollMs: 10_000,
  servingValidityMs: 365 * DAY_MS,
  caValidityMs: 3650 * DAY_MS,
  renewBeforeFraction: 1 / 3,
  startTimeoutMs: 60_000,
});

export interface CertificateManagerOptions {
  mode: CertMode;
  /** Self-managed mode: the cluster (or `store`, which tests give in its place). */
  kubeConfig?: KubeConfig;
  store?: CertStore;
  namespace: string;
  secretName: string;
  webhookConfigName: string;
  serviceName: string;
  extraDnsNames?: readonly string[];
  extraIps?: readonly string[];
  /** File mode: the mounted pair. */
  certFile?: string;
  keyFile?: string;
  /** Self-managed: how often the Secret and the caBundle are checked. Default 1 h. */
  checkEveryMs?: number;
  /** Self-managed: the next check after a problem (configuration missing, API error). Default 10 s. */
  retryEveryMs?: number;
  /** File mode: how often the files are read. Default 10 s. */
  filePollMs?: number;
  /** Default 365 days. */
  servingValidityMs?: number;
  /** Default 3650 days. */
  caValidityMs?: number;
  /** Renew a certificate when less than this fraction of its life remains. Default 1/3. */
  renewBeforeFraction?: number;
  /** How long start keeps trying to obtain a first usable pair. Default 60 s. */
  startTimeoutMs?: number;
  clock?: () => number;
  logger: Logger;
  /** Called with every new pair, the first before start resolves. May throw: reported, never fatal. */
  onCertificate(pair: CertPair): void;
}

export interface CertificateManager {
  status(): CertStatus;
  current(): CertPair;
  /** Stops the timer; a check in flight finishes without calling onCertificate. */
  stop(): void;
}

type Settings = Required<Pick<CertificateManagerOptions, 'checkEveryMs' | 'retryEveryMs' | 'filePollMs' | 'servingValidityMs' | 'caValidityMs' | 'renewBeforeFraction' | 'startTimeoutMs' | 'clock'>>;

function settings(o: CertificateManagerOptions): Settings {
  const s: Settings = { ...CERT_DEFAULTS, clock: Date.now };
  for (const key of Object.keys(s) as (keyof Settings)[]) if (o[key] !== undefined) Object.assign(s, { [key]: o[key] });
  return s;
}

/** Every problem of the options at once (config style: validated once, all errors listed). */
export function certOptionErrors(o: CertificateManagerOptions, s: Settings = settings(o)): string[] {
  const errors: string[] = [];
  const positive = ['checkEveryMs', 'retryEveryMs', 'filePollMs', 'servingValidityMs', 'caValidityMs', 'startTimeoutMs'] as const;
  for (const key of positive) if (!(Number.isFinite(s[key]) && s[key] > 0)) errors.push(`${key} must be a positive number`);
  if (!(s.renewBeforeFraction > 0 && s.renewBeforeFraction < 1)) errors.push('renewBeforeFraction must be between 0 and 1');
  if (o.mode === 'files' && (!o.certFile || !o.keyFile)) errors.push('file mode needs certFile and keyFile');
  if (o.mode === 'self-managed') {
    if (!o.kubeConfig && !o.store) errors.push('self-managed mode needs a kubeConfig');
    if (!o.secretName || !o.webhookConfigName || !o.namespace) errors.push('self-managed mode needs namespace, secretName and webhookConfigName');
    if (s.servingValidityMs > s.caValidityMs) errors.push('servingValidityMs must not exceed caValidityMs');
  }
  if (!o.serviceName || !o.namespace) errors.push('serviceName and namespace name the certificate');
  return errors;
}

/** Starts the manager: resolves once a usable pair is loaded and handed to onCertificate; throws CertificateError. */
export async function startCertificateManager(o: CertificateManagerOptions): Promise<CertificateManager> {
  const s = settings(o);
  const errors = certOptionErrors(o, s);
  if (errors.length > 0) throw new CertificateError('CERT_BAD_OPTIONS', `webhook certificate options: ${errors.join('; ')}`);
  const required = requiredNames(o, o.mode);
  return o.mode === 'files' ? startFileMode(o, s, required) : startSelfManaged(o, s, required);
}

/** The timer and status both modes share. */
class Runner {
  stopped = false;
  pair: CertPair | null = null;
  notAfterMs: number | null = null;
  caNotAfterMs: number | null = null;
  caBundlePatched = false;
  lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: CertificateManagerOptions, private readonly s: Settings) {}

  hand(pair: CertPair): void {
    if (this.stopped) return;
    this.pair = pair;
    try {
      this.o.onCertificate(pair);
    } catch (err) {
      this.problem(`onCertificate: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Records a problem, logged once per distinct message. */
  problem(message: string | null): void {
    if (message !== null && message !== this.lastError) this.o.logger.warn({ problem: message }, 'webhook certificate');
    if (message === null && this.lastError !== null) this.o.logger.info('webhook certificate: problem solved');
    this.lastError = message;
  }

  schedule(ms: number, tick: () => Promise<void>): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      tick().catch((err: unknown) => this.problem(String(err)));
    }, ms);
    this.timer.unref();
  }

  manager(): CertificateManager {
    return {
      status: () => ({
        mode: this.o.mode,
        ready: this.pair !== null && this.notAfterMs !== null && this.s.clock() < this.notAfterMs,
        notAfter: iso(this.notAfterMs),
        caNotAfter: iso(this.caNotAfterMs),
        caBundlePatched: this.caBundlePatched,
        lastError: this.lastError,
      }),
      current: () => {
        if (!this.pair) throw new CertificateError('CERT_NOT_AVAILABLE', 'no webhook certificate yet');
        return this.pair;
      },
      stop: () => {
        this.stopped = true;
        if (this.timer) clearTimeout(this.timer);
      },
    };
  }

  /** Repeats `attempt` every retryEveryMs until it succeeds or startTimeoutMs passes. */
  async untilFirst<T>(attempt: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.s.startTimeoutMs;
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.problem(message);
        if (Date.now() + this.s.retryEveryMs > deadline) {
          throw new CertificateError('CERT_NOT_AVAILABLE', `no usable webhook certificate within ${this.s.startTimeoutMs} ms: ${message}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, this.s.retryEveryMs));
      }
    }
  }
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function storeFor(kc: KubeConfig | undefined, o: CertificateManagerOptions): CertStore {
  if (!kc) throw new CertificateError('CERT_BAD_OPTIONS', 'self-managed mode needs a kubeConfig');
  return createKubeCertStore(kc, o);
}

async function startSelfManaged(o: CertificateManagerOptions, s: Settings, required: RequiredNames): Promise<CertificateManager> {
  const store = o.store ?? storeFor(o.kubeConfig, o);
  const run = new Runner(o, s);
  const check = (): Promise<CheckResult> => checkCertificates({
    store, required, renewBeforeFraction: s.renewBeforeFraction, servingValidityMs: s.servingValidityMs,
    caValidityMs: s.caValidityMs, webhookConfigName: o.webhookConfigName, logger: o.logger,
  }, s.clock());
  const apply = (r: CheckResult): void => {
    run.notAfterMs = r.notAfterMs;
    run.caNotAfterMs = r.caNotAfterMs;
    run.caBundlePatched = r.caBundlePatched;
    run.problem(r.bundleProblem);
    if (run.pair?.cert !== r.pair.cert || run.pair.key !== r.pair.key) {
      o.logger.info({ serial: r.serial, notAfter: iso(r.notAfterMs), caNotAfter: iso(r.caNotAfterMs) }, 'webhook serving certificate loaded');
      run.hand(r.pair);
    }
  };
  const tick = async (): Promise<void> => {
    try {
      apply(await check());
    } catch (err) {
      // The last good pair stays served; the next check comes sooner.
      run.problem(err instanceof Error ? err.message : String(err));
    }
    run.schedule(run.lastError === null ? s.checkEveryMs : s.retryEveryMs, tick);
  };
  apply(await run.untilFirst(check));
  run.schedule(run.lastError === null ? s.checkEveryMs : s.retryEveryMs, tick);
  return run.manager();
}

async function startFileMode(o: CertificateManagerOptions, s: Settings, required: RequiredNames): Promise<CertificateManager> {
  const certFile = o.certFile ?? '';
  const keyFile = o.keyFile ?? '';
  const run = new Runner(o, s);
  const state: FileWatchState = { good: null, lastSeen: null, lastError: null };
  const poll = async (): Promise<void> => {
    const outcome = await pollFiles(state, certFile, keyFile, required, s.clock);
    run.problem(state.lastError);
    if (outcome === 'changed' && state.good) {
      run.notAfterMs = state.good.notAfterMs;
      o.logger.info({ serial: state.good.serial, notAfter: iso(state.good.notAfterMs), certFile }, 'webhook serving certificate loaded from files');
      run.hand(state.good.pair);
    }
  };
  await run.untilFirst(async () => {
    await poll();
    if (!state.good) throw new Error(state.lastError ?? `${certFile}: no usable pair`);
  });
  const tick = async (): Promise<void> => {
    await poll().catch((err: unknown) => run.problem(String(err)));
    run.schedule(s.filePollMs, tick);
  };
  run.schedule(s.filePollMs, tick);
  return run.manager();
}

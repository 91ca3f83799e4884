// Shapes shared by the webhook certificate manager's parts: the pair handed to the HTTPS server, the
// status shown in /readyz, the Secret's keys and the coded error the manager throws (issue 12, TLS).

/** A serving certificate (PEM, leaf first) and its private key (PEM), as `setSecureContext` takes them. */
export interface CertPair {
  cert: string;
  key: string;
}

export type CertMode = 'self-managed' | 'files';

/** The manager's state for /readyz detail. Times are ISO 8601; null when unknown. */
export interface CertStatus {
  mode: CertMode;
  /** A serving pair is loaded and not expired. */
  ready: boolean;
  notAfter: string | null;
  /** The current CA's expiry (self-managed mode only). */
  caNotAfter: string | null;
  /** Every webhook of the configuration carries our caBundle (always false in file mode: cainjector's job). */
  caBundlePatched: boolean;
  /** The last problem (a missing webhook configuration, an unusable file pair, an API error); null once solved. */
  lastError: string | null;
}

/**
 * Keys of the Secret in self-managed mode. `ca.crt`, `tls.crt` and `tls.key` are the names cert-manager and
 * kubernetes.io/tls Secrets use; `ca.key` holds the CA's key; `ca-previous.crt` the replaced CAs that are
 * still valid, which stay in the caBundle until they expire (CA rotation).
 */
export const SECRET_KEY_CA_CERT = 'ca.crt';
export const SECRET_KEY_CA_KEY = 'ca.key';
export const SECRET_KEY_TLS_CERT = 'tls.crt';
export const SECRET_KEY_TLS_KEY = 'tls.key';
export const SECRET_KEY_PREVIOUS_CAS = 'ca-previous.crt';

export type CertErrorCode = 'CERT_NOT_AVAILABLE' | 'CERT_SECRET_CONFLICT' | 'CERT_BAD_OPTIONS';

/** The certificate manager's coded error (start could not obtain a pair, a Secret race never settled, bad options). */
export class CertificateError extends Error {
  readonly code: CertErrorCode;
  constructor(code: CertErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertificateError';
    this.code = code;
  }
}

// AdmissionReview v1 in and out (k8s.io/api admission/v1 types.go). Decoding refuses a malformed review
// with a coded error (HTTP 400: the API server then applies the webhook's failurePolicy); a review the
// webhook has no business with (another kind, another operation, a subresource) is allowed unchanged.

import { badRequest } from '../errors.js';
import { mutatePod, podNamespace, type JsonPatchOp, type MarkLookup, type MarkWhy } from './mark.js';
import { isObj, str, type Obj } from '../json.js';

export const ADMISSION_API_VERSION = 'admission.k8s.io/v1';
export const ADMISSION_REVIEW_KIND = 'AdmissionReview';
/**
 * Our audit annotation key. The API server prefixes it with the webhook's name ("<webhook>/mark") and
 * drops keys that are not qualified names (apiserver webhook dispatcher: h.Name + "/" + k).
 */
export const AUDIT_ANNOTATION_KEY = 'mark';
/** Audit annotation values are kept short: a reason, not a dump of the pod. */
const AUDIT_VALUE_MAX = 512;

function shown(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** What the webhook was asked: a pod to decide, or a request it leaves alone (with why). */
export type AdmissionCase =
  | { kind: 'pod'; uid: string; namespace: string; name: string; pod: Obj }
  | { kind: 'skip'; uid: string; reason: string; warning: string | null };

/** Decodes an AdmissionReview v1 body; throws BAD_REQUEST (400) when it is not one. */
export function decodeAdmissionReview(body: unknown): AdmissionCase {
  if (!isObj(body)) throw badRequest(`the body must be an AdmissionReview object, got ${Array.isArray(body) ? 'an array' : body === null || body === undefined ? 'nothing' : typeof body}`);
  if (body.apiVersion !== ADMISSION_API_VERSION) throw badRequest(`AdmissionReview apiVersion must be ${ADMISSION_API_VERSION}, got '${shown(body.apiVersion)}' (register the webhook with admissionReviewVersions: [v1])`);
  if (body.kind !== ADMISSION_REVIEW_KIND) throw badRequest(`kind must be ${ADMISSION_REVIEW_KIND}, got '${shown(body.kind)}'`);
  const req = body.request;
  if (!isObj(req)) throw badRequest('AdmissionReview has no request');
  const uid = req.uid;
  if (typeof uid !== 'string' || uid === '') throw badRequest('AdmissionReview request.uid must be a non-empty string');
  const k = isObj(req.kind) ? req.kind : {};
  if (k.group !== '' || k.version !== 'v1' || k.kind !== 'Pod') {
    const got = `${str(k.group) || 'core'}/${str(k.version) || '?'} ${str(k.kind) || '?'}`;
    return { kind: 'skip', uid, reason: `not a Pod (${shown(got)}): left unchanged`, warning: `edge-gang webhook expects core/v1 Pod, got ${shown(got)}; left unchanged` };
  }
  if (str(req.subResource) !== '') return { kind: 'skip', uid, reason: `subresource ${shown(req.subResource)}: left unchanged`, warning: null };
  if (req.operation !== 'CREATE') return { kind: 'skip', uid, reason: `operation ${shown(req.operation)}: the mark is added at CREATE only`, warning: null };
  const pod = req.object;
  if (!isObj(pod)) throw badRequest('AdmissionReview request.object must be the Pod being created');
  const meta = isObj(pod.metadata) ? pod.metadata : {};
  return { kind: 'pod', uid, namespace: podNamespace(pod, str(req.namespace)), name: str(req.name) || str(meta.name) || str(meta.generateName), pod };
}

export interface AdmissionResponseV1 {
  uid: string;
  allowed: true;
  patchType?: 'JSONPatch';
  /** base64 of the JSON Patch. */
  patch?: string;
  auditAnnotations?: Record<string, string>;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: typeof ADMISSION_REVIEW_KIND;
  response: AdmissionResponseV1;
}

/** An allowed response: with a JSONPatch when there are ops, the reason as an audit annotation, warnings if any. */
export function encodeAdmissionReview(uid: string, out: { ops?: JsonPatchOp[]; reason?: string; warnings?: string[] }): AdmissionReviewOut {
  const response: AdmissionResponseV1 = { uid, allowed: true };
  if (out.ops && out.ops.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(out.ops)).toString('base64');
  }
  if (out.reason) response.auditAnnotations = { [AUDIT_ANNOTATION_KEY]: out.reason.length > AUDIT_VALUE_MAX ? `${out.reason.slice(0, AUDIT_VALUE_MAX)}…` : out.reason };
  if (out.warnings && out.warnings.length > 0) response.warnings = out.warnings;
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_REVIEW_KIND, response };
}

/** One decision, for metrics, logs and the caller's onDecision hook. */
export interface WebhookDecision {
  uid: string;
  /** 'skipped': not a pod creation this webhook decides. */
  result: 'marked' | 'unchanged' | 'skipped';
  why: MarkWhy | null;
  namespace: string;
  name: string;
  reason: string;
}

/** decode -> decide -> encode; throws BAD_REQUEST for a malformed review. */
export function admit(body: unknown, lookup: MarkLookup): { review: AdmissionReviewOut; decision: WebhookDecision } {
  const c = decodeAdmissionReview(body);
  if (c.kind === 'skip') {
    return {
      review: encodeAdmissionReview(c.uid, { reason: c.reason, ...(c.warning ? { warnings: [c.warning] } : {}) }),
      decision: { uid: c.uid, result: 'skipped', why: null, namespace: '', name: '', reason: c.reason },
    };
  }
  const m = mutatePod(c.pod, lookup, c.namespace);
  return {
    review: encodeAdmissionReview(c.uid, { ops: m.ops, reason: m.reason }),
    decision: { uid: c.uid, result: m.result, why: m.why, namespace: c.namespace, name: c.name, reason: m.reason },
  };
}

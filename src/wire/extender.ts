// kube-scheduler extender wire types, in the exact casing the scheduler uses.
// Source: k8s.io/kube-scheduler extender/v1/types.go. The Go structs carry no json tags, so the keys are
// the Go field names (PascalCase); nested Kubernetes objects use ordinary lowerCamel JSON. Go decodes our
// answers case-insensitively, but we always emit the exact names.

/** A Kubernetes object as plain JSON; the adapters narrow it. */
export type KubeObject = Record<string, unknown> & {
  metadata?: Record<string, unknown>;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

export interface NodeList {
  metadata?: Record<string, unknown>;
  items: KubeObject[];
}

/** ExtenderArgs: Nodes when nodeCacheCapable=false, NodeNames when true; the other is null. */
export interface ExtenderArgs {
  Pod: KubeObject;
  Nodes: NodeList | null;
  NodeNames: string[] | null;
}

export type FailedNodesMap = Record<string, string>;

export interface ExtenderFilterResult {
  Nodes: NodeList | null;
  NodeNames: string[] | null;
  FailedNodes: FailedNodesMap;
  /** Since 1.21: nodes here are skipped by preemption. */
  FailedAndUnresolvableNodes: FailedNodesMap;
  Error: string;
}

export interface HostPriority {
  Host: string;
  /** Integer 0..10 (MinExtenderPriority..MaxExtenderPriority). */
  Score: number;
}

export type HostPriorityList = HostPriority[];

export interface ExtenderBindingArgs {
  PodName: string;
  PodNamespace: string;
  PodUID: string;
  Node: string;
}

export interface ExtenderBindingResult {
  Error: string;
}

export interface MetaPod {
  UID: string;
}

export interface MetaVictims {
  Pods: MetaPod[];
  NumPDBViolations: number;
}

export interface ExtenderPreemptionArgs {
  Pod: KubeObject;
  NodeNameToVictims: Record<string, { Pods: KubeObject[]; NumPDBViolations: number }> | null;
  NodeNameToMetaVictims: Record<string, MetaVictims> | null;
}

export interface ExtenderPreemptionResult {
  NodeNameToMetaVictims: Record<string, MetaVictims>;
}

export const MIN_EXTENDER_PRIORITY = 0;
export const MAX_EXTENDER_PRIORITY = 10;

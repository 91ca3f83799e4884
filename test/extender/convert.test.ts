// Kubernetes JSON -> the core's pod model: the rules that decide what a pod asks for.

import { describe, expect, it } from 'vitest';
import { toPod } from '../../src/extender/convert.js';
import { RESOURCE_SCHEDULING_MARK } from '../../src/wire/keys.js';

const pod = (spec: Record<string, unknown>) => ({ metadata: { name: 'p', namespace: 'ns', uid: 'u' }, spec });

describe('toPod', () => {
  it('does not count the webhook\'s scheduling mark as a resource (no node has it)', () => {
    const m = toPod(pod({ containers: [{ name: 'c', resources: { requests: { cpu: '1', [RESOURCE_SCHEDULING_MARK]: '1' }, limits: { [RESOURCE_SCHEDULING_MARK]: '1' } } }] }));
    expect(m?.requests).toEqual({ cpu: 1000 });
  });

  it('names a generic ephemeral volume\'s claim <pod>-<volume>, as its controller does', () => {
    const m = toPod(pod({
      containers: [{ name: 'c' }],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'claim-a' } },
        { name: 'scratch', ephemeral: { volumeClaimTemplate: { spec: { storageClassName: 'csi-local-lvm' } } } },
        { name: 'cfg', configMap: { name: 'x' } },
      ],
    }));
    expect(m?.claimNames).toEqual(['claim-a', 'p-scratch']);
  });
});

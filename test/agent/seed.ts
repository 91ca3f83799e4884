// The topology ConfigMap of seed 002, section 8.3 (ACK@Edge "Use LVM to manage local storage"), and the fuller
// ACK example of lvm-anchors 2.1, as test inputs.

export const SEED_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: node-resource-topo
  namespace: kube-system
data:
  volumegroup: |-
    volumegroup:
    - name: volumegroup1
      key: kubernetes.io/storagetype
      operator: In
      value: lvm
      topology:
        type: device
        devices:
        - /dev/sdb1
        - /dev/sdb2
        - /dev/sdc
`;

export const SEED_BARE = `volumegroup:
- name: volumegroup1
  key: kubernetes.io/storagetype
  operator: In
  value: lvm
  topology:
    type: device
    devices:
    - /dev/sdb1
    - /dev/sdb2
    - /dev/sdc
`;

export const ACK_FULL_CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: node-resource-topo
  namespace: kube-system
data:
  volumegroup: |-
    volumegroup:
    - name: volumegroup1
      key: kubernetes.io/storagetype
      operator: In
      value: lvm
      topology:
        type: device
        devices:
        - /dev/sdb1
        - /dev/sdb2
        - /dev/sdc
    - name: volumegroup2
      key: kubernetes.io/nodetype
      operator: NotIn
      value: localdisk
      topology:
        type: alibabacloud-local-disk
    - name: volumegroup1
      key: kubernetes.io/hostname
      operator: Exists
      value: cn-beijing.192.168.3.35
      topology:
        type: pmem
        regions:
        - region0
  quotapath: |-
    quotapath:
    - name: /mnt/path1
      key: kubernetes.io/hostname
      operator: In
      value: cn-beijing.192.168.3.35
      topology:
        type: device
        options: prjquota
        fstype: ext4
        devices:
        - /dev/vdb
`;

/** A bare config with one entry. */
export function oneEntry(fields: { name?: string; key?: string; operator?: string; value?: string | null; type?: string; devices?: string[] }): string {
  const lines = ['volumegroup:', `- name: ${fields.name ?? 'vg1'}`, `  key: ${fields.key ?? 'storage'}`, `  operator: ${fields.operator ?? 'In'}`];
  if (fields.value !== null) lines.push(`  value: ${fields.value ?? 'lvm'}`);
  lines.push('  topology:', `    type: ${fields.type ?? 'device'}`);
  const devices = fields.devices ?? ['/dev/sdb'];
  lines.push('    devices:', ...devices.map((d) => `    - ${JSON.stringify(d)}`));
  return `${lines.join('\n')}\n`;
}

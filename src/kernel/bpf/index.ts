// svcplane's BPF loader: libbpf through koffi. See each file's header for its part.
export { Libbpf, type Handle, type LibbpfLogLevel, type LibbpfOptions, type LibbpfPrint } from './libbpf.js';
export { BpfObject, BpfProgram, type BpfObjectOptions } from './bpf-object.js';
export { BpfMap, type BpfMapInfo } from './bpf-map.js';
export { attachCgroup, cgroupLinkIntact, detachPinnedLink, pinnedLinkInfo, type CgroupAttachOutcome, type PinnedLinkInfo } from './cgroup-link.js';
export { attachTc, detachTc, queryTc, interfaceIndex, interfaceNames, type TcDirection, type TcFilterOptions } from './tc.js';
export { ensureBpffs, isBpffs, unpinAll } from './bpffs.js';
export { deleteClsactIfEmpty } from './clsact.js';
export { probeBpf, type BpfProbeOptions, type BpfProbeResult } from './probe.js';
export { inNetns, inFreshNetns } from '../netns.js';
export { BpfError, BpfLoadError, BpfUsageError } from './errors.js';
export * from './constants.js';

// Kernel and libbpf constants the loader needs, with their UAPI names
// (linux/bpf.h, bpf/libbpf.h).

/** bpf_map_update_elem flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

/** enum bpf_map_type (the ones svcplane meets). */
export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_HASH = 5;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;
export const BPF_MAP_TYPE_LRU_HASH = 9;
export const BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
export const BPF_MAP_TYPE_LPM_TRIE = 11;

/** enum bpf_prog_type. */
export const BPF_PROG_TYPE_SCHED_CLS = 3;
export const BPF_PROG_TYPE_CGROUP_SOCK_ADDR = 18;

/** enum bpf_attach_type. */
export const BPF_CGROUP_INET4_CONNECT = 10;
export const BPF_CGROUP_UDP4_SENDMSG = 14;
export const BPF_CGROUP_UDP4_RECVMSG = 19;
export const BPF_CGROUP_INET4_GETPEERNAME = 29;

/** enum bpf_tc_attach_point, enum bpf_tc_flags. */
export const BPF_TC_INGRESS = 1 << 0;
export const BPF_TC_EGRESS = 1 << 1;
export const BPF_TC_F_REPLACE = 1 << 0;

/** enum libbpf_print_level. */
export const LIBBPF_WARN = 0;
export const LIBBPF_INFO = 1;
export const LIBBPF_DEBUG = 2;

/** statfs f_type of a bpf filesystem and of cgroup2. */
export const BPF_FS_MAGIC = 0xcafe4a11;
export const CGROUP2_SUPER_MAGIC = 0x63677270;

export const BPFFS_ROOT = '/sys/fs/bpf';

/** Map types whose kernel implementation has BPF_MAP_UPDATE_BATCH / BPF_MAP_DELETE_BATCH. */
export const UPDATE_BATCH_MAP_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_ARRAY,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
]);
/** Map types with BPF_MAP_LOOKUP_BATCH (not LPM tries). */
export const LOOKUP_BATCH_MAP_TYPES: ReadonlySet<number> = UPDATE_BATCH_MAP_TYPES;
/** The kernel returns ENOSPC from a hash map's lookup batch when one bucket holds more than the count asked for. */
export const ENOSPC = 28;
/** Arrays cannot delete elements at all. */
export const DELETE_BATCH_MAP_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_HASH,
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_LRU_HASH,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
]);
/** Per-CPU maps take and return one value per possible CPU, each padded to 8 bytes. */
export const PERCPU_MAP_TYPES: ReadonlySet<number> = new Set([
  BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE_PERCPU_ARRAY,
  BPF_MAP_TYPE_LRU_PERCPU_HASH,
]);

/** errno values the loader branches on. */
export const EPERM = 1;
export const ENOENT = 2;
export const EEXIST = 17;
export const EINVAL = 22;
export const ENOLINK = 67;
export const EOPNOTSUPP = 95;
/** The kernel-internal ENOTSUPP that leaks out of bpf() for unsupported commands. */
export const ENOTSUPP = 524;

// The userspace mode in `svcplane bench`. Its proxy lives in the agent's process, so the
// in-process backend the other modes' data-plane bench creates would listen in the bench's
// own namespace, not the test bed's node: the mode is listed as skipped, with this reason,
// until its bench (the agent inside the node namespace, beside HAProxy) is written.
export const USERSPACE_BENCH_PENDING =
  'the userspace proxy must run inside the test bed\'s node namespace (the agent process), which this bench does not do yet; see the userspace issue';

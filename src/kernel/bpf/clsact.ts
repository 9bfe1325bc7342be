// The clsact qdisc that attaching a tc program creates (bpf_tc_hook_create) stays when the
// program is detached. Cleanup removes it where it no longer holds any filter (svcplane's were
// the only ones), and never where another tool's filters remain: deleting a clsact qdisc
// deletes every filter on it. libbpf cannot list filters, so tc does.
import { runChecked, runCommand } from '../exec.js';

/** Deletes the interface's clsact qdisc if neither of its hooks has a filter; true when it did. */
export async function deleteClsactIfEmpty(ifname: string): Promise<boolean> {
  for (const hook of ['ingress', 'egress']) {
    const shown = await runCommand('tc', ['filter', 'show', 'dev', ifname, hook]);
    if (shown.code !== 0) return false; // no clsact (or the interface went): nothing to delete
    if (shown.stdout.trim() !== '') return false;
  }
  await runChecked('tc', ['qdisc', 'del', 'dev', ifname, 'clsact']);
  return true;
}

// How the agent finds the API server, as kube-proxy does: an explicit kubeconfig
// file, else the in-cluster service account, else --master alone, else
// client-node's default loading ($KUBECONFIG, ~/.kube/config). --master
// overrides the server in every case.
import { KubeConfig, type Cluster } from '@kubernetes/client-node';
import { SvcplaneError } from '../util/errors.js';

export interface KubeConfigOptions {
  /** --kubeconfig FILE */
  readonly kubeconfig?: string | undefined;
  /** --master URL */
  readonly master?: string | undefined;
  /** Where KUBERNETES_SERVICE_HOST is read (process.env by default). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export class KubeConfigError extends SvcplaneError {
  override readonly code = 'SVCPLANE_KUBECONFIG';
}

export function buildKubeConfig(options: KubeConfigOptions): KubeConfig {
  const kc = new KubeConfig();
  const env = options.env ?? process.env;
  const master = options.master === '' ? undefined : options.master;
  if (master !== undefined && !/^https?:\/\//.test(master)) throw new KubeConfigError(`--master must be an http:// or https:// URL, got ${JSON.stringify(master)}`);
  try {
    if (options.kubeconfig !== undefined && options.kubeconfig !== '') {
      kc.loadFromFile(options.kubeconfig);
    } else if (env['KUBERNETES_SERVICE_HOST'] !== undefined && env['KUBERNETES_SERVICE_HOST'] !== '') {
      kc.loadFromCluster();
    } else if (master !== undefined) {
      kc.loadFromClusterAndUser({ name: 'master', server: master, skipTLSVerify: false }, { name: 'anonymous' });
    } else {
      kc.loadFromDefault();
    }
  } catch (err) {
    throw new KubeConfigError(`cannot load the kubeconfig: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const current = kc.getCurrentCluster();
  if (current === null) throw new KubeConfigError('the kubeconfig has no current context or cluster');
  const server = master ?? current.server;
  // client-node refuses plain-http servers unless skipTLSVerify is set: there is no TLS to verify.
  const cluster: Cluster = { ...current, server, skipTLSVerify: server.startsWith('http:') ? true : current.skipTLSVerify };
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === current.name ? cluster : c)),
    contexts: kc.contexts,
    users: kc.users,
    currentContext: kc.currentContext,
  });
  return kc;
}

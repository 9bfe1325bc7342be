// A container's whole environment as the kubelet builds it (makeEnvironmentVariables):
// the variables it declares, each value expanded against the ones declared before it
// and the service variables, then the service variables it does not declare.
import type { Pod, PodContainer } from '../model/pod.js';
import type { Service } from '../model/types.js';
import { SvcplaneError } from '../util/errors.js';
import { expand } from './expansion.js';
import { serviceEnvironment, type EnvVar } from './service-env.js';

export class UnknownContainerError extends SvcplaneError {
  override readonly code = 'SVCPLANE_UNKNOWN_CONTAINER';
}

/** The named container, or the first one. */
export function pickContainer(pod: Pod, name: string | undefined): PodContainer {
  const found = name === undefined ? pod.containers[0] : pod.containers.find((c) => c.name === name);
  if (!found) {
    const names = pod.containers.map((c) => c.name).join(', ');
    throw new UnknownContainerError(`Pod ${pod.namespace}/${pod.name}: spec.containers: no container named ${JSON.stringify(name)} (it has: ${names})`);
  }
  return found;
}

export interface ContainerEnvOptions {
  /** Overrides spec.enableServiceLinks. */
  readonly enableServiceLinks?: boolean;
}

/**
 * The environment in a fixed order: declared variables first, in declaration order
 * (a name declared twice keeps its first place and its last value), then the service
 * variables (see serviceEnvironment) the container does not declare.
 */
export function containerEnvironment(pod: Pod, container: PodContainer, services: Iterable<Service>, opts: ContainerEnvOptions = {}): EnvVar[] {
  const serviceEnv = serviceEnvironment(services, pod.namespace, opts.enableServiceLinks ?? pod.enableServiceLinks);
  const serviceValues = new Map(serviceEnv.map((e) => [e.name, e.value]));
  const declared = new Map<string, string>();
  for (const v of container.env) {
    const value =
      'fieldRef' in v
        ? v.fieldRef === 'metadata.name'
          ? pod.name
          : pod.namespace
        : // Declared variables shadow service ones; an empty value is not expanded.
          v.value === ''
          ? ''
          : expand(v.value, (name) => declared.get(name) ?? serviceValues.get(name));
    declared.set(v.name, value);
  }
  return [...[...declared].map(([name, value]) => ({ name, value })), ...serviceEnv.filter((e) => !declared.has(e.name))];
}

/** `KEY=VALUE` lines. */
export function formatEnv(env: readonly EnvVar[]): string {
  return env.map((e) => `${e.name}=${e.value}\n`).join('');
}

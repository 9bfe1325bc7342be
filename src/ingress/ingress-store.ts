// The controller's view: Ingresses, IngressClasses and TLS Secrets from source
// batches (Services and EndpointSlices stay in the shared ObjectStore), and
// which Ingresses this controller serves.
import type { Ingress, IngressClass, TLSSecret } from '../model/ingress-types.js';
import type { SourceEvent } from '../sources/source.js';
import { deepEqual } from '../state/deep-equal.js';

export const DEFAULT_INGRESS_CLASS = 'svcplane';
export const CONTROLLER_NAME = 'svcplane.io/ingress';

export interface ClassSelection {
  /** --ingress-class */
  readonly className: string;
  /** --watch-ingress-without-class */
  readonly watchWithoutClass: boolean;
}

export class IngressStore {
  private readonly ingresses = new Map<string, Ingress>();
  private readonly classes = new Map<string, IngressClass>();
  private readonly secrets = new Map<string, TLSSecret>();

  /** Applies a batch; true when something the controller reads changed. */
  apply(events: readonly SourceEvent[]): boolean {
    let changed = false;
    const put = <T>(map: Map<string, T>, key: string, value: T): void => {
      if (deepEqual(map.get(key), value)) return;
      map.set(key, value);
      changed = true;
    };
    const drop = <T>(map: Map<string, T>, key: string): void => {
      if (map.delete(key)) changed = true;
    };
    for (const ev of events) {
      switch (ev.type) {
        case 'ingress-upsert':
          put(this.ingresses, `${ev.ingress.namespace}/${ev.ingress.name}`, ev.ingress);
          break;
        case 'ingress-delete':
          drop(this.ingresses, `${ev.namespace}/${ev.name}`);
          break;
        case 'ingress-class-upsert':
          put(this.classes, ev.ingressClass.name, ev.ingressClass);
          break;
        case 'ingress-class-delete':
          drop(this.classes, ev.name);
          break;
        case 'secret-upsert':
          put(this.secrets, `${ev.secret.namespace}/${ev.secret.name}`, ev.secret);
          break;
        case 'secret-delete':
          drop(this.secrets, `${ev.namespace}/${ev.name}`);
          break;
        default:
          break;
      }
    }
    return changed;
  }

  secret(key: string): TLSSecret | undefined {
    return this.secrets.get(key);
  }

  get ingressCount(): number {
    return this.ingresses.size;
  }

  /** The Ingresses this controller serves (see isServed). */
  served(selection: ClassSelection): Ingress[] {
    return [...this.ingresses.values()].filter((ingress) => this.isServed(ingress, selection));
  }

  /**
   * Served: its class is ours (by name, or an IngressClass whose controller is
   * svcplane's), or it names no class and either we watch class-less Ingresses
   * or our IngressClass is the cluster's default.
   */
  isServed(ingress: Ingress, selection: ClassSelection): boolean {
    const name = ingress.ingressClassName;
    if (name === undefined || name === '') {
      if (selection.watchWithoutClass) return true;
      return [...this.classes.values()].some((c) => c.isDefault && this.isOurs(c, selection));
    }
    if (name === selection.className) return true;
    const cls = this.classes.get(name);
    return cls !== undefined && this.isOurs(cls, selection);
  }

  private isOurs(cls: IngressClass, selection: ClassSelection): boolean {
    return cls.controller === CONTROLLER_NAME || cls.name === selection.className;
  }
}

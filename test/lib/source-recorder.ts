// A SourceSink that keeps every batch and the state the events add up to, as
// the agent's object store would hold it.
import type { EndpointSlice, Node, Service } from '../../src/model/types.js';
import { vi } from 'vitest';
import type { SourceEvent } from '../../src/sources/source.js';

export class SourceRecorder {
  readonly batches: SourceEvent[][] = [];
  readonly services = new Map<string, Service>();
  readonly slices = new Map<string, EndpointSlice>();
  readonly nodes = new Map<string, Node>();

  readonly sink = (events: readonly SourceEvent[]): void => {
    this.batches.push([...events]);
    for (const e of events) {
      switch (e.type) {
        case 'service-upsert':
          this.services.set(`${e.service.namespace}/${e.service.name}`, e.service);
          break;
        case 'service-delete':
          this.services.delete(`${e.namespace}/${e.name}`);
          break;
        case 'slice-upsert':
          this.slices.set(`${e.slice.namespace}/${e.slice.name}`, e.slice);
          break;
        case 'slice-delete':
          this.slices.delete(`${e.namespace}/${e.name}`);
          break;
        case 'node-upsert':
          this.nodes.set(e.node.name, e.node);
          break;
        case 'node-delete':
          this.nodes.delete(e.name);
          break;
        case 'invalid':
        case 'synced':
          break;
      }
    }
  };

  /** Every event delivered, in order. */
  get events(): SourceEvent[] {
    return this.batches.flat();
  }

  /** A compact description of each event since batch `from`: `service-upsert default/web`... */
  describe(from = 0): string[] {
    return this.batches.slice(from).flat().map(describeEvent);
  }

  async waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(this.describe())}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export function describeEvent(e: SourceEvent): string {
  switch (e.type) {
    case 'service-upsert':
      return `${e.type} ${e.service.namespace}/${e.service.name}`;
    case 'slice-upsert':
      return `${e.type} ${e.slice.namespace}/${e.slice.name}`;
    case 'node-upsert':
      return `${e.type} ${e.node.name}`;
    case 'service-delete':
    case 'slice-delete':
      return `${e.type} ${e.namespace}/${e.name}`;
    case 'node-delete':
    case 'namespace-delete':
    case 'ingress-class-delete':
      return `${e.type} ${e.name}`;
    case 'namespace-upsert':
      return `${e.type} ${e.namespace.name}`;
    case 'ingress-upsert':
      return `${e.type} ${e.ingress.namespace}/${e.ingress.name}`;
    case 'ingress-class-upsert':
      return `${e.type} ${e.ingressClass.name}`;
    case 'secret-upsert':
      return `${e.type} ${e.secret.namespace}/${e.secret.name}`;
    case 'ingress-delete':
    case 'secret-delete':
      return `${e.type} ${e.namespace}/${e.name}`;
    case 'invalid':
      return `invalid ${e.errors.map((err) => `${err.ref.kind} ${err.ref.namespace}/${err.ref.name}`).join(', ')}`;
    case 'synced':
      return 'synced';
  }
}

/**
 * Waits (up to 5 s) for batch number `n` (1-based) of what a source delivered and returns it;
 * `batches` is read again on each try, so a test may replace its array between sources.
 */
export async function nthBatch(batches: () => readonly SourceEvent[][], n: number): Promise<SourceEvent[]> {
  return vi.waitFor(
    () => {
      const found = batches()[n - 1];
      if (found === undefined) throw new Error(`only ${batches().length} batches`);
      return found;
    },
    { timeout: 5000, interval: 10 },
  );
}

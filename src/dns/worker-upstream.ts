// Forwarding from a UDP worker goes through the main thread, so the server keeps one cache and
// one view of which upstream answers (as with UDP in the main thread); the workers only answer
// the cluster zone themselves.
import dnsPacket, { type Answer, type DecodedPacket } from 'dns-packet';
import type { Upstream } from './query-handler.js';

export type UpstreamRequest =
  | { readonly type: 'forward'; readonly id: number; readonly raw: Uint8Array; readonly viaTcp: boolean }
  | { readonly type: 'resolve'; readonly id: number; readonly name: string; readonly qtype: string };

export type UpstreamReply =
  | { readonly type: 'forwarded'; readonly id: number; readonly response: Uint8Array | undefined }
  | { readonly type: 'resolved'; readonly id: number; readonly answers: Answer[] };

/** The worker's side: requests posted to the main thread, answered by id. */
export class RelayedUpstream implements Upstream {
  private readonly pending = new Map<number, (reply: UpstreamReply) => void>();
  private nextId = 0;

  constructor(private readonly post: (request: UpstreamRequest) => void) {}

  forward(raw: Buffer, _query: DecodedPacket, viaTcp: boolean): Promise<{ response: Buffer | undefined }> {
    // A copy of just these bytes: cloning a view sends its whole underlying buffer.
    return this.ask({ type: 'forward', id: this.id(), raw: new Uint8Array(raw), viaTcp }).then((r) => ({ response: r.type === 'forwarded' && r.response ? Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength) : undefined }));
  }

  resolve(name: string, type: string): Promise<Answer[]> {
    return this.ask({ type: 'resolve', id: this.id(), name, qtype: type }).then((r) => (r.type === 'resolved' ? r.answers : []));
  }

  /** A reply from the main thread. */
  settle(reply: UpstreamReply): void {
    const done = this.pending.get(reply.id);
    this.pending.delete(reply.id);
    done?.(reply);
  }

  private id(): number {
    this.nextId = (this.nextId + 1) % Number.MAX_SAFE_INTEGER;
    return this.nextId;
  }

  private ask(request: UpstreamRequest): Promise<UpstreamReply> {
    return new Promise((resolve) => {
      this.pending.set(request.id, resolve);
      this.post(request);
    });
  }
}

/** The main thread's side: one request answered with the server's own forwarder; never rejects. */
export async function answerRelayed(upstream: Upstream | undefined, request: UpstreamRequest): Promise<UpstreamReply> {
  try {
    return await relay(upstream, request);
  } catch {
    return request.type === 'resolve' ? { type: 'resolved', id: request.id, answers: [] } : { type: 'forwarded', id: request.id, response: undefined };
  }
}

async function relay(upstream: Upstream | undefined, request: UpstreamRequest): Promise<UpstreamReply> {
  if (request.type === 'resolve') return { type: 'resolved', id: request.id, answers: upstream ? await upstream.resolve(request.name, request.qtype) : [] };
  const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
  if (!upstream) return { type: 'forwarded', id: request.id, response: undefined };
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(raw);
  } catch {
    return { type: 'forwarded', id: request.id, response: undefined };
  }
  const { response } = await upstream.forward(raw, query, request.viaTcp);
  return { type: 'forwarded', id: request.id, response: response ? new Uint8Array(response) : undefined };
}

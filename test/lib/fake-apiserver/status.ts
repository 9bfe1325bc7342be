// The API server's Status objects and JSON answers, shared by the fake's handlers.
import type { ServerResponse } from 'node:http';
import type { Json } from './selectors.js';

export function statusObject(code: number, reason: string, message: string, details?: Json): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

/** Sends `body` with `status`; returns the status (for the request record). */
export function sendJson(res: ServerResponse, status: number, body: Json): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  return status;
}

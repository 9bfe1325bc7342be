import { describe, expect, it } from 'vitest';
import { validateObject } from '../model/validate.js';
import type { SourceEvent } from '../sources/source.js';
import { makeService } from '../state/test-builders.js';
import { IngressController, IngressSyncError, type NginxControl } from './ingress-controller.js';
import { IngressView } from './ingress-view.js';

function ingressEvent(name: string, path: string): SourceEvent {
  const result = validateObject({
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name, namespace: 'default', annotations: { 'nginx.ingress.kubernetes.io/use-regex': 'true' } },
    spec: { rules: [{ host: `${name}.example`, http: { paths: [{ path, pathType: 'ImplementationSpecific', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
  });
  const object = result.objects[0];
  if (object?.kind !== 'Ingress') throw new Error('invalid');
  return { type: 'ingress-upsert', ingress: object.value };
}

/** An nginx that refuses any config containing `refused`, naming its line as nginx -t does. */
function fakeNginx(applied: string[]): NginxControl {
  return {
    apply: async (text) => {
      const line = text.split('\n').findIndex((l) => l.includes('refused')) + 1;
      if (line > 0) return { ok: false, message: `[emerg] bad regex in nginx.conf.candidate:${line}`, line };
      applied.push(text);
      return { ok: true };
    },
  };
}

function controller(nginx: NginxControl, warnings: string[]): IngressController {
  const view = new IngressView({ className: 'svcplane', watchWithoutClass: true, serviceUpstream: true, nodeName: 'n' });
  view.apply([{ type: 'service-upsert', service: makeService({ name: 'web', ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 80, nodePort: 0 }] }) }, { type: 'synced' }]);
  return new IngressController({
    view, nginx, http: { host: '127.0.0.1', port: 80 }, https: { host: '127.0.0.1', port: 443 }, stateDir: '/x',
    certificates: { fileName: () => '/x/default.pem', write: async () => undefined, prune: async () => undefined },
    logger: { info: () => undefined, warn: (obj) => warnings.push(JSON.stringify(obj)) },
  });
}

describe('IngressController', () => {
  it('leaves out the Ingress whose line nginx refused, reports it, and applies the rest', async () => {
    const applied: string[] = [];
    const warnings: string[] = [];
    const c = controller(fakeNginx(applied), warnings);
    c.apply([ingressEvent('good', '/ok'), ingressEvent('bad', '/refused')]);
    const outcome = await c.sync();
    expect(outcome.excluded).toEqual(['default/bad']);
    expect(applied).toHaveLength(1);
    expect(applied[0]).toContain('"^/ok"');
    expect(applied[0]).not.toContain('refused');
    expect(warnings.join('\n')).toMatch(/Ingress default\/bad: nginx refused its configuration/);
  });

  it('does not reload when nothing changed, and reports a problem once', async () => {
    const applied: string[] = [];
    const warnings: string[] = [];
    const c = controller(fakeNginx(applied), warnings);
    c.apply([ingressEvent('bad', '/refused')]);
    await c.sync();
    await c.sync();
    expect(applied).toHaveLength(1);
    expect(warnings).toHaveLength(1);
  });

  it('keeps the running config when nginx refuses a line no Ingress owns', async () => {
    const c = controller({ apply: async () => ({ ok: false, message: 'no space left', line: undefined }) }, []);
    c.apply([ingressEvent('good', '/ok')]);
    await expect(c.sync()).rejects.toBeInstanceOf(IngressSyncError);
  });

  it('after the first sync, has nginx -t read only the changed server blocks (with the upstreams), and blames a refusal on the whole config', async () => {
    const checked: string[] = [];
    const applied: string[] = [];
    const inner = fakeNginx(applied);
    const c = controller({ apply: async (text, checkOnly) => {
      checked.push(checkOnly ?? text);
      return inner.apply(checkOnly ?? text);
    } }, []);
    c.apply([ingressEvent('one', '/one')]);
    await c.sync();
    expect(checked[0]).toContain('one.example');

    c.apply([ingressEvent('two', '/two')]);
    await c.sync();
    expect(checked).toHaveLength(2);
    expect(checked[1]).toContain('two.example');
    expect(checked[1]).not.toContain('one.example');
    expect(checked[1]).toMatch(/upstream cip_default_web_80 \{/);
    expect(checked[1]?.trimEnd().endsWith('}')).toBe(true);

    // Refused in the changed parts: the whole config is checked to find the line, the Ingress left out, the rest applied.
    c.apply([ingressEvent('bad', '/refused'), ingressEvent('three', '/three')]);
    const outcome = await c.sync();
    expect(outcome.excluded).toEqual(['default/bad']);
    expect(checked.slice(2).map((t) => [t.includes('one.example'), t.includes('three.example')])).toEqual([[false, true], [true, true], [false, true]]);
    expect(applied.at(-1)).toContain('three.example');
  });
});

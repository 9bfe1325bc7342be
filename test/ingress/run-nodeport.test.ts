// The document's worked example end to end, as its reader runs it: ingress-nginx's
// NodePort Service (30080/30443) in front of the controller, my-service behind a
// cluster IP, and `curl -H "Host: www.shengzhe.com" http://NODE:30080/app1`.
// Here `svcplane run --mode iptables --ingress` does all of it in one process:
// iptables for the NodePort and the cluster IP, nginx for the Ingress.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IngressBed, NODE_IP } from './ingress-bed.js';


// The document's service-nodeport.yaml (4.2), as written, plus the endpoints the
// controller "pod" would have: this node's own address (it runs on the host network).
const NODEPORT_SERVICE = `apiVersion: v1
kind: Namespace
metadata:
  name: ingress-nginx
---
apiVersion: v1
kind: Service
metadata:
  name: ingress-nginx
  namespace: ingress-nginx
  labels:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
spec:
  type: NodePort
  ports:
    - name: http
      port: 80
      targetPort: 80
      nodePort: 30080   ##添加的固定端口号
      protocol: TCP
    - name: https
      port: 443
      targetPort: 443
      nodePort: 30443  ##添加的固定端口号
      protocol: TCP
  selector:
    app.kubernetes.io/name: ingress-nginx
    app.kubernetes.io/part-of: ingress-nginx
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ingress-nginx-1
  namespace: ingress-nginx
  labels:
    kubernetes.io/service-name: ingress-nginx
addressType: IPv4
endpoints:
- addresses: ["${NODE_IP}"]
ports:
- name: http
  port: 80
  protocol: TCP
- name: https
  port: 443
  protocol: TCP
`;

describe('svcplane run --ingress: the document example through a NodePort', () => {
  const bed = new IngressBed(`p${process.pid % 100000}`);

  beforeAll(async () => {
    await bed.up();
    await bed.routeClusterIPs();
    bed.writeManifests({
      'nodeport.yaml': NODEPORT_SERVICE,
      'services.yaml': bed.fixture('services.yaml'),
      'shengzhe.yaml': bed.fixture('document/07-shengzhe.yaml'),
    });
    await bed.startCommand([
      'run', '--mode', 'iptables', '--manifests', bed.manifests, '--node-name', 'node-a', '--node-ip', NODE_IP, '--cluster-cidr', '10.244.0.0/16',
      '--log-format', 'text', '--ingress', '--http-listen', `${NODE_IP}:80`, '--https-listen', `${NODE_IP}:443`, '--ingress-state-dir', bed.stateDir,
    ]);
  }, 60_000);
  afterAll(async () => bed.down(), 30_000);

  it('curl -H "Host: www.shengzhe.com" http://NODE:30080/app1 reaches my-service as / through its cluster IP', { timeout: 120_000 }, async () => {
    // A loaded machine may take a while for the first iptables sync.
    await bed.waitFor(async () => (await bed.curl(['-H', 'Host: www.shengzhe.com', `http://${NODE_IP}:30080/app1`])).status === 200, 'the NodePort to serve', 90_000);
    const r = await bed.curl(['-H', 'Host: www.shengzhe.com', `http://${NODE_IP}:30080/app1`]);
    const echo = JSON.parse(r.body) as { local: string; url: string; headers: Record<string, string> };
    expect(echo).toMatchObject({ local: '10.231.1.15:80', url: '/' });
    expect(echo.headers['host']).toBe('www.shengzhe.com');
    // nginx's upstream is the cluster IP (the L4 dataplane picked the endpoint).
    expect(bed.log).toMatch(/allocated cluster IP service=default\/my-service/);
    const conf = await import('node:fs').then((fs) => fs.readFileSync(`${bed.stateDir}/nginx.conf`, 'utf8'));
    expect(conf).toMatch(/upstream cip_default_my-service_80 \{\n\s+server 10\.\d+\.\d+\.\d+:80 max_fails=0;/);
  });

  it('without a matching rule the NodePort answers 404, as in the document before the Ingress exists', async () => {
    expect((await bed.curl([`http://${NODE_IP}:30080/`])).status).toBe(404);
    expect((await bed.curl(['-k', `https://${NODE_IP}:30443/`])).status).toBe(404);
  });
});

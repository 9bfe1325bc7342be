// Offline checks of deploy/kubernetes: every object against the Kubernetes OpenAPI schemas
// (kubernetes-models' ajv validators), unknown fields as `kubectl apply` rejects them (the
// field lists of @kubernetes/client-node's models), the kustomization's file list, and the
// wiring between the objects that svcplane relies on (config file, probes, RBAC).
//
// Runs under vitest and, through Node's type stripping, from scripts/deploy-check.mjs: so it
// imports packages only (no relative modules), and svcplane's config parser is passed in.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';
import * as k8sClient from '@kubernetes/client-node';
import * as k8sModels from 'kubernetes-models';
import { parseAllDocuments, parse as parseYaml } from 'yaml';

export type K8sObject = Record<string, unknown>;
export interface ManifestDoc {
  readonly file: string;
  readonly index: number;
  readonly object: K8sObject;
}

/** svcplane's own parser (src/agent/config.ts or its build in dist/). */
export interface ConfigParser {
  readConfigFile(path: string): Record<string, unknown>;
  resolveConfig(flags: Record<string, unknown>, file: Record<string, unknown>): { readonly healthzBindAddress: string };
}

type ModelClass = (new (data: unknown) => { validate(): void }) & { apiVersion: string; kind: string };
interface Attribute {
  readonly baseName: string;
  readonly type: string;
}

const isObject = (v: unknown): v is K8sObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const records = (v: unknown): K8sObject[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** The validator for each apiVersion/kind, and the client's field lists for strict checks. */
export class SchemaRegistry {
  private readonly models = new Map<string, ModelClass>();
  private readonly fields = new Map<string, readonly Attribute[]>();

  constructor() {
    const walk = (ns: unknown, depth: number): void => {
      for (const v of Object.values(ns as object)) {
        const m = v as Partial<ModelClass>;
        if (typeof v === 'function' && typeof m.apiVersion === 'string' && typeof m.kind === 'string') this.models.set(`${m.apiVersion}/${m.kind}`, v as ModelClass);
        else if (isObject(v) && depth < 3) walk(v, depth + 1);
      }
    };
    walk(k8sModels, 0);
    for (const [name, v] of Object.entries(k8sClient)) {
      const getMap = (v as { getAttributeTypeMap?: () => unknown }).getAttributeTypeMap;
      if (typeof v === 'function' && typeof getMap === 'function') this.fields.set(name, getMap.call(v) as Attribute[]);
    }
  }

  /** Every problem in one object: schema violations, then unknown fields. */
  problems(obj: K8sObject): string[] {
    const apiVersion = text(obj.apiVersion);
    const kind = text(obj.kind);
    const Model = this.models.get(`${apiVersion}/${kind}`);
    if (!Model) return [`unknown apiVersion/kind "${apiVersion}/${kind}"`];
    const out: string[] = [];
    try {
      new Model(obj).validate();
    } catch (err) {
      const errors = (err as { errors?: unknown }).errors;
      if (!Array.isArray(errors)) throw err;
      for (const e of errors as { instancePath?: string; message?: string }[]) out.push(`${e.instancePath || '/'}: ${e.message ?? 'invalid'}`);
    }
    const version = apiVersion.split('/').pop() ?? '';
    const typeName = version.charAt(0).toUpperCase() + version.slice(1) + kind;
    if (this.fields.has(typeName)) this.unknownFields(obj, typeName, '', out);
    return out;
  }

  private unknownFields(value: unknown, type: string, path: string, out: string[]): void {
    const list = /^Array<(.+)>$/.exec(type);
    if (list) {
      if (Array.isArray(value)) value.forEach((item, i) => this.unknownFields(item, list[1] ?? '', `${path}/${i}`, out));
      return;
    }
    const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
    if (map) {
      if (isObject(value)) for (const [k, v] of Object.entries(value)) this.unknownFields(v, map[1] ?? '', `${path}/${k}`, out);
      return;
    }
    const attrs = this.fields.get(type);
    if (!attrs || !isObject(value)) return;
    for (const [k, v] of Object.entries(value)) {
      const attr = attrs.find((a) => a.baseName === k);
      if (!attr) out.push(`${path}/${k}: unknown field (kubectl apply rejects it)`);
      else this.unknownFields(v, attr.type, `${path}/${k}`, out);
    }
  }
}

/** The manifests a kustomization lists (or every YAML file of a plain folder), parsed. */
export function loadManifestDir(dir: string): { docs: ManifestDoc[]; problems: string[] } {
  const problems: string[] = [];
  const yamlFiles = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const kustomization = yamlFiles.find((f) => f === 'kustomization.yaml' || f === 'kustomization.yml');
  let files = yamlFiles;
  if (kustomization) {
    const k: unknown = parseYaml(readFileSync(join(dir, kustomization), 'utf8'));
    if (!isObject(k) || k.kind !== 'Kustomization' || !text(k.apiVersion).startsWith('kustomize.config.k8s.io/')) problems.push(`${kustomization}: not a kustomize.config.k8s.io Kustomization`);
    const resources = isObject(k) && Array.isArray(k.resources) ? k.resources.filter((r): r is string => typeof r === 'string') : [];
    for (const r of resources) if (!existsSync(join(dir, r))) problems.push(`${kustomization}: resource ${r} does not exist`);
    for (const f of yamlFiles) if (f !== kustomization && !resources.includes(f)) problems.push(`${f}: not listed in ${kustomization}'s resources, so kubectl apply -k leaves it out`);
    files = resources.filter((r) => existsSync(join(dir, r)));
  }
  const docs: ManifestDoc[] = [];
  for (const file of files) {
    for (const [index, doc] of parseAllDocuments(readFileSync(join(dir, file), 'utf8')).entries()) {
      const object: unknown = doc.errors.length > 0 ? undefined : doc.toJS();
      if (doc.errors.length > 0) problems.push(`${file}#${index}: ${doc.errors[0]?.message ?? 'YAML error'}`);
      else if (isObject(object)) docs.push({ file, index, object });
      else if (object !== null && object !== undefined) problems.push(`${file}#${index}: not a mapping`);
    }
  }
  return { docs, problems };
}

const SETTING_NAMES: Readonly<Record<string, string>> = {
  'node-ip': 'nodeIP', 'cluster-cidr': 'clusterCIDR', 'nodeport-addresses': 'nodePortAddresses', 'service-cluster-ip-range': 'serviceClusterIPRange',
};
const BOOLEAN_FLAGS = new Set(['masquerade-all']);
const LIST_FLAGS = new Set(['manifests']);

/** `run --flag value ...` as svcplane's settings (camelCase), so a config file can be resolved with them. */
export function settingsFromArgs(args: readonly string[]): { command: string; settings: Record<string, unknown>; config: string | undefined } {
  const settings: Record<string, unknown> = {};
  for (let i = 1; i < args.length; i++) {
    const flag = (args[i] ?? '').replace(/^--/, '');
    const key = SETTING_NAMES[flag] ?? flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (BOOLEAN_FLAGS.has(flag)) settings[key] = true;
    else if (LIST_FLAGS.has(flag)) {
      const values: string[] = [];
      while (i + 1 < args.length && !(args[i + 1] ?? '').startsWith('--')) values.push(args[++i] ?? '');
      settings[key] = values;
    } else settings[key] = args[++i];
  }
  const config = typeof settings.config === 'string' ? settings.config : undefined;
  delete settings.config;
  return { command: args[0] ?? '', settings, config };
}

/** Resolves a config file's text with the given flags through svcplane's own parser. */
export function configProblems(label: string, yamlText: string, flags: Record<string, unknown>, parser: ConfigParser): { problems: string[]; healthzBindAddress?: string } {
  const dir = mkdtempSync(join(tmpdir(), 'svcp-config-'));
  try {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, yamlText);
    const cfg = parser.resolveConfig(flags, parser.readConfigFile(path));
    return { problems: [], healthzBindAddress: cfg.healthzBindAddress };
  } catch (err) {
    return { problems: [`${label}: ${(err as Error).message.replaceAll(dir + '/', '')}`] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function find(docs: readonly ManifestDoc[], kind: string, name: string): ManifestDoc | undefined {
  return docs.find((d) => d.object.kind === kind && isObject(d.object.metadata) && d.object.metadata.name === name);
}

/** How each svcplane DaemonSet reaches its config, its probes' port and its RBAC. */
export function wiringProblems(docs: readonly ManifestDoc[], parser: ConfigParser): string[] {
  const out: string[] = [];
  for (const ds of docs.filter((d) => d.object.kind === 'DaemonSet')) {
    const where = `${ds.file} DaemonSet`;
    const spec = isObject(ds.object.spec) && isObject(ds.object.spec.template) && isObject(ds.object.spec.template.spec) ? ds.object.spec.template.spec : {};
    const namespace = isObject(ds.object.metadata) ? text(ds.object.metadata.namespace) : '';
    for (const c of records(spec.containers)) {
      const args = Array.isArray(c.args) ? c.args.map(String) : [];
      const { command, settings, config } = settingsFromArgs(args);
      if (command !== 'run') out.push(`${where}: container ${text(c.name)}: args must start with "run", not "${command}"`);
      if (!config) continue;
      const mount = records(c.volumeMounts).find((m) => text(m.mountPath) === posix.dirname(config));
      const volume = records(spec.volumes).find((v) => mount && v.name === mount.name);
      const cmName = volume && isObject(volume.configMap) ? text(volume.configMap.name) : '';
      const cm = find(docs, 'ConfigMap', cmName);
      const data = cm && isObject(cm.object.data) ? cm.object.data[posix.basename(config)] : undefined;
      if (typeof data !== 'string') {
        out.push(`${where}: --config ${config} is not a key of a ConfigMap mounted at ${posix.dirname(config)}`);
        continue;
      }
      const resolved = configProblems(`${cm?.file ?? ''} ${posix.basename(config)}`, data, settings, parser);
      out.push(...resolved.problems);
      const port = resolved.healthzBindAddress?.split(':').pop();
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const get = isObject(c[probe]) && isObject((c[probe] as K8sObject).httpGet) ? ((c[probe] as K8sObject).httpGet as K8sObject) : undefined;
        if (!get) out.push(`${where}: container ${text(c.name)} has no ${probe}.httpGet`);
        else if (port !== undefined && String(get.port) !== port) out.push(`${where}: ${probe} port ${String(get.port)} is not healthzBindAddress's port ${port}`);
      }
    }
    const sa = text(spec.serviceAccountName);
    if (!find(docs, 'ServiceAccount', sa)) out.push(`${where}: serviceAccountName "${sa}" is not among the manifests`);
    const binding = docs.find((d) => d.object.kind === 'ClusterRoleBinding' && records(d.object.subjects).some((s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === namespace));
    const roleRef = binding && isObject(binding.object.roleRef) ? binding.object.roleRef : undefined;
    if (!roleRef) out.push(`${where}: no ClusterRoleBinding binds ServiceAccount ${namespace}/${sa}`);
    else if (roleRef.kind !== 'ClusterRole' || !find(docs, 'ClusterRole', text(roleRef.name))) out.push(`${binding?.file}: roleRef ${text(roleRef.kind)} "${text(roleRef.name)}" is not among the manifests`);
  }
  return out;
}

/** Everything about one manifest folder: parse, kustomization, schemas, unknown fields, wiring. */
export function checkManifestDir(dir: string, parser: ConfigParser, registry: SchemaRegistry = new SchemaRegistry()): { checked: string[]; problems: string[] } {
  const { docs, problems } = loadManifestDir(dir);
  for (const d of docs) {
    const name = isObject(d.object.metadata) ? text(d.object.metadata.name) : '';
    for (const p of registry.problems(d.object)) problems.push(`${d.file} ${text(d.object.kind)} ${name}: ${p}`);
  }
  problems.push(...wiringProblems(docs, parser));
  return { checked: docs.map((d) => `${basename(dir)}/${d.file}: ${text(d.object.kind)}`), problems };
}

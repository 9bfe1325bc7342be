// Validated forms of networking.k8s.io Ingress and IngressClass, and of
// kubernetes.io/tls Secrets. The legacy v1beta1 shapes arrive converted to v1.

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';
export const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

/** A service backend: the port by number or by the service port's name. */
export interface IngressBackend {
  readonly service: string;
  readonly port: number | string;
}

export interface IngressPath {
  readonly path: string;
  readonly pathType: PathType;
  readonly backend: IngressBackend;
  /** Where it was written, for reports: `spec.rules[0].http.paths[1]`. */
  readonly field: string;
}

export interface IngressRule {
  /** '' when the rule has no host (it matches every host). Lower case; may start with `*.`. */
  readonly host: string;
  readonly paths: readonly IngressPath[];
  readonly field: string;
}

export interface IngressTLS {
  readonly hosts: readonly string[];
  /** '' when unset. */
  readonly secretName: string;
  readonly field: string;
}

/** The nginx.ingress.kubernetes.io annotations svcplane honours, validated. */
export interface IngressAnnotations {
  /** Paths are regular expressions (use-regex, or implied by rewrite-target). */
  readonly useRegex: boolean;
  readonly rewriteTarget: string | undefined;
  readonly appRoot: string | undefined;
  /** undefined: the controller's default (redirect when the host has TLS). */
  readonly sslRedirect: boolean | undefined;
  /** undefined: the controller's default (the service's cluster IP). */
  readonly serviceUpstream: boolean | undefined;
}

export interface Ingress {
  readonly namespace: string;
  readonly name: string;
  /** spec.ingressClassName, else the kubernetes.io/ingress.class annotation. */
  readonly ingressClassName: string | undefined;
  readonly defaultBackend: IngressBackend | undefined;
  readonly rules: readonly IngressRule[];
  readonly tls: readonly IngressTLS[];
  readonly options: IngressAnnotations;
  /** metadata.creationTimestamp in ms since the epoch (undefined in most manifests): the oldest wins conflicts. */
  readonly createdAt: number | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface IngressClass {
  readonly name: string;
  readonly controller: string;
  /** ingressclass.kubernetes.io/is-default-class: "true". */
  readonly isDefault: boolean;
}

/** A kubernetes.io/tls Secret whose certificate and key parsed and belong together. */
export interface TLSSecret {
  readonly namespace: string;
  readonly name: string;
  readonly certificatePem: string;
  readonly keyPem: string;
  /** The names the certificate is valid for (subjectAltName DNS entries, else the CN). */
  readonly dnsNames: readonly string[];
  readonly notAfter: string;
}

export const ANNOTATION_INGRESS_CLASS = 'kubernetes.io/ingress.class';
export const ANNOTATION_DEFAULT_CLASS = 'ingressclass.kubernetes.io/is-default-class';
export const NGINX_ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';

// Annotations svcplane reads from Services beyond the Kubernetes fields.

/** A service's own IPVS scheduler (rr, wrr, lc, ...), overriding --ipvs-scheduler for it. */
export const ANNOTATION_IPVS_SCHEDULER = 'svcplane.io/ipvs-scheduler';

/** svcplane's own annotations: the state carries these (and only these) to the modes. */
export const SVCPLANE_ANNOTATION_PREFIX = 'svcplane.io/';

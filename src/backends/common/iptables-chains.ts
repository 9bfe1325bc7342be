// The iptables vocabulary the iptables mode and IPVS mode's companion rules share: kube-proxy's
// base chain names (IPVS mode writes KUBE-SERVICES, KUBE-POSTROUTING and KUBE-MARK-MASQ too),
// how comment text is made safe, and the host-route suffix of single addresses.
import type { IPFamily } from '../../model/types.js';

export const KUBE_SERVICES_CHAIN = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES_CHAIN = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS_CHAIN = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING_CHAIN = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ_CHAIN = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD_CHAIN = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL_CHAIN = 'KUBE-PROXY-FIREWALL';
/** kube-proxy's (once kubelet's) chain for the drop of martians to 127.0.0.0/8 (localhost NodePorts). */
export const KUBE_FIREWALL_CHAIN = 'KUBE-FIREWALL';

/** xt_comment stores at most 256 bytes including the terminating NUL. */
export const MAX_COMMENT_LENGTH = 255;

/** Keep only characters that are harmless inside a quoted comment in a restore batch. */
export function sanitizeCommentPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_.:/-]/g, '_');
}

/** Cap a comment at what xt_comment accepts. */
export function limitComment(text: string): string {
  return text.length > MAX_COMMENT_LENGTH ? text.slice(0, MAX_COMMENT_LENGTH) : text;
}

/** The host-route suffix of the family, for single addresses. */
export function hostPrefix(family: IPFamily): string {
  return family === 'IPv6' ? '/128' : '/32';
}

// Kubernetes name rules (k8s.io/apimachinery/pkg/util/validation). Each
// check returns the reason a value is refused, or undefined when it is valid.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME_CHARS = /^[-a-z0-9]+$/;
export const DNS1123_LABEL_MAX_LENGTH = 63;
export const DNS1123_SUBDOMAIN_MAX_LENGTH = 253;
export const IANA_SVC_NAME_MAX_LENGTH = 15;

export type NameCheck = (value: string) => string | undefined;

export const dns1123LabelError: NameCheck = (value) => {
  if (value.length > DNS1123_LABEL_MAX_LENGTH) return `must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`;
  if (!DNS1123_LABEL.test(value)) {
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name' or '123-abc')";
  }
  return undefined;
};

export const dns1035LabelError: NameCheck = (value) => {
  if (value.length > DNS1123_LABEL_MAX_LENGTH) return `must be no more than ${DNS1123_LABEL_MAX_LENGTH} characters`;
  if (!DNS1035_LABEL.test(value)) {
    return "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123')";
  }
  return undefined;
};

export const dns1123SubdomainError: NameCheck = (value) => {
  if (value.length > DNS1123_SUBDOMAIN_MAX_LENGTH) return `must be no more than ${DNS1123_SUBDOMAIN_MAX_LENGTH} characters`;
  if (!value.split('.').every((label) => DNS1123_LABEL.test(label))) {
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com')";
  }
  return undefined;
};

/** IANA_SVC_NAME (RFC 6335): the form of a named port. */
export const ianaSvcNameError: NameCheck = (value) => {
  if (value.length > IANA_SVC_NAME_MAX_LENGTH) return `must be no more than ${IANA_SVC_NAME_MAX_LENGTH} characters`;
  if (!IANA_SVC_NAME_CHARS.test(value)) return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)";
  if (value.includes('--')) return "must not contain consecutive hyphens";
  if (!/[a-z]/.test(value)) return 'must contain at least one letter (a-z)';
  if (value.startsWith('-') || value.endsWith('-')) return 'must not begin or end with a hyphen';
  return undefined;
};

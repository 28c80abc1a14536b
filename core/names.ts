// Name rules and the names derived from a set. Pure: shared by the API, the workflow and the drivers.

/** RFC 1123 label, as Kubernetes checks it: lowercase alphanumerics and '-', alphanumeric at both ends. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;

/**
 * A set name leaves room for "-<ordinal>" inside a 63-character label, as Kubernetes limits
 * StatefulSet names so that pod names stay valid labels.
 */
export const SET_NAME_MAX = 52;

/**
 * IANA service name, as Kubernetes checks port names (they become the `_name._tcp` SRV label):
 * at most 15 lowercase alphanumerics or '-', at least one letter, no '-' at either end or twice in a row.
 */
export function isPortName(value: string): boolean {
  return (
    value.length >= 1 &&
    value.length <= 15 &&
    /^[a-z0-9-]+$/.test(value) &&
    /[a-z]/.test(value) &&
    !value.startsWith('-') &&
    !value.endsWith('-') &&
    !value.includes('--')
  );
}

/** POSIX-portable environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A DNS zone: one or more labels, no trailing dot, at most 253 characters in all. */
export function isDnsZone(zone: string): boolean {
  if (zone.length === 0 || zone.length > 253) return false;
  return zone.split('.').every((label) => label.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(label));
}

export function isDns1123Label(value: string): boolean {
  return value.length <= DNS1123_LABEL_MAX && DNS1123_LABEL.test(value);
}

export function instanceName(set: string, ordinal: number): string {
  return `${set}-${ordinal}`;
}

export function serviceDnsName(serviceName: string, zone: string): string {
  return `${serviceName}.${zone}`;
}

export function instanceDnsName(set: string, ordinal: number, serviceName: string, zone: string): string {
  return `${instanceName(set, ordinal)}.${serviceDnsName(serviceName, zone)}`;
}

export function workflowIdForSet(set: string): string {
  return `statefulset/${set}`;
}

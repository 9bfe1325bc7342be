// spec.ports of a Service, as the API server validates them.
import { dns1123LabelError, ianaSvcNameError } from './names.js';
import type { ServicePort, ServiceType } from './types.js';
import {
  checkName,
  describeValue,
  type FieldErrors,
  optList,
  optObject,
  optString,
  PORT_RANGE_REASON,
  readPort,
  readProtocol,
} from './validate-fields.js';

/** An integer port, or the name of a container port; unset or 0 means `port`. */
function readTargetPort(errs: FieldErrors, value: unknown, path: string, port: number): number | string {
  if (value === undefined || value === null || value === 0 || value === '') return port;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) errs.add(path, `expected an integer, got ${describeValue(value)}`);
    else if (value < 1 || value > 65535) errs.add(path, `invalid value ${value}: ${PORT_RANGE_REASON}`);
    else return value;
    return port;
  }
  if (typeof value === 'string') {
    return checkName(errs, value, path, ianaSvcNameError) ? value : port;
  }
  errs.add(path, `expected an integer or a port name, got ${describeValue(value)}`);
  return port;
}

/**
 * Ports are required except for headless and ExternalName services; names
 * are required (and unique) once there is more than one port.
 */
export function readServicePorts(errs: FieldErrors, value: unknown, type: ServiceType, headless: boolean): ServicePort[] {
  const items = optList(errs, value, 'spec.ports');
  const isList = value === undefined || value === null || Array.isArray(value);
  if (items.length === 0 && isList && type !== 'ExternalName' && !headless) errs.add('spec.ports', 'required value');
  const requireName = items.length > 1;
  const names = new Map<string, string>();
  const portKeys = new Map<string, string>();
  const nodePortKeys = new Map<string, string>();
  const ports: ServicePort[] = [];
  items.forEach((item, i) => {
    const path = `spec.ports[${i}]`;
    const raw = optObject(errs, item, path);
    if (!raw) {
      if (item === null || item === undefined) errs.add(path, 'expected an object, got null');
      return;
    }
    const name = optString(errs, raw['name'], `${path}.name`) ?? '';
    if (name === '') {
      if (requireName) errs.add(`${path}.name`, 'required value');
    } else if (checkName(errs, name, `${path}.name`, dns1123LabelError)) {
      const previous = names.get(name);
      if (previous !== undefined) errs.add(`${path}.name`, `duplicate value ${JSON.stringify(name)} (also ${previous})`);
      else names.set(name, `${path}.name`);
    }
    const protocol = readProtocol(errs, raw['protocol'], `${path}.protocol`);
    const port = readPort(errs, raw['port'], `${path}.port`, { required: true, allowZero: false });
    const targetPort = readTargetPort(errs, raw['targetPort'], `${path}.targetPort`, port);
    let nodePort = readPort(errs, raw['nodePort'], `${path}.nodePort`, { required: false, allowZero: true });
    if (nodePort !== 0 && type !== 'NodePort' && type !== 'LoadBalancer') {
      // Meaningless for this type: when lenient it is dropped, never programmed.
      errs.relax(`${path}.nodePort`, `may not be used when \`type\` is '${type}'`);
      nodePort = 0;
    }
    if (port !== 0) {
      const key = `${port}/${protocol}`;
      const previous = portKeys.get(key);
      if (previous !== undefined) errs.add(path, `duplicate value ${JSON.stringify(key)} (also ${previous}): port and protocol must be unique`);
      else portKeys.set(key, path);
    }
    if (nodePort !== 0) {
      const key = `${nodePort}/${protocol}`;
      const previous = nodePortKeys.get(key);
      if (previous !== undefined) errs.add(`${path}.nodePort`, `duplicate value ${JSON.stringify(key)} (also ${previous})`);
      else nodePortKeys.set(key, `${path}.nodePort`);
    }
    ports.push({ name, protocol, port, targetPort, nodePort });
  });
  return ports;
}

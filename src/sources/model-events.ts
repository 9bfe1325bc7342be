// The change events for a model object, shared by every source.
import type { ModelObject } from '../model/validate.js';
import type { SourceEvent } from './source.js';

export function upsertEvent(object: ModelObject): SourceEvent {
  switch (object.kind) {
    case 'Service':
      return { type: 'service-upsert', service: object.value };
    case 'EndpointSlice':
      return { type: 'slice-upsert', slice: object.value };
    case 'Node':
      return { type: 'node-upsert', node: object.value };
    case 'Namespace':
      return { type: 'namespace-upsert', namespace: object.value };
    case 'Ingress':
      return { type: 'ingress-upsert', ingress: object.value };
    case 'IngressClass':
      return { type: 'ingress-class-upsert', ingressClass: object.value };
    case 'Secret':
      return { type: 'secret-upsert', secret: object.value };
  }
}

export function deleteEvent(object: ModelObject): SourceEvent {
  switch (object.kind) {
    case 'Service':
      return { type: 'service-delete', namespace: object.value.namespace, name: object.value.name };
    case 'EndpointSlice':
      return { type: 'slice-delete', namespace: object.value.namespace, name: object.value.name };
    case 'Node':
      return { type: 'node-delete', name: object.value.name };
    case 'Namespace':
      return { type: 'namespace-delete', name: object.value.name };
    case 'Ingress':
      return { type: 'ingress-delete', namespace: object.value.namespace, name: object.value.name };
    case 'IngressClass':
      return { type: 'ingress-class-delete', name: object.value.name };
    case 'Secret':
      return { type: 'secret-delete', namespace: object.value.namespace, name: object.value.name };
  }
}

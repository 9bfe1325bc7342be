export { FakeApiServer, statusObject, type FakeApiServerOptions, type RequestRecord } from './server.js';
export { RESOURCES, type ResourceName } from './resources.js';
export { StoreError, type Change } from './store.js';
export type { Json } from './selectors.js';
export { apiNode, apiService, apiSlice, type ServiceOptions, type SliceOptions } from './objects.js';

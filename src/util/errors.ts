// Error classes with a stable `code`, in the spirit of undici's errors:
// callers branch on `code`, people read `message`.

export class SvcplaneError extends Error {
  readonly code: string = 'SVCPLANE_ERROR';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

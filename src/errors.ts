/** Every error convcore throws for bad input or an impossible request. */
export class ConvcoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvcoreError';
  }
}

export function fail(message: string): never {
  throw new ConvcoreError(message);
}

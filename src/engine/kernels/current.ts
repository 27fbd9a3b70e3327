// The backend the engine's matmul uses. Every backend gives the same bits; only speed differs.
import type { Backend } from './backend.ts';
import { referenceBackend } from './reference.ts';

let current: Backend = referenceBackend;

export function getBackend(): Backend {
  return current;
}

export function setBackend(b: Backend): void {
  current = b;
}

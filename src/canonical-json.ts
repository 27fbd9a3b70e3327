// Canonical JSON: object keys sorted (by UTF-16 code units, as Array.prototype.sort does), no
// whitespace, undefined members left out, numbers and strings as JSON.stringify writes them
// (ECMAScript fixes both exactly, so every engine writes the same bytes). The one encoding behind
// spec hashes and signed p2p messages; its own module, so the net layer loads no training code.
import { InputError } from './errors.ts';

/** `fail` makes the error for a value JSON cannot hold (NaN, ±Infinity). */
export function canonicalJson(value: unknown, fail: (message: string) => Error = (m) => new InputError(m)): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw fail(`cannot write ${value} in canonical JSON`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, fail)).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k], fail)}`).join(',')}}`;
}

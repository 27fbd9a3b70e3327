// One error base for the whole project: a short message, optional details, and a hint of what to do.
export interface ErrorOptions {
  details?: string;
  hint?: string;
  cause?: unknown;
}

export class VeritrainError extends Error {
  override name = 'VeritrainError';
  readonly details: string | undefined;
  readonly hint: string | undefined;
  readonly shortMessage: string;

  constructor(shortMessage: string, opts: ErrorOptions = {}) {
    const lines = [shortMessage];
    if (opts.details) lines.push(`Details: ${opts.details}`);
    if (opts.hint) lines.push(`Hint: ${opts.hint}`);
    super(lines.join('\n'), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.shortMessage = shortMessage;
    this.details = opts.details;
    this.hint = opts.hint;
  }
}

/** Bad user input: a spec, a file, a flag. Nothing was changed. */
export class InputError extends VeritrainError {
  override name = 'InputError';
}

/** A value broke the determinism contract or the numeric domain (NaN/Inf) during training. */
export class NumericError extends VeritrainError {
  override name = 'NumericError';
}

/** Stored data (checkpoint, dataset, blob) does not match its hash or format. */
export class IntegrityError extends VeritrainError {
  override name = 'IntegrityError';
}

/** A shape mismatch or misuse of the tensor API: a programming error, not a user one. */
export class ShapeError extends VeritrainError {
  override name = 'ShapeError';
}

/**
 * Base class of every error this project throws on purpose. `code` is a stable identity
 * (`ERR_<AREA>_<WHAT>`); the message may change between releases.
 */
export class NflogPipeError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad command-line usage: the CLI prints one line and exits 2. */
export class UsageError extends NflogPipeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
  }
}

/** A frame from the network that does not decode; counted and skipped by receivers. */
export class WireError extends NflogPipeError {}

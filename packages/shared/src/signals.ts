import { NflogPipeError } from './errors.js';

/** What watchSignals returns. */
export interface SignalWatcher {
  /**
   * Aborted on the first SIGTERM or SIGINT; its `reason` is a NflogPipeError with code
   * `ERR_STOPPED` and `signal` set. Pass it to anything that should stop.
   */
  readonly stopped: AbortSignal;
  /** Registers `cb` to run on every SIGHUP (reopen outputs); returns a function that unregisters it. */
  onHup(cb: () => void): () => void;
  /** Removes the signal handlers again (default behaviour returns). Safe to call twice. */
  dispose(): void;
}

/** Thrown by `stopped.throwIfAborted()` / carried as `stopped.reason` after a stop signal. */
export class StoppedError extends NflogPipeError<'ERR_STOPPED'> {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super('ERR_STOPPED', `stopped by ${signal}`);
    this.signal = signal;
  }
}

/**
 * Installs SIGTERM, SIGINT and SIGHUP handlers for a CLI's lifetime. The first SIGTERM/SIGINT
 * aborts `stopped` so the program can flush and exit 0. A second one while stopping restores the
 * default action and re-raises it, so an impatient operator can still kill the process
 * (exit 128 + signal). SIGHUP runs the onHup callbacks and otherwise does nothing (its default
 * action would terminate the process).
 */
export function watchSignals(): SignalWatcher {
  const controller = new AbortController();
  const hupCallbacks = new Set<() => void>();
  let disposed = false;

  const onStop = (sig: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      controller.abort(new StoppedError(sig));
      return;
    }
    dispose();
    process.kill(process.pid, sig);
  };
  const onHupSignal = (): void => {
    for (const cb of [...hupCallbacks]) cb();
  };
  function dispose(): void {
    if (disposed) return;
    disposed = true;
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHupSignal);
  }
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHupSignal);

  return {
    stopped: controller.signal,
    onHup(cb) {
      hupCallbacks.add(cb);
      return () => hupCallbacks.delete(cb);
    },
    dispose,
  };
}

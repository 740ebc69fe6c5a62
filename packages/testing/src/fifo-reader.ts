import { spawnChild, type ChildHandle } from './child.js';

/**
 * Starts a reader process of `fifo` that copies what it reads into `out`: exactly `limitBytes`
 * bytes (`head -c`: it leaves by itself, usually mid-record, with unread data left in the pipe),
 * or with 0 everything up to EOF (`cat`). Either one reads no more than it writes out, so when it
 * ends by itself what it took from the pipe is in `out`, exactly (a killed reader may lose what
 * it held).
 */
export function startFifoReader(fifo: string, out: string, limitBytes = 0): ChildHandle {
  return limitBytes > 0
    ? spawnChild('sh', ['-c', `exec head -c ${limitBytes} "$0" > "$1"`, fifo, out])
    : spawnChild('sh', ['-c', 'exec cat "$0" > "$1"', fifo, out]);
}

import type { ToolName } from './tools.js';

/** Where the packets a run lost went, stage by stage. */
export interface LossSplit {
  /** Lost per stage (`kernel`, `sender_queue`, `network`, `fifo`, `reader`, `file`). */
  at: Record<string, number>;
  /**
   * Lost packets that no stage's own counters account for (ours only: the goal is 0). For the
   * reference tools undefined: tcpdump reports ENOBUFS events, not packets, and ulogd2 nothing.
   */
  uncounted?: number;
}

const n = (stages: Record<string, number>, key: string): number => stages[key] ?? 0;

/**
 * Splits `offered - captured` over the stages, from each stage's own counters:
 * - sender rows (the shard rows sum their sinks): kernel (offered - sender.captured: never read from NFLOG), the sender's own
 *   counted drops (queue full, shaper), then the hop to the counting sink (sequence gaps beyond
 *   the sender's drops); `uncounted` compares the loss with what the sender and sink counted
 *   (the sender's kernel count comes from NFLOG sequence gaps).
 * - pipe rows: kernel, sender drops, network (the receiver's sequence-gap count minus the
 *   sender's own drops, which it includes), the receiver's FIFO drops, and the reader
 *   (records the receiver wrote that are not in the file).
 * - tcpdump/ulogd2: kernel (offered - what the tool received) and file (received - written).
 */
export function splitLoss(
  tool: ToolName,
  offered: number,
  captured: number,
  stages: Record<string, number>,
): LossSplit {
  const lost = offered - captured;
  if (tool === 'tcpdump' || tool === 'tcpdump-null' || tool === 'tcpdump-b128m') {
    const received = stages['tcpdump.received'] ?? captured;
    return { at: { kernel: offered - received, file: received - captured } };
  }
  if (tool === 'ulogd2') return { at: { kernel: lost } };
  const read = n(stages, 'sender.captured');
  const queue = n(stages, 'sender.dropped_queue') + n(stages, 'sender.dropped_shaper');
  const kernelCounted = n(stages, 'sender.dropped_kernel');
  if (tool === 'sender' || tool.startsWith('sender-')) {
    const hop = read - queue - captured;
    const counted = kernelCounted + queue + Math.max(0, n(stages, 'sink.gapPackets') - queue);
    return {
      at: { kernel: offered - read, sender_queue: queue, to_sink: hop },
      uncounted: lost - counted,
    };
  }
  const network = n(stages, 'receiver.loss_network_pkt') - queue;
  const fifo = n(stages, 'receiver.loss_fifo_pkt');
  const reader = n(stages, 'receiver.out_pkt') - captured;
  return {
    at: {
      kernel: offered - read,
      sender_queue: queue,
      network: read - queue - n(stages, 'receiver.in_pkt'),
      fifo,
      reader,
    },
    // A reader loss is nobody's count (the bench's own reader), so it stays uncounted if any.
    uncounted: lost - (kernelCounted + queue + Math.max(0, network) + fifo),
  };
}

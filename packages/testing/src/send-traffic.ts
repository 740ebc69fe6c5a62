import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';
import type { TrafficResult, TrafficSpec } from './traffic-spec.js';

/** Absolute path of the compiled traffic script (`dist/src/traffic.js`). */
export const TRAFFIC_SCRIPT = fileURLToPath(new URL('./traffic.js', import.meta.url));

/**
 * Sends loopback traffic inside `ns` by running the bundled traffic script with
 * `ip netns exec` (see TrafficSpec). Resolves once every packet is sent.
 * @throws Error (code `ERR_TEST_COMMAND`) when the script fails or sends fewer than `count`.
 */
export async function sendTraffic(ns: Netns, spec: TrafficSpec): Promise<TrafficResult> {
  const { stdout } = await ns.run(process.execPath, [TRAFFIC_SCRIPT, JSON.stringify(spec)]);
  const line = stdout.trim().split('\n').pop() ?? '';
  const { sent } = JSON.parse(line) as TrafficResult;
  return { sent };
}

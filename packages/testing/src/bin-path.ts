import { fileURLToPath } from 'node:url';

/** The CLIs this repository ships, by their command name. */
export type ToolName =
  | 'nflog-zmq-send'
  | 'nflog-pcap-recv'
  | 'nflog-pcap-query'
  | 'nflog-zmq-compress'
  | 'nflog-zmq-decompress'
  | 'nflog-zmq-keygen';

const TOOL_PACKAGE: Record<ToolName, string> = {
  'nflog-zmq-send': 'sender',
  'nflog-pcap-recv': 'receiver',
  'nflog-pcap-query': 'query',
  'nflog-zmq-compress': 'compress',
  'nflog-zmq-decompress': 'compress',
  'nflog-zmq-keygen': 'keygen',
};

/**
 * Absolute path of a tool's bin shim, `packages/<pkg>/bin/<tool>.js`. Run it with
 * `process.execPath`. Resolved from this file's place in `packages/testing/dist/src/`.
 */
export function binPath(tool: ToolName): string {
  return fileURLToPath(new URL(`../../../${TOOL_PACKAGE[tool]}/bin/${tool}.js`, import.meta.url));
}

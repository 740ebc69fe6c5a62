export { TEST_TIMEOUT_MS, withTimeout } from './timeout.js';
export { requirePrereqs, hasTool, missingPrereq } from './prereqs.js';
export { makeTempDir, makeTempFifo, mkfifo } from './temp.js';
export { startFifoReader } from './fifo-reader.js';
export {
  spawnChild,
  killAllChildren,
  killChildren,
  type ChildHandle,
  type SpawnChildOptions,
} from './child.js';
export { binPath, type ToolName } from './bin-path.js';
export { Children } from './children.js';
export { runTool, type ToolRun } from './run-tool.js';
export {
  logField,
  logLines,
  parseLogCounters,
  stopCleanly,
  waitForLogCounters,
  waitForLogLines,
  type LogCounters,
} from './log-lines.js';
export {
  pause,
  pollUntil,
  procState,
  procWchan,
  resume,
  waitBlockedInPipeRead,
} from './proc-state.js';
export { nftLogged, nftLoggedCounter } from './nft-logged.js';
export { Netns, runCommand, type RunOptions, type RunResult } from './netns.js';
export { payloadFor } from './payload.js';
export { sendTraffic, TRAFFIC_SCRIPT } from './send-traffic.js';
export {
  TRAFFIC_MAX_COUNT,
  TRAFFIC_MAX_MS,
  type TrafficResult,
  type TrafficSpec,
} from './traffic-spec.js';
export { captureLo, tcpdumpRead, tsharkFields, LO_MARKER_PORT, type LoCapture } from './capture.js';
export { StatsdListener, parseStatsdLine, type StatsdLine } from './statsd-listener.js';
export { readHexFixture } from './hex-fixture.js';
export {
  internetChecksum,
  onesSum,
  ipv4,
  ipv4Udp,
  ipv6,
  ipv6Address,
  ipv6Udp,
  nflogPacket,
  nflogTlv,
  parseIpPacket,
  ports,
  type IpPacketFields,
} from './packets.js';
export {
  parsePrometheusText,
  promtoolCheckMetrics,
  sampleKey,
  scrape,
  type MetricSamples,
} from './prometheus.js';
export { PYZMQ_PYTHON, requirePyzmq, runPython } from './pyzmq.js';
export { collectMessages, type MessageCollector } from './collect-messages.js';
export { tcpDirectionsRuleset, udpLogRuleset, type UdpLogRule } from './nft-rules.js';
export {
  NFULA,
  NFULNL_MSG_PACKET,
  NF_INET,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  nflogAttributes,
  nflogDatagram,
  nflogMessage,
  nlmsg,
  type NflogMessageSpec,
} from './nflog-messages.js';
export { inKernelOrder, tcpFlows, tcpSegment, type TcpSegment } from './tcp-flows.js';

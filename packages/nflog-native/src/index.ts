/**
 * @nflog-pipe/nflog-native: NFLOG capture through a raw netlink socket,
 * delivered as Buffers of pcap records.
 */
export {
  NFLOG_ERROR_CODES,
  NflogError,
  type NflogErrnoCode,
  type NflogErrorCode,
  type NflogErrorDetails,
} from './errors.js';
export {
  NflogSocket,
  NFLOG_COPY_RANGE_MAX_BYTES,
  NFLOG_DEFAULTS,
  NFLOG_MAX_GROUPS,
  NFLOG_NLBUFSIZ_MAX_BYTES,
  NFLOG_NLBUFSIZ_MIN_BYTES,
  NFLOG_RCVBUF_MAX_BYTES,
  NFLOG_TIMEOUT_UNIT_MS,
  type NflogBatchHandler,
  type NflogSocketOptions,
  type NflogStats,
} from './nflog-socket.js';
export {
  NFLOG_ACCOUNT_MAX_SERIES,
  type NflogAccount,
  type NflogAccountEntry,
} from './nflog-account.js';
export { parseNflogMessages, type NflogParseResult } from './parse-nflog-messages.js';
export { lockPrivileges } from './privileges.js';

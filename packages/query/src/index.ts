export { fetchDump, QueryError } from './query-client.js';
export {
  buildQueryRequest,
  isPrefix,
  QUERY_PROTOCOL_NAMES,
  QUERY_REQUEST_ALL,
  QUERY_REQUEST_VERSION,
  type QuerySpec,
} from './query-request.js';

export { fetchDump } from './query-client.js';
export { QUERY_ERROR_CODES, QueryError, type QueryErrorCode } from './query-error.js';

export { fetchDump, type FetchDumpOptions } from './query-client.js';
export { QUERY_ERROR_CODES, QueryError, type QueryErrorCode } from './query-error.js';

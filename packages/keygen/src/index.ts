export { main, KEYGEN_DEFAULT_DIR } from './cli.js';

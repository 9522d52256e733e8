// The old home of ConfigError, kept while other branches still import it from here; errors/
// is its home (remove this file once nothing imports it).

export { ConfigError } from '../errors/config-error.js';

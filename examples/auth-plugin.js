// An example custom auth plugin for websockify:
//   websockify --auth-plugin ./examples/auth-plugin.js --auth-source "127.0.0.1 10.1.2.3" 6080 host:5900
// It lets in clients whose address is listed in --auth-source and refuses the others with 403.
// The default export is the factory: it gets the --auth-source text and { logger }, and
// returns an object whose authenticate(request) returns to allow or throws to refuse. A thrown
// error with a `status` (and optional `headers`) becomes that HTTP response; websockify's own
// AuthenticationError class does the same. See "Authentication" in the README.

/** @type {import('websockify-node').AuthPluginFactory} */
export default function create(source, { logger }) {
  const allowed = new Set((source ?? '').split(/\s+/).filter(Boolean));
  logger.info(`auth-plugin example: allowing ${[...allowed].join(', ')}`);
  return {
    authenticate(request) {
      const address = request.remoteAddress?.replace(/^::ffff:/, '');
      if (!allowed.has(address)) {
        throw Object.assign(new Error('Forbidden'), { status: 403, logMessage: `address ${address} not allowed` });
      }
    },
  };
}

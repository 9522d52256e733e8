// An example custom token plugin for websockify:
//   websockify --token-plugin ./examples/token-plugin.js --token-source 5900 6080
// Tokens are VNC display numbers: ?token=3 connects to 127.0.0.1:5903 (base port 5900 from
// --token-source). The default export is the factory: it gets the --token-source text and
// { logger } and returns an object whose lookup(token) returns a target, undefined for an
// unknown token (404), or a promise of either; throwing means the plugin failed (502).
// Targets are { kind: 'tcp', host, port } or { kind: 'unix', path }.

/** @type {import('websockify-node').TokenPluginFactory} */
export default function create(source) {
  const base = Number(source ?? 5900);
  if (!Number.isInteger(base)) throw new Error(`--token-source must be a base port, got '${source}'`);
  return {
    lookup(token) {
      if (!/^\d{1,2}$/.test(token)) return undefined;
      return { kind: 'tcp', host: '127.0.0.1', port: base + Number(token) };
    },
  };
}

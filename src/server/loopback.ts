/**
 * Loopback, one rule for every question that needs it — may this server listen without a token, is a request's Host
 * a name only this machine answers to (DNS rebinding), may a page's origin call the API: `localhost` and its
 * subdomains (browsers and resolvers map them to loopback, RFC 6761), 127.0.0.0/8 and ::1.
 */
export function isLoopbackName(name: string): boolean {
  const host = name.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** A bound socket address (what `listen` really got): an IP address, never a name. */
export function isLoopbackAddress(address: string): boolean {
  return address === '::1' || /^(::ffff:)?127(\.\d{1,3}){3}$/.test(address);
}

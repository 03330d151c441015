/**
 * The user-space conntrack helpers 1.4.7 ships (one shared object each),
 * with the layer 4 protocols they register for. Each has exactly one
 * expectation policy, named like the helper: a `Policy` block with any other
 * name is a fatal config error.
 */
const HELPERS: Readonly<Record<'tcp' | 'udp', readonly string[]>> = {
  tcp: ['ftp', 'rpc', 'sane', 'ssdp', 'tns'],
  udp: ['amanda', 'dhcpv6', 'mdns', 'rpc', 'slp', 'ssdp', 'tftp'],
};

/** Whether 1.4.7 has a helper `name` for `protocol`. */
export function helperExists(name: string, protocol: 'tcp' | 'udp'): boolean {
  return HELPERS[protocol].includes(name);
}

/** The policy names helper `name` accepts. */
export function helperPolicies(name: string): readonly string[] {
  return [name];
}

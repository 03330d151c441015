/** The library's error types (defined with the netlink layer, which throws them). */
export { DumpInterruptedError, isNotFound, NetlinkError, ProtocolError } from '../netlink/errors';

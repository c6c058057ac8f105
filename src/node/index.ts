/**
 * `symbiont/node`: the library's Node-only parts — the back ends that use the host's sockets.
 *
 * @module
 */
export { NodeHostNet } from "./host-net.js";
export { SocketNetBackend, parseSocketEndpoint, type SocketEndpoint } from "./net-socket.js";

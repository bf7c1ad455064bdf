/**
 * Free loopback ports for test servers: the same lookup the local game day starts its parts with.
 * A port the OS reported free can be taken before it is used: start servers with startOnFreePort.
 */
export { freePort, startOnFreePort } from '../../bin/gameday/local-processes.js';

/**
 * What the large profile's Loki and Tempo files need to form a cluster on ECS: rings in memberlist,
 * peers found through the Cloud Map A records of their services, and the ports the security groups
 * open between the members (lib/lgtm/loki-simple-scalable.ts, lib/lgtm/tempo-scalable.ts).
 */
import { isMap, listAt, textAt } from './yaml-tree.js';

/** memberlist gossip between the members of one cluster (TCP). */
export const MEMBERLIST_PORT = 7946;
/** gRPC between the members (distributor to ingester, querier to frontend, scheduler, index gateway). */
export const CLUSTER_GRPC_PORT = 9095;

/** The Cloud Map services a cluster's members register under, each an A record listing its tasks. */
export const LOKI_CLUSTER_SERVICES = ['loki-write', 'loki-read', 'loki-backend'] as const;
export const TEMPO_CLUSTER_SERVICES = ['tempo'] as const;

/** `dns+<service>.<namespace>:7946`: memberlist resolves every A record and joins them. */
export function memberlistJoinAddress(service: string, namespace: string): string {
  return `dns+${service}.${namespace}:${MEMBERLIST_PORT}`;
}

/** Problems of the cluster settings shared by Loki and Tempo, one line each. */
export function clusterProblems(config: unknown, services: readonly string[], namespace: string): string[] {
  if (!isMap(config)) return [];
  const problems: string[] = [];
  if (Number(textAt(config, 'server.grpc_listen_port')) !== CLUSTER_GRPC_PORT) {
    problems.push(
      `server.grpc_listen_port must be ${CLUSTER_GRPC_PORT}: the security groups open that port between the members`,
    );
  }
  const bindPort = textAt(config, 'memberlist.bind_port');
  if (bindPort !== undefined && Number(bindPort) !== MEMBERLIST_PORT) {
    problems.push(
      `memberlist.bind_port must be ${MEMBERLIST_PORT} (or unset): the security groups open that port between the members`,
    );
  }
  const joins = listAt(config, 'memberlist.join_members');
  for (const service of services) {
    const expected = memberlistJoinAddress(service, namespace);
    if (!joins.includes(expected)) {
      problems.push(
        `memberlist.join_members must include ${expected}: the ${service} tasks are found through that record`,
      );
    }
  }
  return problems;
}

/** The task's VPC interface on Fargate; eth0 there is the link-local metadata network, the same in every task. */
export const TASK_INTERFACE = 'eth1';

/** Each of `paths` must list the task's VPC interface, or the ring holds an address no other task can reach. */
function interfaceProblems(config: unknown, paths: readonly string[]): string[] {
  return paths
    .filter((path) => !listAt(config, path).includes(TASK_INTERFACE))
    .map(
      (path) =>
        `${path} must include ${TASK_INTERFACE}: on Fargate eth0 is the link-local metadata network, the same address in every task`,
    );
}

/** Loki's own: every ring in memberlist. */
export function lokiClusterProblems(config: unknown, namespace: string): string[] {
  const problems = [
    ...clusterProblems(config, LOKI_CLUSTER_SERVICES, namespace),
    ...interfaceProblems(config, ['common.instance_interface_names']),
  ];
  const store = textAt(config, 'common.ring.kvstore.store');
  if (store !== 'memberlist') {
    problems.push(
      `common.ring.kvstore.store is "${store ?? ''}", expected memberlist: the write, read and backend tasks share their rings through it`,
    );
  }
  return problems;
}

/** Tempo's own: the queriers reach the query frontends of every task. */
export function tempoClusterProblems(config: unknown, namespace: string): string[] {
  const problems = [
    ...clusterProblems(config, TEMPO_CLUSTER_SERVICES, namespace),
    ...interfaceProblems(config, [
      'ingester.lifecycler.interface_names',
      'compactor.ring.instance_interface_names',
      'distributor.ring.instance_interface_names',
      'metrics_generator.ring.instance_interface_names',
    ]),
  ];
  const frontend = `tempo.${namespace}:${CLUSTER_GRPC_PORT}`;
  if (textAt(config, 'querier.frontend_worker.frontend_address') !== frontend) {
    problems.push(
      `querier.frontend_worker.frontend_address must be ${frontend}: each querier connects to the frontends of all tasks`,
    );
  }
  return problems;
}

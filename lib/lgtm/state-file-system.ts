import { RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import { Construct } from 'constructs';

export interface StateFileSystemProps {
  /** The VPC the mount targets are in. */
  readonly vpc: ec2.IVpc;
  /** What happens to the file system when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A service's directory on the file system and the POSIX user its image runs as. */
export interface StateDirectory {
  /** The directory, e.g. "/prometheus". */
  readonly path: string;
  /** The image's user and group id (Prometheus 65534, Grafana 472). */
  readonly uid: number;
}

/**
 * The encrypted EFS file system for the state that must survive a task: Prometheus's TSDB,
 * Alertmanager's silences, Grafana's SQLite. Each service gets an access point that creates its
 * directory, owned by the user its image runs as.
 */
export class StateFileSystem extends Construct {
  /** The file system. */
  readonly fileSystem: efs.FileSystem;

  constructor(scope: Construct, id: string, props: StateFileSystemProps) {
    super(scope, id);
    this.fileSystem = new efs.FileSystem(this, 'FileSystem', {
      vpc: props.vpc,
      encrypted: true,
      // Low, bursty IO: elastic throughput is billed per use; general purpose keeps latency low.
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      enableAutomaticBackups: true,
    });
  }

  /** An access point rooted at `directory.path`, acting as its user. */
  accessPoint(id: string, directory: StateDirectory): efs.AccessPoint {
    if (!/^\/[a-z][a-z0-9-]*$/.test(directory.path)) {
      throw new Error(
        `StateFileSystem: "${directory.path}" must be one top-level directory such as "/prometheus".`,
      );
    }
    if (!Number.isInteger(directory.uid) || directory.uid < 0) {
      throw new Error(`StateFileSystem: uid ${directory.uid} is not a POSIX user id.`);
    }
    const id_ = String(directory.uid);
    return this.fileSystem.addAccessPoint(id, {
      path: directory.path,
      createAcl: { ownerUid: id_, ownerGid: id_, permissions: '0750' },
      posixUser: { uid: id_, gid: id_ },
    });
  }
}

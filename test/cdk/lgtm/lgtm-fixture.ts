import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as servicediscovery from 'aws-cdk-lib/aws-servicediscovery';
import { afterEach, expect, it } from 'vitest';
import { stackConfigDir } from '../../../functions/shared/stack-config.js';
import { loadStackVersions, type StackVersions } from '../../../functions/shared/versions.js';
import { asIBucket, asICluster, asIVpc } from '../../../lib/cdk-interfaces.js';
import { ServiceConfigs } from '../../../lib/lgtm/service-configs.js';
import { StateFileSystem } from '../../../lib/lgtm/state-file-system.js';
import { ConstructTestStack, withoutAssetHashes } from '../app-fixture.js';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON is walked structurally
export type Json = any;

/** What every service construct is built on: a VPC, a cluster, the namespace, the config bucket, EFS. */
export interface LgtmTestBase {
  readonly vpc: ec2.IVpc;
  readonly cluster: ecs.ICluster;
  readonly namespace: servicediscovery.PrivateDnsNamespace;
  readonly configs: ServiceConfigs;
  readonly accessLogs: s3.IBucket;
  readonly state: StateFileSystem;
  readonly versions: StackVersions;
}

export function lgtmTestBase(stack: Stack, configDir: string = stackConfigDir()): LgtmTestBase {
  const vpc = asIVpc(new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }));
  const cluster = asICluster(new ecs.Cluster(stack, 'Cluster', { vpc }));
  const namespace = new servicediscovery.PrivateDnsNamespace(stack, 'Namespace', {
    name: 'toilless.local',
    vpc,
  });
  const accessLogs = asIBucket(new s3.Bucket(stack, 'AccessLogs'));
  const configs = new ServiceConfigs(stack, 'Configs', {
    stackConfigDir: configDir,
    accessLogsBucket: accessLogs,
  });
  const state = new StateFileSystem(stack, 'State', { vpc });
  return { vpc, cluster, namespace, configs, accessLogs, state, versions: loadStackVersions(configDir) };
}

/** The props every service that keeps its data in a bucket of its own takes: Loki's and Tempo's. */
export function bucketServiceProps<Image extends keyof StackVersions>(
  base: LgtmTestBase,
  image: Image,
  retentionDays: number,
) {
  return { ...base, image: base.versions[image], accessLogsBucket: base.accessLogs, retentionDays };
}

/** The resources of the template, by logical id. */
export function resourcesOf(stack: Stack): Record<string, Json> {
  return Template.fromStack(stack).toJSON().Resources;
}

/** The container definitions of the only task definition whose logical id starts with `prefix`. */
export function containersOf(stack: Stack, prefix: string): Json[] {
  const tasks = Object.entries(resourcesOf(stack)).filter(
    ([id, resource]) => resource.Type === 'AWS::ECS::TaskDefinition' && id.startsWith(prefix),
  );
  if (tasks.length !== 1)
    throw new Error(`expected one task definition starting with ${prefix}, found ${tasks.length}`);
  return tasks[0]?.[1].Properties.ContainerDefinitions;
}

export function containerNamed(containers: Json[], name: string): Json {
  const container = containers.find((candidate) => candidate.Name === name);
  if (!container) throw new Error(`no container ${name}`);
  return container;
}

/** Environment variables of a container, as a plain record. */
export function environmentOf(container: Json): Record<string, Json> {
  return Object.fromEntries((container.Environment ?? []).map((entry: Json) => [entry.Name, entry.Value]));
}

/** The template for a snapshot: no asset hashes, no config hashes (they follow the shipped files). */
export function snapshotOf(stack: Stack): unknown {
  const text = JSON.stringify(withoutAssetHashes(Template.fromStack(stack).toJSON()));
  return JSON.parse(text);
}

/** The stacks and scratch folders of a test file's tests, each removed after its test. */
export interface LgtmTestStacks {
  /**
   * A fresh stack with the base every service is built on, and what `create` builds on it.
   * `configDir`: the stack-config it reads. @default the shipped one
   */
  build<T>(
    create: (stack: Stack, base: LgtmTestBase) => T,
    configDir?: string,
  ): {
    readonly built: T;
    readonly fixture: ConstructTestStack;
    readonly base: LgtmTestBase;
  };
  /** A new empty folder under the system's temporary directory. */
  scratch(prefix: string): string;
}

/** Registers the clean-up after each test; call it once at the top of a test file. */
export function useLgtmTestStacks(): LgtmTestStacks {
  const fixtures: ConstructTestStack[] = [];
  const scratches: string[] = [];
  afterEach(() => {
    for (const fixture of fixtures.splice(0)) fixture.dispose();
    for (const dir of scratches.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    build: (create, configDir) => {
      const fixture = new ConstructTestStack();
      fixtures.push(fixture);
      const base = lgtmTestBase(fixture.stack, configDir);
      return { built: create(fixture.stack, base), fixture, base };
    },
    scratch: (prefix) => {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      scratches.push(dir);
      return dir;
    },
  };
}

/** The snapshot test of a construct, built the way its other tests build it. */
export function itMatchesTheSnapshot(
  build: () => { readonly fixture: ConstructTestStack },
  name = 'matches the snapshot',
): void {
  it(name, () => {
    expect(snapshotOf(build().fixture.stack)).toMatchSnapshot();
  });
}

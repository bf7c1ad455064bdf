/**
 * stack-config/versions.yaml: the image and version of every part of the stack. docker-compose.yml and
 * the CDK stack take their images from it, so a version is named in one place.
 */
import * as z from 'zod';
import { parseConfigYaml, readStackConfigFile, stackConfigDir } from './stack-config.js';

/** The parts of the stack that run from an image. */
export const STACK_COMPONENTS = [
  'loki',
  'tempo',
  'grafana',
  'prometheus',
  'alertmanager',
  'otel-collector',
  'blackbox-exporter',
  'node-exporter',
  'toilless',
  'config-sync',
  'loki-gateway',
] as const;

/** Components only the ECS stack runs (docker compose mounts stack-config directly). */
export const ECS_ONLY_COMPONENTS: readonly StackComponent[] = ['config-sync', 'loki-gateway'];

export type StackComponent = (typeof STACK_COMPONENTS)[number];

const componentImage = z.strictObject({
  /** Repository of the image, e.g. grafana/loki. */
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._/-]*$/, 'expected an image repository such as grafana/loki, without a tag'),
  /** An exact version tag: never `latest`, so that every deployment runs what was tested. */
  tag: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(
      z
        .string()
        .regex(/^[\w][\w.-]{0,127}$/, 'expected an image tag such as 3.4.6')
        .refine((tag) => tag !== 'latest', 'pin an exact version: `latest` changes under a running stack'),
    ),
});

const versionsSchema = z.strictObject({
  components: z.strictObject(
    Object.fromEntries(STACK_COMPONENTS.map((name) => [name, componentImage])) as Record<
      StackComponent,
      typeof componentImage
    >,
  ),
});

/** One component's image. */
export interface ComponentImage {
  readonly image: string;
  readonly tag: string;
}

export type StackVersions = Readonly<Record<StackComponent, ComponentImage>>;

/** `image:tag`, as docker and ECS take it. */
export function imageReference(component: ComponentImage): string {
  return `${component.image}:${component.tag}`;
}

export function parseStackVersions(text: string, source = 'versions.yaml'): StackVersions {
  return parseConfigYaml(versionsSchema, text, source).components;
}

/** Reads `<dir>/versions.yaml` (the repository's stack-config by default). */
export function loadStackVersions(dir: string = stackConfigDir()): StackVersions {
  return parseStackVersions(readStackConfigFile(dir, 'versions.yaml'), 'stack-config/versions.yaml');
}

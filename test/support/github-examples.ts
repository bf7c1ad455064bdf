/**
 * Real GitHub webhook payloads (the examples GitHub documents, collected by the Octokit project)
 * and the signature GitHub would send with them.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';

interface WebhookDefinition {
  readonly name: string;
  readonly examples: Record<string, unknown>[];
}

const definitions: WebhookDefinition[] = createRequire(import.meta.url)('@octokit/webhooks-examples');

// biome-ignore lint/suspicious/noExplicitAny: payloads are GitHub's JSON; tests read and tweak their fields freely
export type GitHubPayload = Record<string, any>;

/** Deep copies of every documented example of `event`, in the order GitHub lists them. */
export function githubExamples(event: string): GitHubPayload[] {
  return documentedExamples(event).map((example) => structuredClone(example));
}

/** A deep copy of the first documented example of `event` matching `predicate`. */
export function githubExample(
  event: string,
  predicate: (payload: GitHubPayload) => boolean = () => true,
): GitHubPayload {
  const found = documentedExamples(event).find((example) => predicate(example));
  if (!found) throw new Error(`no ${event} example matches the predicate`);
  return structuredClone(found);
}

/** X-Hub-Signature-256 for a raw body. */
/** A push to master whose 300 commits with long messages make its event larger than the bus accepts. */
export function oversizedPush(): GitHubPayload {
  const payload = githubExample('push', (p) => p.ref === 'refs/heads/master' && p.commits.length > 0);
  const template = payload.commits[0];
  payload.commits = Array.from({ length: 300 }, (_, index) => ({
    ...template,
    id: index.toString(16).padStart(40, '0'),
    message: `${'a long first line '.repeat(56)}${index}`,
  }));
  return payload;
}

export function signGitHubBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function documentedExamples(event: string): readonly GitHubPayload[] {
  const definition = definitions.find((d) => d.name === event);
  if (!definition) throw new Error(`@octokit/webhooks-examples has no examples for ${event}`);
  return definition.examples;
}

/**
 * Secrets on Lambda: a plain environment variable (GITHUB_WEBHOOK_SECRET=...) wins, otherwise the ARN of
 * a Secrets Manager secret in `<NAME>_ARN` (GITHUB_WEBHOOK_SECRET_ARN=arn:...), read on first use
 * and cached. The CDK stacks never put a secret value in the environment.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretName, SecretSource } from '../../ports/secrets.js';

/** Looks in the environment, then in Secrets Manager for `<NAME>_ARN`. */
export class EnvironmentSecretSource implements SecretSource {
  private readonly cache = new Map<SecretName, Promise<string | undefined>>();
  private client?: SecretsManagerClient;

  constructor(
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get(name: SecretName): Promise<string | undefined> {
    const plain = this.env[name];
    if (plain) return Promise.resolve(plain);
    const arn = this.env[`${name}_ARN`];
    if (!arn) return Promise.resolve(undefined);
    const cached = this.cache.get(name);
    if (cached) return cached;
    const pending = this.fetch(arn).catch((error: unknown) => {
      this.cache.delete(name);
      throw error;
    });
    this.cache.set(name, pending);
    // Rotation: forget the value after the TTL so a rotated secret is picked up without a redeploy.
    setTimeout(() => this.cache.delete(name), this.ttlMs).unref();
    return pending;
  }

  private async fetch(arn: string): Promise<string | undefined> {
    // Loaded on the first read: once the values are cached (or given plainly) the client is never needed.
    const { GetSecretValueCommand, SecretsManagerClient } = await import('./secrets-manager-client.js');
    this.client ??= new SecretsManagerClient({});
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: arn }));
    return (
      result.SecretString ??
      (result.SecretBinary ? Buffer.from(result.SecretBinary).toString('utf8') : undefined)
    );
  }
}

/**
 * The one Secrets Manager command the secret source sends, in a module of its own: the source imports
 * it on its first read, and a bundler keeps only these two exports of the client package.
 */
export { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

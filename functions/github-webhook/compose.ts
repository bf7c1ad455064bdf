/** The github-webhook intake from its ports: the same on Lambda and in the local server. */
import type { ComposeWebhook } from '../shared/workers/composition.js';
import { createGitHubWebhook } from './intake.js';

export const create: ComposeWebhook = (ports) => createGitHubWebhook(ports);

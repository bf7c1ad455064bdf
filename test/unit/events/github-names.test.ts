import { describe, expect, it } from 'vitest';
import {
  environmentNameProblem,
  repositoryNameProblem,
} from '../../../functions/shared/events/github-names.js';
import { hostileEnvironmentNames, hostileRepositoryNames } from '../../support/intake-hostile-corpus.js';

describe('GitHub names the intake accepts', () => {
  it.each([
    'octo/app',
    'Octo-Cat/hello.world',
    'a/b',
    `${'o'.repeat(39)}/${'r'.repeat(100)}`,
    'octo/.github',
    'octo/_under_score-',
  ])('accepts the repository %s', (fullName) => {
    expect(repositoryNameProblem(fullName)).toBeUndefined();
  });

  it.each(hostileRepositoryNames)('refuses the repository %j with a reason', (fullName) => {
    expect(repositoryNameProblem(fullName)).toEqual(expect.any(String));
  });

  it.each(['production', 'review/feature-1', 'Production EU', '..staging', 'e'.repeat(250), 'préprod'])(
    'accepts the environment %j',
    (name) => {
      expect(environmentNameProblem(name)).toBeUndefined();
    },
  );

  it.each(hostileEnvironmentNames)('refuses the environment %j with a reason', (name) => {
    expect(environmentNameProblem(name)).toEqual(expect.any(String));
  });

  it('says why a long environment name cannot be stored', () => {
    expect(environmentNameProblem('€'.repeat(28))).toBe(
      'the environment name takes 252 bytes URL-encoded; at most 250 can be stored',
    );
  });
});

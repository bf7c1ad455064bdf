import { afterEach, describe, expect, it } from 'vitest';
import { LokiSimpleScalable } from '../../../lib/lgtm/loki-simple-scalable.js';
import { TempoScalable } from '../../../lib/lgtm/tempo-scalable.js';
import { ConstructTestStack } from '../app-fixture.js';
import { lgtmTestBase } from './lgtm-fixture.js';

let fixture: ConstructTestStack | undefined;

afterEach(() => {
  fixture?.dispose();
  fixture = undefined;
});

function base() {
  fixture = new ConstructTestStack();
  const shared = lgtmTestBase(fixture.stack);
  return { stack: fixture.stack, shared };
}

describe('Loki in simple scalable mode', () => {
  it('refuses fewer than three write tasks, which replication factor 3 needs', () => {
    // Prepare
    const { stack, shared } = base();

    // Act
    const act = () =>
      new LokiSimpleScalable(stack, 'Loki', {
        ...shared,
        image: shared.versions.loki,
        accessLogsBucket: shared.accessLogs,
        retentionDays: 30,
        sizes: { write: { desiredCount: 2, cpu: 1024, memoryLimitMiB: 4096 } },
      });

    // Assess
    expect(act).toThrow(/the write path needs at least 3 tasks: .* \(got 2\)/);
  });

  it('refuses a read scaling ceiling under the read tasks it starts with', () => {
    // Prepare
    const { stack, shared } = base();

    // Act
    const act = () =>
      new LokiSimpleScalable(stack, 'Loki', {
        ...shared,
        image: shared.versions.loki,
        accessLogsBucket: shared.accessLogs,
        retentionDays: 30,
        maxReadTasks: 1,
      });

    // Assess
    expect(act).toThrow(
      /maxReadTasks \(1\) must be a whole number of at least the read path's desiredCount \(2\)/,
    );
  });
});

describe('Tempo scaled out', () => {
  it('refuses a single task, which could not hold the second copy of each trace', () => {
    // Prepare
    const { stack, shared } = base();

    // Act
    const act = () =>
      new TempoScalable(stack, 'Tempo', {
        ...shared,
        image: shared.versions.tempo,
        accessLogsBucket: shared.accessLogs,
        retentionDays: 14,
        desiredCount: 1,
      });

    // Assess
    expect(act).toThrow(/desiredCount must be at least 2: .* \(got 1\)/);
  });
});

import { describe, expect, it } from 'vitest';
import { builtOnFirstUse, lazily } from '../../../functions/shared/lazily.js';

describe('A value built on first use', () => {
  it('builds once, on first use, for every caller, concurrent ones included', async () => {
    // Prepare
    let builds = 0;
    const value = lazily(async () => {
      builds++;
      return { client: builds };
    });

    // Act
    const before = builds;
    const [first, second] = await Promise.all([value(), value()]);
    const third = await value();

    // Assess
    expect(before).toBe(0);
    expect(builds).toBe(1);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('forgets a failed build, so that the next use tries again', async () => {
    // Prepare
    let attempts = 0;
    const value = lazily(async () => {
      attempts++;
      if (attempts === 1) throw new Error('ThrottlingException: rate exceeded');
      return 'secret';
    });

    // Act
    const failed = value();
    await expect(failed).rejects.toThrow('ThrottlingException');
    const retried = await value();

    // Assess
    expect(retried).toBe('secret');
    expect(attempts).toBe(2);
  });
});

describe('A value built synchronously on first use', () => {
  it('builds nothing until asked, then once for every caller', () => {
    // Prepare
    let builds = 0;
    const schema = builtOnFirstUse(() => {
      builds++;
      return { built: builds };
    });

    // Act
    const before = builds;
    const first = schema();
    const second = schema();

    // Assess
    expect(before).toBe(0);
    expect(builds).toBe(1);
    expect(second).toBe(first);
  });

  it('keeps an undefined value instead of building it again', () => {
    // Prepare
    let builds = 0;
    const nothing = builtOnFirstUse(() => {
      builds++;
      return undefined;
    });

    // Act
    nothing();
    nothing();

    // Assess
    expect(builds).toBe(1);
  });
});

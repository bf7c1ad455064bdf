import { describe, expect, it } from 'vitest';
import {
  fetchWithin,
  formatBytes,
  readBodyWithin,
  readBytesWithin,
} from '../../../functions/shared/clients/bounded-body.js';
import { UpstreamError } from '../../../functions/shared/errors.js';

const LIMIT = { service: 'loki', request: 'GET /loki/api/v1/query_range', maxBytes: 16 };

/** A body streamed in chunks, recording how far it was read and whether it was cancelled. */
function streamed(chunks: readonly string[]): {
  response: Response;
  pulled: () => number;
  cancelled: () => boolean;
} {
  let index = 0;
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = chunks[index++];
      if (next === undefined) controller.close();
      else controller.enqueue(new TextEncoder().encode(next));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { response: new Response(body), pulled: () => index, cancelled: () => cancelled };
}

describe('Bounded response bodies', () => {
  it('reads a body within the cap as text', async () => {
    // Act
    const text = await readBodyWithin(new Response('{"status":"ok"}'), LIMIT);

    // Assess
    expect(text).toBe('{"status":"ok"}');
  });

  it('refuses a body declared larger than the cap before reading any of it', async () => {
    // Prepare
    const body = streamed(['x'.repeat(10), 'x'.repeat(10)]);
    const declared = new Response(body.response.body, { headers: { 'content-length': '20' }, status: 200 });

    // Act
    const reading = readBodyWithin(declared, LIMIT);

    // Assess
    await expect(reading).rejects.toThrow(
      new UpstreamError(
        'loki',
        "GET /loki/api/v1/query_range answered with more than 16 bytes: the answer was refused unread (narrow the query, or raise the client's maxResponseBytes)",
        200,
      ),
    );
    expect(body.cancelled()).toBe(true);
  });

  it('stops an endless body at the cap and cancels the rest unread', async () => {
    // Prepare: no content-length, a stream that would go on for a thousand chunks
    const body = streamed(Array.from({ length: 1_000 }, () => 'xxxxxxxx'));

    // Act
    const reading = readBytesWithin(body.response, LIMIT);

    // Assess
    await expect(reading).rejects.toBeInstanceOf(UpstreamError);
    expect(body.cancelled()).toBe(true);
    expect(body.pulled()).toBeLessThan(10);
  });

  it('reads a body of exactly the cap', async () => {
    // Act
    const bytes = await readBytesWithin(streamed(['x'.repeat(8), 'y'.repeat(8)]).response, LIMIT);

    // Assess
    expect(Buffer.from(bytes).toString('utf8')).toBe(`${'x'.repeat(8)}${'y'.repeat(8)}`);
  });

  it('hands on a buffered answer with its status, headers and final URL, and refuses one over the cap', async () => {
    // Prepare
    const answers = [
      new Response('[]', { status: 200, headers: { etag: '"abc"' } }),
      new Response('z'.repeat(64)),
    ];
    const inner = (async () => {
      const answer = answers.shift() as Response;
      Object.defineProperty(answer, 'url', { value: 'https://api.github.com/repos/acme/web/compare/a...b' });
      return answer;
    }) as typeof fetch;
    const bounded = fetchWithin(inner, { service: 'github', maxBytes: 16 });

    // Act
    const small = await bounded('https://api.github.com/repos/acme/web/compare/a...b');
    const large = bounded('https://api.github.com/repos/acme/web/commits?page=2', { method: 'GET' });

    // Assess
    expect(small.status).toBe(200);
    expect(small.headers.get('etag')).toBe('"abc"');
    expect(small.url).toBe('https://api.github.com/repos/acme/web/compare/a...b');
    expect(await small.text()).toBe('[]');
    await expect(large).rejects.toThrow('GET /repos/acme/web/commits answered with more than 16 bytes');
  });

  it('names sizes in the unit they were configured in', () => {
    // Act & Assess
    expect(formatBytes(10 * 1024 * 1024)).toBe('10 MiB');
    expect(formatBytes(256 * 1024)).toBe('256 KiB');
    expect(formatBytes(1_500)).toBe('1500 bytes');
  });
});

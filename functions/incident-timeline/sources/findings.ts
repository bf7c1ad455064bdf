/**
 * What one evidence source found: its events and the problems it met. A source is made of parts
 * (one query each, or one lookup); a part that fails is a problem, the others' events are kept, and
 * what was found so far is still there when the source is cut short by its timeout.
 */
import type { TimelineEvent } from '../model.js';

export class SourceFindings {
  private readonly found: TimelineEvent[] = [];
  private readonly summaries: (() => readonly TimelineEvent[])[] = [];
  private readonly failures: unknown[] = [];

  add(events: readonly TimelineEvent[]): void {
    this.found.push(...events);
  }

  /** Records a problem; the gatherer turns a source's problems into one source.unavailable event. */
  fail(error: unknown): void {
    this.failures.push(error);
  }

  /** Runs one part of the source: its events are added, its failure recorded, nothing thrown. */
  async part(run: () => Promise<readonly TimelineEvent[]>): Promise<void> {
    try {
      this.add(await run());
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Registers events built from state the parts fill in (e.g. traces grouped by failure): built when
   * the findings are read, so a source cut short still reports what it had.
   */
  summarise(build: () => readonly TimelineEvent[]): void {
    this.summaries.push(build);
  }

  get problems(): readonly unknown[] {
    return this.failures;
  }

  events(): TimelineEvent[] {
    const events = [...this.found];
    for (const build of this.summaries) {
      try {
        events.push(...build());
      } catch (error) {
        this.failures.push(error);
      }
    }
    return events;
  }
}

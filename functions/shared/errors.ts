/** The errors toilless raises on purpose. Each names what was wrong so the message can be acted on. */
export class ToillessError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Missing or inconsistent configuration: says which setting and what to do. */
export class ConfigurationError extends ToillessError {}

/** Input that does not match its schema. `issues` name the fields (dot paths) and what is wrong. */
export class ValidationError extends ToillessError {
  constructor(
    message: string,
    readonly issues: readonly { readonly path: string; readonly message: string }[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A conditional write lost: the object changed (ifMatch) or already exists (putIfAbsent). */
export class PreconditionFailedError extends ToillessError {
  constructor(readonly key: string) {
    super(`the object at ${key} changed or exists: conditional write refused`);
  }
}

/** One or more events were not accepted by the bus after retries. */
export class EventPublishError extends ToillessError {
  constructor(
    message: string,
    readonly failedEventIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An upstream HTTP service (Prometheus, Loki, Tempo, Grafana, Slack, GitHub) answered with an error. */
export class UpstreamError extends ToillessError {
  constructor(
    readonly service: string,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`${service}: ${message}`, options);
  }
}

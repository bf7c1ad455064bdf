/** A request Loki rejects with 400 and this text. */
export class BadRequest extends Error {}

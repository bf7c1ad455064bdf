/** Types for snappyjs (pure-JavaScript Snappy), which ships none. */
declare module 'snappyjs' {
  /** Snappy block format (what remote-write uses), not the framed stream format. */
  export function compress(input: Uint8Array): Uint8Array;
  /** Inverse of compress; throws on corrupt input or when the result would exceed maxLength. */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
}

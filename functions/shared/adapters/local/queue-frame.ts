/**
 * The framing of the local event queue's files: one record a line, `<crc32 hex> <byte length> <json>\n`.
 * JSON never holds a raw newline, so an operator can read a segment with `cut -d' ' -f3- | jq`, and
 * a reader finds the next record after a damaged one. The length and checksum tell a whole record from
 * a torn or corrupted one.
 */
import { crc32 } from 'node:zlib';

const NEWLINE = 0x0a;
const FRAME = /^([0-9a-f]{8}) (\d{1,9}) /;

export function encodeFrame(json: string): Buffer {
  const body = Buffer.from(json, 'utf8');
  const head = `${checksum(body)} ${body.length} `;
  const frame = Buffer.allocUnsafe(Buffer.byteLength(head) + body.length + 1);
  const at = frame.write(head, 0, 'latin1');
  body.copy(frame, at);
  frame[frame.length - 1] = NEWLINE;
  return frame;
}

/** A whole record: where its line starts, how long the line is (newline included), its JSON. */
export interface DecodedRecord {
  readonly offset: number;
  readonly length: number;
  readonly json: string;
}

export interface DecodedFrames {
  readonly records: readonly DecodedRecord[];
  /** Complete lines whose length or checksum is wrong: skipped. */
  readonly corrupt: readonly { readonly offset: number; readonly reason: string }[];
  /** Where the whole lines end; bytes after it are a torn last record (a write cut short). */
  readonly end: number;
}

/** Splits a file's bytes into records, setting aside damaged lines and a torn tail. */
export function decodeFrames(bytes: Buffer): DecodedFrames {
  const records: DecodedRecord[] = [];
  const corrupt: { offset: number; reason: string }[] = [];
  let offset = 0;
  for (;;) {
    const newline = bytes.indexOf(NEWLINE, offset);
    if (newline < 0) break;
    const decoded = decodeLine(bytes.subarray(offset, newline));
    if (typeof decoded === 'string') records.push({ offset, length: newline + 1 - offset, json: decoded });
    else corrupt.push({ offset, reason: decoded.reason });
    offset = newline + 1;
  }
  return { records, corrupt, end: offset };
}

/** The JSON of one framed line (its newline included or not), or why it is not a whole record. */
export function decodeLine(line: Buffer): string | { readonly reason: string } {
  const content = line.at(-1) === NEWLINE ? line.subarray(0, -1) : line;
  const head = FRAME.exec(content.subarray(0, 20).toString('latin1'));
  if (!head) return { reason: 'no frame header' };
  const [prefix = '', sum, length] = head;
  const body = content.subarray(prefix.length);
  if (body.length !== Number(length)) {
    return { reason: `length ${body.length} where the header says ${length}` };
  }
  if (checksum(body) !== sum) return { reason: 'checksum mismatch' };
  return body.toString('utf8');
}

function checksum(body: Buffer): string {
  return crc32(body).toString(16).padStart(8, '0');
}

/**
 * Prometheus remote-write 1.0 payloads: validation and protobuf encoding of a `prometheus.WriteRequest`
 * (prompb/remote.proto and prompb/types.proto):
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }
 *
 * What the validation decides, so that Prometheus never has to drop data silently:
 * - `__name__` is required and must match `[a-zA-Z_:][a-zA-Z0-9_:]*`; other label names must match
 *   `[a-zA-Z_][a-zA-Z0-9_]*` and must not start with `__` (reserved for Prometheus). Values must be
 *   well-formed Unicode (no lone surrogates), since they are sent as UTF-8.
 * - A label with an empty value is dropped: Prometheus treats an empty value as an absent label.
 *   Duplicate names cannot occur: the labels are an object, so each name appears once.
 * - Labels are emitted sorted by name, as the protocol requires.
 * - Samples are emitted in timestamp order: out-of-order input is sorted (within one request Prometheus
 *   would otherwise drop the late samples without an error). Repeats of a timestamp with the same value
 *   are sent once; with different values they are an error.
 * - Timestamps are whole Unix milliseconds within ±2^53; values are any float (±Inf included) except
 *   NaN, which is only allowed as the staleness marker {@link STALE_NAN}.
 * - Entries with the same labels are merged into one series; series without samples are omitted.
 * Pure: no I/O.
 */
import protobuf from 'protobufjs/minimal.js';
import { ValidationError } from '../errors.js';

/** One sample: a float value at a time in Unix milliseconds. */
export interface Sample {
  readonly value: number;
  readonly timestampMs: number;
}

/** One series: its labels (including `__name__`, the metric name) and its samples. */
export interface TimeSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly Sample[];
}

/** A series after validation: labels sorted by name, empty values dropped, samples ordered and unique. */
export interface PreparedSeries {
  readonly names: readonly string[];
  readonly values: readonly string[];
  readonly samples: readonly Sample[];
  /** Encoded size of the series' `repeated Label labels = 1` fields. */
  readonly labelsSize: number;
}

/** A run of one prepared series' samples, `start` inclusive, `end` exclusive: the unit of a request. */
export interface SeriesSlice {
  readonly series: PreparedSeries;
  readonly start: number;
  readonly end: number;
}

const STALE_HIGH_WORD = 0x7ff00000;
const STALE_LOW_WORD = 0x00000002;
const QUIET_BIT = 0x00080000;

/**
 * Prometheus' staleness marker (bits 0x7ff0000000000002): a sample with this value ends the series,
 * so queries stop returning it at once instead of after the 5-minute lookback.
 */
export const STALE_NAN: number = (() => {
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, STALE_HIGH_WORD);
  view.setUint32(4, STALE_LOW_WORD);
  return view.getFloat64(0);
})();

const scratch = new DataView(new ArrayBuffer(8));

/**
 * Whether a value is the staleness marker. V8 sets the quiet bit of a NaN stored in an array
 * (0x7ff8000000000002), so that form counts too; the encoder always sends the exact marker bits.
 */
export function isStaleNaN(value: number): boolean {
  if (!Number.isNaN(value)) return false;
  scratch.setFloat64(0, value);
  return scratch.getUint32(4) === STALE_LOW_WORD && (scratch.getUint32(0) & ~QUIET_BIT) === STALE_HIGH_WORD;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const MAX_REPORTED_ISSUES = 100;
const { utf8 } = protobuf.util;

interface Issue {
  readonly path: string;
  readonly message: string;
}

/**
 * Validates series for remote-write and puts them in the shape the protocol requires (see the module
 * comment). Throws one ValidationError listing every problem (up to 100), each naming its series by
 * position and labels; issue paths are like `[3].labels.env` or `[3].samples[2].value`.
 */
export function prepareSeries(series: readonly TimeSeries[]): PreparedSeries[] {
  const issues: Issue[] = [];
  const prepared: PreparedSeries[] = [];
  const seen = new SeriesIndex();

  for (let index = 0; index < series.length && issues.length < MAX_REPORTED_ISSUES; index++) {
    const one = series[index]!;
    const labels = prepareLabels(one, index, issues);
    const checked = checkSamples(one, index, labels !== undefined, issues);
    if (labels === undefined || checked === undefined || checked.samples.length === 0) continue;

    const hash = labelsHash(labels);
    const earlier = seen.find(hash, labels, prepared);
    if (earlier === undefined) {
      const samples = checked.ordered ? checked.samples : orderSamples(checked.samples, one, index, issues);
      if (samples === undefined) continue;
      seen.add(hash, prepared.length);
      prepared.push({ names: labels.names, values: labels.values, samples, labelsSize: labelsSize(labels) });
    } else {
      // Two entries for one series in one request would reach Prometheus interleaved and partly dropped.
      const merged = [...prepared[earlier]!.samples, ...checked.samples];
      const samples = orderSamples(merged, one, index, issues);
      if (samples !== undefined) prepared[earlier] = { ...prepared[earlier]!, samples };
    }
  }

  if (issues.length > 0) {
    const shown = issues.slice(0, 5).map((issue) => issue.message);
    const capped = issues.length >= MAX_REPORTED_ISSUES ? '+' : '';
    const more = issues.length > 5 ? ` (and ${issues.length - 5}${capped} more)` : '';
    throw new ValidationError(`invalid remote-write series: ${shown.join('; ')}${more}`, issues);
  }
  return prepared;
}

/** Encodes series as one WriteRequest, after {@link prepareSeries}; the result is not compressed. */
export function encodeWriteRequest(series: readonly TimeSeries[]): Uint8Array {
  return encodeSlices(
    prepareSeries(series).map((one) => ({ series: one, start: 0, end: one.samples.length })),
  );
}

/**
 * Splits prepared series into requests of at most `maxSamples` samples each, in order; a series with
 * more samples than fit is continued in the next request, its samples still in timestamp order.
 */
export function splitIntoRequests(series: readonly PreparedSeries[], maxSamples: number): SeriesSlice[][] {
  if (!Number.isInteger(maxSamples) || maxSamples < 1) {
    throw new RangeError(`maxSamples must be a positive integer, got ${maxSamples}`);
  }
  const requests: SeriesSlice[][] = [];
  let current: SeriesSlice[] = [];
  let room = maxSamples;
  for (const one of series) {
    let start = 0;
    while (start < one.samples.length) {
      const end = Math.min(one.samples.length, start + room);
      current.push({ series: one, start, end });
      room -= end - start;
      start = end;
      if (room === 0) {
        requests.push(current);
        current = [];
        room = maxSamples;
      }
    }
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

/** Number of samples in a request. */
export function countSamples(slices: readonly SeriesSlice[]): number {
  let count = 0;
  for (const slice of slices) count += slice.end - slice.start;
  return count;
}

// Protobuf tags: (field number << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited).
const TAG_WRITE_REQUEST_TIMESERIES = (1 << 3) | 2;
const TAG_TIMESERIES_LABELS = (1 << 3) | 2;
const TAG_TIMESERIES_SAMPLES = (2 << 3) | 2;
const TAG_LABEL_NAME = (1 << 3) | 2;
const TAG_LABEL_VALUE = (2 << 3) | 2;
const TAG_SAMPLE_VALUE = (1 << 3) | 1;
const TAG_SAMPLE_TIMESTAMP = (2 << 3) | 0;
/** A Sample message without its timestamp varint: value tag, 8-byte double, timestamp tag. */
const SAMPLE_FIXED_BYTES = 1 + 8 + 1;

/**
 * Encodes prepared slices as one WriteRequest, into one buffer sized by a first pass. A write holds up
 * to millions of samples; protobufjs's Writer allocates an operation object per field, which measured
 * several times slower than the 500,000 samples/s this has to sustain, so only its UTF-8 code is used.
 */
export function encodeSlices(slices: readonly SeriesSlice[]): Uint8Array {
  let total = 0;
  for (const slice of slices) {
    const size = seriesBodySize(slice);
    total += 1 + varintSize(size) + size;
  }
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  for (const slice of slices) {
    const { series, start, end } = slice;
    bytes[pos++] = TAG_WRITE_REQUEST_TIMESERIES;
    pos = writeVarint(bytes, pos, seriesBodySize(slice));
    const { names, values, samples } = series;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const value = values[i]!;
      const nameSize = utf8.length(name);
      const valueSize = utf8.length(value);
      bytes[pos++] = TAG_TIMESERIES_LABELS;
      pos = writeVarint(bytes, pos, labelSize(nameSize, valueSize));
      bytes[pos++] = TAG_LABEL_NAME;
      pos = writeVarint(bytes, pos, nameSize);
      pos += utf8.write(name, bytes, pos);
      bytes[pos++] = TAG_LABEL_VALUE;
      pos = writeVarint(bytes, pos, valueSize);
      pos += utf8.write(value, bytes, pos);
    }
    for (let i = start; i < end; i++) {
      const { value, timestampMs } = samples[i]!;
      bytes[pos++] = TAG_TIMESERIES_SAMPLES;
      bytes[pos++] = SAMPLE_FIXED_BYTES + varintSize(timestampMs);
      bytes[pos++] = TAG_SAMPLE_VALUE;
      if (Number.isNaN(value)) {
        // NaN passed validation only as the staleness marker: write its exact bits.
        view.setUint32(pos, STALE_LOW_WORD, true);
        view.setUint32(pos + 4, STALE_HIGH_WORD, true);
      } else {
        view.setFloat64(pos, value, true);
      }
      pos += 8;
      bytes[pos++] = TAG_SAMPLE_TIMESTAMP;
      pos = writeVarint(bytes, pos, timestampMs);
    }
  }
  if (pos !== total) throw new Error(`remote-write encoding wrote ${pos} bytes where ${total} were sized`);
  return bytes;
}

/** Bytes of a TimeSeries message (labels and the slice's samples), without its tag and length. */
function seriesBodySize({ series, start, end }: SeriesSlice): number {
  let size = series.labelsSize;
  const samples = series.samples;
  for (let i = start; i < end; i++) size += 2 + SAMPLE_FIXED_BYTES + varintSize(samples[i]!.timestampMs);
  return size;
}

function labelsSize({ names, values }: PreparedLabels): number {
  let size = 0;
  for (let i = 0; i < names.length; i++) {
    const label = labelSize(utf8.length(names[i]!), utf8.length(values[i]!));
    size += 1 + varintSize(label) + label;
  }
  return size;
}

/** Bytes of a Label message with a name and value of these UTF-8 sizes. */
function labelSize(nameSize: number, valueSize: number): number {
  return 1 + varintSize(nameSize) + nameSize + 1 + varintSize(valueSize) + valueSize;
}

/** Bytes of an int64 varint; a negative number takes ten (two's complement). */
function varintSize(value: number): number {
  if (value < 0) return 10;
  if (value < 2 ** 7) return 1;
  if (value < 2 ** 14) return 2;
  if (value < 2 ** 21) return 3;
  if (value < 2 ** 28) return 4;
  if (value < 2 ** 35) return 5;
  if (value < 2 ** 42) return 6;
  if (value < 2 ** 49) return 7;
  return 8;
}

/** Writes a safe integer as an int64 varint; answers the position after it. */
function writeVarint(bytes: Uint8Array, start: number, value: number): number {
  let pos = start;
  let low = value >>> 0;
  // Floor division keeps the high word right for negative numbers (two's complement).
  let high = Math.floor(value / 4294967296) >>> 0;
  while (high !== 0) {
    bytes[pos++] = (low & 127) | 128;
    low = ((low >>> 7) | (high << 25)) >>> 0;
    high >>>= 7;
  }
  while (low > 127) {
    bytes[pos++] = (low & 127) | 128;
    low >>>= 7;
  }
  bytes[pos++] = low;
  return pos;
}

interface PreparedLabels {
  readonly names: string[];
  readonly values: string[];
}

/** Labels sorted by name without the empty values; undefined (with issues) when one is invalid. */
function prepareLabels(series: TimeSeries, index: number, issues: Issue[]): PreparedLabels | undefined {
  const labels: unknown = (series as Partial<TimeSeries> | undefined)?.labels;
  if (typeof labels !== 'object' || labels === null) {
    issues.push({ path: `[${index}].labels`, message: `series ${index} has no labels object` });
    return undefined;
  }
  const record = labels as Record<string, unknown>;
  const keys = Object.keys(record);
  let hasName = false;
  let kept = 0;
  for (const name of keys) {
    const value = record[name];
    if (typeof value !== 'string' || !validLabel(name, value)) return reportLabels(record, index, issues);
    if (name === '__name__') hasName = true;
    if (value !== '') keys[kept++] = name;
  }
  if (!hasName) return reportLabels(record, index, issues);
  keys.length = kept;
  // Insertion sort: a series has a handful of labels. Names are ASCII, so this is Prometheus' byte order.
  for (let i = 1; i < keys.length; i++) {
    const name = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > name) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = name;
  }
  const values = new Array<string>(keys.length);
  for (let i = 0; i < keys.length; i++) values[i] = record[keys[i]!] as string;
  return { names: keys, values };
}

function validLabel(name: string, value: string): boolean {
  if (name === '__name__') return METRIC_NAME.test(value);
  return LABEL_NAME.test(name) && !name.startsWith('__') && !LONE_SURROGATE.test(value);
}

/** The slow path of prepareLabels: every problem of a series' labels, each in a sentence. */
function reportLabels(labels: Record<string, unknown>, index: number, issues: Issue[]): undefined {
  const series = `series ${index} ${describeLabels(labels)}`;
  const problem = (name: string, what: string) =>
    issues.push({ path: `[${index}].labels.${name}`, message: `${series}: ${what}` });
  const metricName = labels['__name__'];
  if (typeof metricName !== 'string' || metricName === '') {
    problem('__name__', 'has no __name__ label (the metric name)');
  } else if (!METRIC_NAME.test(metricName)) {
    problem('__name__', `metric name ${JSON.stringify(metricName)} must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
  }
  for (const [name, value] of Object.entries(labels)) {
    if (typeof value !== 'string') {
      problem(name, `label ${JSON.stringify(name)} has a ${typeof value} value: values are strings`);
    } else if (name === '__name__') {
      // reported above
    } else if (name === '') {
      problem(name, 'has a label with an empty name');
    } else if (!LABEL_NAME.test(name)) {
      problem(name, `label name ${JSON.stringify(name)} must match [a-zA-Z_][a-zA-Z0-9_]*`);
    } else if (name.startsWith('__')) {
      problem(name, `label name ${name} is reserved: names starting with __ are Prometheus' own`);
    } else if (LONE_SURROGATE.test(value)) {
      problem(name, `label ${name} has a value that is not valid Unicode (a lone surrogate)`);
    }
  }
  return undefined;
}

interface CheckedSamples {
  readonly samples: readonly Sample[];
  /** Strictly increasing timestamps: nothing to sort or deduplicate. */
  readonly ordered: boolean;
}

/** Checks each sample's value and timestamp; undefined when one is invalid or the labels were. */
function checkSamples(
  series: TimeSeries,
  index: number,
  labelsValid: boolean,
  issues: Issue[],
): CheckedSamples | undefined {
  const samples: unknown = (series as Partial<TimeSeries> | undefined)?.samples;
  if (!Array.isArray(samples)) {
    const message = `${describeSeries(series, index)}: samples must be an array`;
    issues.push({ path: `[${index}].samples`, message });
    return undefined;
  }
  let valid = true;
  let ordered = true;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples[i] as Sample | undefined;
    const value = sample?.value;
    const timestampMs = sample?.timestampMs;
    // The common case in one test: this loop runs for every sample of every write.
    if (
      (typeof value === 'number' && !Number.isNaN(value) && Number.isSafeInteger(timestampMs)) ||
      sampleProblems(value, timestampMs).length === 0
    ) {
      if ((timestampMs as number) <= previous) ordered = false;
      previous = timestampMs as number;
      continue;
    }
    valid = false;
    for (const [field, what] of sampleProblems(value, timestampMs)) {
      if (issues.length >= MAX_REPORTED_ISSUES) break;
      const message = `${describeSeries(series, index)}: sample ${i} ${what}`;
      issues.push({ path: `[${index}].samples[${i}].${field}`, message });
    }
  }
  return valid && labelsValid ? { samples: samples as readonly Sample[], ordered } : undefined;
}

function sampleProblems(value: unknown, timestampMs: unknown): [field: string, what: string][] {
  const problems: [string, string][] = [];
  if (typeof timestampMs !== 'number' || !Number.isFinite(timestampMs)) {
    problems.push([
      'timestampMs',
      `has timestamp ${String(timestampMs)}: timestamps are finite Unix milliseconds`,
    ]);
  } else if (!Number.isSafeInteger(timestampMs)) {
    problems.push([
      'timestampMs',
      `has timestamp ${timestampMs}: timestamps are whole milliseconds within ±2^53`,
    ]);
  }
  if (typeof value !== 'number') {
    problems.push(['value', `has a ${typeof value} value: values are numbers`]);
  } else if (Number.isNaN(value) && !isStaleNaN(value)) {
    problems.push(['value', 'is NaN: NaN is only allowed as STALE_NAN, the staleness marker']);
  }
  return problems;
}

/** Samples in timestamp order with repeats removed; undefined when one timestamp has two values. */
function orderSamples(
  samples: readonly Sample[],
  series: TimeSeries,
  index: number,
  issues: Issue[],
): readonly Sample[] | undefined {
  const sorted = [...samples].sort((a, b) => a.timestampMs - b.timestampMs);
  const unique: Sample[] = [sorted[0]!];
  for (let i = 1; i < sorted.length; i++) {
    const previous = unique[unique.length - 1]!;
    const sample = sorted[i]!;
    if (sample.timestampMs !== previous.timestampMs) {
      unique.push(sample);
    } else if (!Object.is(sample.value, previous.value)) {
      issues.push({
        path: `[${index}].samples`,
        message: `${describeSeries(series, index)}: two samples at timestamp ${sample.timestampMs} have different values (${previous.value} and ${sample.value})`,
      });
      return undefined;
    }
  }
  return unique;
}

/** Finds prepared series by label set: a 32-bit FNV-1a hash of the labels, confirmed by comparing them. */
class SeriesIndex {
  readonly #first = new Map<number, number>();
  /** The next prepared series with the same hash, by prepared index. */
  readonly #next = new Map<number, number>();

  find(hash: number, labels: PreparedLabels, prepared: readonly PreparedSeries[]): number | undefined {
    for (let at = this.#first.get(hash); at !== undefined; at = this.#next.get(at)) {
      if (sameLabels(labels, prepared[at]!)) return at;
    }
    return undefined;
  }

  add(hash: number, preparedIndex: number): void {
    const head = this.#first.get(hash);
    if (head !== undefined) this.#next.set(preparedIndex, head);
    this.#first.set(hash, preparedIndex);
  }
}

function labelsHash({ names, values }: PreparedLabels): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const value = values[i]!;
    for (let c = 0; c < name.length; c++) hash = Math.imul(hash ^ name.charCodeAt(c), 16777619);
    // 0xffff cannot appear in a name, so it separates name from value and label from label.
    hash = Math.imul(hash ^ 0xffff, 16777619);
    for (let c = 0; c < value.length; c++) hash = Math.imul(hash ^ value.charCodeAt(c), 16777619);
    hash = Math.imul(hash ^ 0xffff, 16777619);
  }
  return hash;
}

function sameLabels(
  a: Pick<PreparedSeries, 'names' | 'values'>,
  b: Pick<PreparedSeries, 'names' | 'values'>,
): boolean {
  if (a.names.length !== b.names.length) return false;
  for (let i = 0; i < a.names.length; i++) {
    if (a.names[i] !== b.names[i] || a.values[i] !== b.values[i]) return false;
  }
  return true;
}

/** "series 3 name{label="value"}": the series' position in the input and its labels. */
function describeSeries(series: TimeSeries, index: number): string {
  const labels: unknown = (series as Partial<TimeSeries> | undefined)?.labels;
  return typeof labels === 'object' && labels !== null
    ? `series ${index} ${describeLabels(labels as Record<string, unknown>)}`
    : `series ${index}`;
}

/** A series as Prometheus prints it, `name{label="value", ...}`, shortened for messages. */
function describeLabels(labels: Readonly<Record<string, unknown>>): string {
  const name = labels['__name__'];
  const rest = Object.entries(labels)
    .filter(([n]) => n !== '__name__')
    .map(([n, v]) => `${n}=${JSON.stringify(typeof v === 'string' ? v : String(v))}`)
    .join(', ');
  const text = `${typeof name === 'string' ? name : ''}{${rest}}`;
  return text.length > 200 ? `${text.slice(0, 197)}...}` : text;
}

/** LogQL subset: syntax tree and parser (anything else is a 400 in Loki's words). */
import { BadRequest } from './bad-request.js';
import { parseError, type Token, type TokenKind, tokenize } from './lexer.js';
import { MS } from './limits.js';
import { parseDurationMs } from './parameters.js';

export type Parser = 'json' | 'logfmt';
export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface Matcher {
  readonly name: string;
  readonly test: (value: string) => boolean;
  /** True when the empty string matches: Loki needs at least one matcher that does not. */
  readonly matchesEmpty: boolean;
}

export type Stage =
  | { readonly kind: 'line'; readonly test: (line: string) => boolean }
  | { readonly kind: 'parser'; readonly parser: Parser }
  | { readonly kind: 'label'; readonly name: string; readonly test: (value: string | undefined) => boolean };

export interface LogSelector {
  readonly matchers: readonly Matcher[];
  readonly stages: readonly Stage[];
}

export interface Grouping {
  readonly mode: 'by' | 'without';
  readonly labels: readonly string[];
}

export type MetricExpr =
  | {
      readonly kind: 'range';
      readonly fn: 'count_over_time' | 'rate';
      readonly selector: LogSelector;
      readonly rangeNs: bigint;
    }
  | { readonly kind: 'sum'; readonly grouping?: Grouping; readonly inner: MetricExpr }
  | { readonly kind: 'topk'; readonly k: number; readonly inner: MetricExpr };

export type Query =
  | { readonly kind: 'log'; readonly selector: LogSelector }
  | { readonly kind: 'metric'; readonly expr: MetricExpr };

export const OUTSIDE_SUBSET = ' (outside the LogQL subset of this test server)';

/** Parses the supported LogQL subset; everything else throws a 400 in Loki's words. */
export function parseLogQL(query: string): Query {
  const tokens = tokenize(query);
  let position = 0;
  const peek = (): Token => tokens[position] ?? (tokens[tokens.length - 1] as Token);
  const next = (): Token => {
    const token = peek();
    if (token.kind !== 'end') position++;
    return token;
  };
  const unexpected = (token: Token, hint = ''): BadRequest =>
    parseError(token.col, `syntax error: unexpected ${describeToken(token)}${hint}`);
  const expect = (kind: TokenKind, text?: string): Token => {
    const token = next();
    if (token.kind !== kind || (text !== undefined && token.text !== text)) throw unexpected(token);
    return token;
  };

  function selector(): LogSelector {
    const open = expect('{');
    const matchers: Matcher[] = [];
    while (peek().kind !== '}') {
      if (matchers.length > 0) expect(',');
      const name = expect('ident').text;
      const op = next();
      if (op.kind !== 'op' || !['=', '!=', '=~', '!~'].includes(op.text)) throw unexpected(op);
      const value = expect('string');
      matchers.push(matcher(name, op.text as MatchOp, value));
    }
    expect('}');
    if (!matchers.some((m) => !m.matchesEmpty)) {
      throw new BadRequest(
        `parse error at line 1, col ${open.col}: queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~".*" does not meet this requirement, but app=~".+" will`,
      );
    }
    const stages: Stage[] = [];
    while (true) {
      const token = peek();
      if (token.kind === 'op' && ['|=', '!=', '|~', '!~'].includes(token.text)) {
        next();
        const value = expect('string');
        stages.push({ kind: 'line', test: lineFilter(token.text, value) });
      } else if (token.kind === '|') {
        next();
        stages.push(stage());
      } else {
        return { matchers, stages };
      }
    }
  }

  function stage(): Stage {
    const name = expect('ident');
    const op = peek();
    if (op.kind !== 'op') {
      if (name.text === 'json' || name.text === 'logfmt') return { kind: 'parser', parser: name.text };
      throw unexpected(name, OUTSIDE_SUBSET);
    }
    next();
    const value = next();
    if (value.kind === 'string' && ['=', '!=', '=~', '!~'].includes(op.text)) {
      const m = matcher(name.text, op.text as MatchOp, value);
      return { kind: 'label', name: name.text, test: (v) => m.test(v ?? '') };
    }
    if (
      (value.kind === 'number' || value.kind === 'duration') &&
      ['==', '!=', '>', '>=', '<', '<='].includes(op.text)
    ) {
      const bound = value.kind === 'number' ? Number(value.text) : (parseDurationMs(value.text) ?? 0) / 1000;
      return { kind: 'label', name: name.text, test: numericTest(op.text, bound) };
    }
    throw unexpected(value);
  }

  function grouping(): Grouping | undefined {
    const token = peek();
    if (token.kind !== 'ident' || (token.text !== 'by' && token.text !== 'without')) return undefined;
    next();
    expect('(');
    const labels: string[] = [];
    while (peek().kind !== ')') {
      if (labels.length > 0) expect(',');
      labels.push(expect('ident').text);
    }
    expect(')');
    return { mode: token.text as 'by' | 'without', labels };
  }

  function metric(): MetricExpr {
    const token = next();
    if (token.kind !== 'ident') throw unexpected(token);
    if (token.text === 'sum') {
      const before = grouping();
      expect('(');
      const inner = metric();
      expect(')');
      const group = before ?? grouping();
      return group ? { kind: 'sum', grouping: group, inner } : { kind: 'sum', inner };
    }
    if (token.text === 'topk') {
      expect('(');
      const k = Number(expect('number').text);
      expect(',');
      const inner = metric();
      expect(')');
      return { kind: 'topk', k, inner };
    }
    if (token.text === 'count_over_time' || token.text === 'rate') {
      expect('(');
      const logSelector = selector();
      expect('[');
      const range = expect('duration');
      expect(']');
      expect(')');
      return {
        kind: 'range',
        fn: token.text,
        selector: logSelector,
        rangeNs: BigInt(parseDurationMs(range.text) ?? 0) * MS,
      };
    }
    throw unexpected(token, OUTSIDE_SUBSET);
  }

  const result: Query =
    peek().kind === '{' ? { kind: 'log', selector: selector() } : { kind: 'metric', expr: metric() };
  expect('end');
  return result;
}

export function describeToken(token: Token): string {
  switch (token.kind) {
    case 'end':
      return '$end';
    case 'string':
      return 'STRING';
    case 'number':
      return 'NUMBER';
    case 'duration':
      return 'DURATION';
    case 'ident':
      return 'IDENTIFIER';
    default:
      return token.text;
  }
}

export function matcher(name: string, op: MatchOp, value: Token): Matcher {
  const test = valueTest(op, value.text, value.col);
  return { name, test, matchesEmpty: test('') };
}

/** Label matching: `=~` and `!~` are fully anchored, as in Prometheus and Loki. */
export function valueTest(op: MatchOp, value: string, col: number): (candidate: string) => boolean {
  if (op === '=') return (candidate) => candidate === value;
  if (op === '!=') return (candidate) => candidate !== value;
  const regex = compileRegex(value, col, true);
  return op === '=~' ? (candidate) => regex.test(candidate) : (candidate) => !regex.test(candidate);
}

/** Line filters: `|=` contains, `!=` does not, `|~`/`!~` an unanchored RE2-style regex. */
export function lineFilter(op: string, value: Token): (line: string) => boolean {
  if (op === '|=') return (line) => line.includes(value.text);
  if (op === '!=') return (line) => !line.includes(value.text);
  const regex = compileRegex(value.text, value.col, false);
  return op === '|~' ? (line) => regex.test(line) : (line) => !regex.test(line);
}

export function compileRegex(pattern: string, col: number, anchored: boolean): RegExp {
  // RE2's leading (?i) is the one flag LogQL queries commonly use.
  const insensitive = pattern.startsWith('(?i)');
  const body = insensitive ? pattern.slice(4) : pattern;
  try {
    return new RegExp(anchored ? `^(?:${body})$` : body, insensitive ? 'i' : '');
  } catch (error) {
    throw parseError(col, `error parsing regexp: ${(error as Error).message}`);
  }
}

export function numericTest(op: string, bound: number): (value: string | undefined) => boolean {
  return (value) => {
    if (value === undefined || value === '') return false;
    const number = Number(value);
    if (Number.isNaN(number)) return false;
    switch (op) {
      case '==':
        return number === bound;
      case '!=':
        return number !== bound;
      case '>':
        return number > bound;
      case '>=':
        return number >= bound;
      case '<':
        return number < bound;
      default:
        return number <= bound;
    }
  };
}

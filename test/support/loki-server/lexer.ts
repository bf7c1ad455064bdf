/** LogQL subset: tokens. */
import { BadRequest } from './bad-request.js';

export type TokenKind =
  | '{'
  | '}'
  | '('
  | ')'
  | '['
  | ']'
  | ','
  | '|'
  | 'op'
  | 'string'
  | 'number'
  | 'duration'
  | 'ident'
  | 'end';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** 1-based column of the token's first character, as Loki reports it. */
  readonly col: number;
}

export const OPERATORS = ['|=', '|~', '!=', '!~', '=~', '==', '>=', '<=', '=', '>', '<'];

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i] ?? '';
    const col = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const op = OPERATORS.find((o) => query.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, col });
      i += op.length;
    } else if ('{}()[],|'.includes(c)) {
      tokens.push({ kind: c as TokenKind, text: c, col });
      i++;
    } else if (c === '"' || c === '`') {
      const end = c === '`' ? query.indexOf('`', i + 1) : closingQuote(query, i);
      if (end < 0) throw parseError(col, 'literal not terminated');
      const raw = query.slice(i, end + 1);
      tokens.push({ kind: 'string', text: c === '`' ? raw.slice(1, -1) : unquote(raw, col), col });
      i = end + 1;
    } else if (/\d/.test(c)) {
      const match = /^(\d+(ms|s|m|h|d|w|y))+|^\d+(\.\d+)?/.exec(query.slice(i));
      const value = match?.[0] ?? c;
      tokens.push({ kind: /[a-z]$/.test(value) ? 'duration' : 'number', text: value, col });
      i += value.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const value = /^[A-Za-z_][A-Za-z0-9_]*/.exec(query.slice(i))?.[0] ?? c;
      tokens.push({ kind: 'ident', text: value, col });
      i += value.length;
    } else {
      throw parseError(col, `syntax error: unexpected ${c}`);
    }
  }
  tokens.push({ kind: 'end', text: '$end', col: query.length + 1 });
  return tokens;
}

export function closingQuote(query: string, open: number): number {
  for (let i = open + 1; i < query.length; i++) {
    if (query[i] === '\\') i++;
    else if (query[i] === '"') return i;
  }
  return -1;
}

export function unquote(raw: string, col: number): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    throw parseError(col, `invalid string literal ${raw}`);
  }
}

export function parseError(col: number, detail: string): BadRequest {
  return new BadRequest(`parse error at line 1, col ${col}: ${detail}`);
}

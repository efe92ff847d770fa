/**
 * Routing (pure): which customers does a change concern? A customer's `match` maps a column to a value or a
 * list of values the row must hold (all columns must match); `"*"` takes every event. Values compare as
 * text, so 42, 42n and "42" are equal.
 */
import { scalarText } from '../intake/json.ts';
import type { Row } from '../intake/debezium.ts';
import type { MatchSpec } from '../config/customers.ts';

export type Matcher = (row: Row) => boolean;

export function compileMatch(spec: MatchSpec): Matcher {
  if (spec === '*') return () => true;
  const rules = Object.entries(spec).map(([column, expected]) => {
    const accepted = new Set((Array.isArray(expected) ? expected : [expected]).map(String));
    return { column, accepted };
  });
  return (row) =>
    rules.every(({ column, accepted }) => {
      const value = scalarText(row[column]);
      return value !== undefined && accepted.has(value);
    });
}

export interface Route<T> {
  target: T;
  matches: Matcher;
}

export function route<T>(routes: readonly Route<T>[], row: Row): T[] {
  const out: T[] = [];
  for (const r of routes) if (r.matches(row)) out.push(r.target);
  return out;
}

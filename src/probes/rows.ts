// Reading node-postgres rows: each column as the type the probes' data wants, whatever form the
// driver gave it (numbers may come as strings or bigints, timestamps as Date or text).

/** A finite number; 0 for null, non-numeric text and infinities. */
export function num(v: unknown): number {
  if (typeof v === 'number') return Number.isFinite(v) ? v : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  return 0;
}

export function numOrNull(v: unknown): number | null {
  return v == null ? null : num(v);
}

export function str(v: unknown): string {
  return v == null ? '' : String(v);
}

export function strOrNull(v: unknown): string | null {
  return v == null ? null : String(v);
}

/** ISO 8601; the text as it came when it is not a time. */
export function iso(v: unknown): string | null {
  if (v == null) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}

/**
 * Names in code-unit order, as PostgreSQL's "C" collation sorts them: a stable tie-break for rows
 * of the same figure, without ICU's collation data (some 2 MB of RSS; issue 14).
 */
export function byCode(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

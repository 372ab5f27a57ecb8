// Server settings' values as PostgreSQL reads and prints them, for set-setting: a value checked
// against its pg_settings row (vartype, min_val/max_val in the setting's unit, enumvals, bool)
// the way the server's parse_int / parse_real / parse_bool and enum lookup read it, and a number
// in the setting's base unit printed the way SHOW prints it (4096 kB is `4MB`, 16384 blocks of
// 8kB `128MB`, 0 and -1 without a unit). Pure: no connection.

/** The columns of pg_settings a value is checked against. */
export interface SettingRow {
  name: string;
  /** the value in the base unit, as text (pg_settings.setting) */
  setting: string;
  /** the base unit: 'kB', '8kB', 'B', 'MB', 'ms', 's', 'min', or null */
  unit: string | null;
  vartype: 'bool' | 'integer' | 'real' | 'string' | 'enum';
  context: string;
  min_val: string | null;
  max_val: string | null;
  enumvals: string[] | null;
}

export type ValueCheck = { ok: true; shown: string } | { ok: false; why: string };

const MEMORY_UNITS: [string, number][] = [
  ['TB', 1024 ** 4],
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['kB', 1024],
  ['B', 1],
];
const TIME_UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
  ['ms', 1],
  ['us', 0.001],
];

/** Settings whose SHOW prints an octal mode (their show hooks), e.g. log_file_mode 0600. */
const OCTAL = new Set(['log_file_mode', 'unix_socket_permissions', 'data_directory_mode']);

interface Unit {
  kind: 'memory' | 'time';
  /** the base unit's size in bytes or milliseconds */
  size: number;
}

/** The base unit of a pg_settings.unit ('8kB' is 8192 bytes), or null for a unitless setting. */
export function baseUnit(unit: string | null): Unit | null {
  if (!unit) return null;
  const m = /^(\d+)?\s*(TB|GB|MB|kB|B|d|h|min|s|ms|us)$/.exec(unit);
  if (!m) return null;
  const n = m[1] ? Number(m[1]) : 1;
  const mem = MEMORY_UNITS.find(([u]) => u === m[2]);
  if (mem) return { kind: 'memory', size: n * mem[1] };
  const t = TIME_UNITS.find(([u]) => u === m[2])!;
  return { kind: 'time', size: n * t[1] };
}

function table(u: Unit): [string, number][] {
  // each target unit's multiplier: how many base units make one of it
  return (u.kind === 'memory' ? MEMORY_UNITS : TIME_UNITS).map(([name, size]) => [name, size / u.size]);
}

/** C's rint: halfway cases to the even neighbour. */
function rint(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** C's printf %g (6 significant digits, trailing zeros dropped). */
export function formatG(x: number): string {
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  const exp = Number(x.toExponential(5).split('e')[1]);
  if (exp < -4 || exp >= 6) {
    const [m, e] = x.toExponential(5).split('e');
    const n = Number(e);
    return `${m.includes('.') ? m.replace(/\.?0+$/, '') : m}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(Number(x.toPrecision(6)));
}

/**
 * A number in the setting's base unit as SHOW prints it: the largest unit that divides it evenly
 * (an integer), or that gives a whole number near enough (a real); 0 and negatives bare.
 */
export function showNumber(row: Pick<SettingRow, 'name' | 'unit' | 'vartype'>, base: number): string {
  const u = baseUnit(row.unit);
  if (row.vartype === 'integer') {
    if (OCTAL.has(row.name)) return `0${base.toString(8).padStart(3, '0')}`;
    if (!u || base <= 0) return String(base);
    for (const [name, mult] of table(u)) {
      if (mult <= 1 || base % mult === 0) return `${Math.trunc(base / mult)}${name}`;
    }
    return String(base);
  }
  if (!u || base <= 0) return formatG(base);
  const units = table(u);
  let value = base;
  let name = '';
  for (const [n, mult] of units) {
    value = base / mult;
    name = n;
    if (value > 0 && Math.abs(rint(value) / value - 1) <= 1e-8) break;
  }
  return `${formatG(value)}${name}`;
}

/** The setting's current value as SHOW prints it, from pg_settings.setting. */
export function showSetting(row: SettingRow): string {
  if (row.vartype === 'integer' || row.vartype === 'real') {
    const n = Number(row.setting);
    return Number.isFinite(n) ? showNumber(row, n) : row.setting;
  }
  return row.setting;
}

const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** parse_int / parse_real: a number with an optional unit, in the setting's base unit; null when unreadable. */
function parseNumber(row: SettingRow, raw: string): { value: number } | { bad: 'syntax' | 'unit' } {
  let s = raw.replace(/^\s+/, '');
  let val: number;
  let rest: string;
  const asFloat = () => {
    const m = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(s) ?? /^[+-]?(?:inf(?:inity)?|nan)/i.exec(s);
    return m;
  };
  if (row.vartype === 'integer') {
    // strtol with base 0: hex (0x), octal (leading 0), decimal; a '.' or an exponent: as a float
    const m = /^[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)/.exec(s);
    if (m && !/^[.eE]/.test(s.slice(m[0].length))) {
      const t = m[0];
      const neg = t.startsWith('-');
      const body = t.replace(/^[+-]/, '');
      val = (neg ? -1 : 1) * (/^0[xX]/.test(body) ? parseInt(body.slice(2), 16) : body.length > 1 && body.startsWith('0') ? parseInt(body, 8) : Number(body));
      rest = s.slice(t.length);
    } else {
      const f = asFloat();
      if (!f) return { bad: 'syntax' };
      val = Number(f[0]);
      rest = s.slice(f[0].length);
    }
  } else {
    const f = asFloat();
    if (!f) return { bad: 'syntax' };
    val = /^[+-]?inf/i.test(f[0]) ? (f[0].startsWith('-') ? -Infinity : Infinity) : Number(f[0]);
    rest = s.slice(f[0].length);
  }
  if (Number.isNaN(val)) return { bad: 'syntax' };
  s = rest.replace(/^\s+/, '');
  if (s) {
    const u = baseUnit(row.unit);
    if (!u) return { bad: 'syntax' };
    let i = 0;
    while (i < s.length && !isSpace(s[i])) i++;
    const unit = s.slice(0, i);
    if (s.slice(i).trim()) return { bad: 'unit' };
    const units = table(u);
    const k = units.findIndex(([n]) => n === unit);
    if (k < 0) return { bad: 'unit' };
    let v = val * units[k][1];
    // "30.1GB" rounds to a whole number of the next smaller unit
    if (k + 1 < units.length) v = rint(v / units[k + 1][1]) * units[k + 1][1];
    val = v;
  }
  if (row.vartype === 'integer') val = rint(val);
  return { value: val };
}

/** parse_bool: true/false, yes/no, on/off, 1/0 and their unique prefixes, any case. */
export function parseBool(raw: string): boolean | null {
  const v = raw.toLowerCase();
  if (!v) return null;
  const prefixOf = (word: string, min = 1) => v.length >= min && word.startsWith(v);
  if (prefixOf('true') || prefixOf('yes')) return true;
  if (prefixOf('false') || prefixOf('no')) return false;
  if (v === 'on') return true;
  if (v === 'of' || v === 'off') return false;
  if (v === '1') return true;
  if (v === '0') return false;
  return null;
}

/** What a unitless number or a value with units means here: "a number of kB, or with a unit (B, kB, MB, GB, TB)". */
function numberWhat(row: SettingRow): string {
  const u = baseUnit(row.unit);
  const kind = row.vartype === 'integer' ? 'a whole number' : 'a number';
  if (!u) return kind;
  const names = table(u).map(([n]) => n);
  return `${kind} of ${row.unit}, or with a unit (${names.join(', ')})`;
}

function range(row: SettingRow): string {
  const min = row.min_val === null ? null : showNumber(row, Number(row.min_val));
  const max = row.max_val === null ? null : showNumber(row, Number(row.max_val));
  return min !== null && max !== null ? `from ${min} to ${max}` : '';
}

/**
 * Checks a value against the setting's row as the server would read it; gives the value as SHOW
 * will print it, or one line naming the setting and what it allows.
 */
export function checkValue(row: SettingRow, raw: string): ValueCheck {
  const name = row.name;
  switch (row.vartype) {
    case 'bool': {
      const b = parseBool(raw);
      return b === null ? { ok: false, why: `${name} is on or off (true/false, yes/no, 1/0), not ${JSON.stringify(raw)}` } : { ok: true, shown: b ? 'on' : 'off' };
    }
    case 'enum': {
      const vals = row.enumvals ?? [];
      const hit = vals.find((v) => v.toLowerCase() === raw.toLowerCase());
      return hit === undefined ? { ok: false, why: `${name} is one of ${vals.join(', ')}, not ${JSON.stringify(raw)}` } : { ok: true, shown: hit };
    }
    case 'integer':
    case 'real': {
      const p = parseNumber(row, raw);
      const allowed = [numberWhat(row), range(row)].filter(Boolean).join(', ');
      if ('bad' in p) {
        return { ok: false, why: `${name}: ${JSON.stringify(raw)} is not a valid value${p.bad === 'unit' ? ' (units are case-sensitive)' : ''}; give ${allowed}` };
      }
      const v = p.value;
      if (row.vartype === 'integer' && (v > 2147483647 || v < -2147483648)) return { ok: false, why: `${name}: ${JSON.stringify(raw)} is out of the integer range; give ${allowed}` };
      const min = row.min_val === null ? -Infinity : Number(row.min_val);
      const max = row.max_val === null ? Infinity : Number(row.max_val);
      if (v < min) return { ok: false, why: `${name}: ${JSON.stringify(raw)} is ${showNumber(row, v)}, below the minimum ${showNumber(row, min)}; allowed ${range(row)}` };
      if (v > max) return { ok: false, why: `${name}: ${JSON.stringify(raw)} is ${showNumber(row, v)}, above the maximum ${showNumber(row, max)}; allowed ${range(row)}` };
      return { ok: true, shown: showNumber(row, v) };
    }
    case 'string':
      return { ok: true, shown: raw };
    default:
      return { ok: true, shown: raw };
  }
}

/**
 * Whether and when a new value takes effect after ALTER SYSTEM and a reload, by the setting's
 * context: refused (internal), after a restart (postmaster), for new sessions (backend), at once.
 */
export function contextEffect(context: string): { refuse: string } | { when: 'restart' | 'new sessions' | 'reload' } {
  if (context === 'internal') return { refuse: 'it is fixed when the server is built or initialized (context internal)' };
  if (context === 'postmaster') return { when: 'restart' };
  if (context === 'backend' || context === 'superuser-backend') return { when: 'new sessions' };
  return { when: 'reload' };
}

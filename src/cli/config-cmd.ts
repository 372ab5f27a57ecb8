// `ops config path|show|validate|get|set`.
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { configDir, configPath, formatKeyPath, loadConfigFile, parseConfigText } from '../config/load';
import { UserError, UsageError } from '../errors';
import { ConfigSchema } from '../config/schema';
import { redact, redactDeep } from '../util/redact';
import { sanitizeText, terminalJson } from '../util/sanitize';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Keys that would reach an object's prototype instead of a property of its own. */
const PROTO_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** "thresholds.cpuPct.warning" or "targets[0].url" or "targets.0.url" -> path segments */
export function splitKey(key: string): (string | number)[] {
  if (!key || /^\.|\.$|\.\./.test(key)) throw new UserError(`config: "${key}" is not a key path (e.g. thresholds.cpuPct.warning)`);
  const path = key
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const bad = path.find((p) => typeof p === 'string' && PROTO_KEYS.has(p));
  if (bad !== undefined) throw new UserError(`config: "${key}": "${String(bad)}" is not a configuration key`);
  return path;
}

function getAt(obj: Json, path: (string | number)[]): Json | undefined {
  let cur: Json | undefined = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, p)) return undefined;
    cur = (cur as Record<string | number, Json>)[p];
  }
  return cur;
}

function setAt(obj: { [k: string]: Json }, path: (string | number)[], value: Json): void {
  let cur: Json = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i];
    const rec = cur as Record<string | number, Json>;
    if (!Object.hasOwn(rec, p) || rec[p] === null || typeof rec[p] !== 'object') rec[p] = typeof path[i + 1] === 'number' ? [] : {};
    cur = rec[p];
  }
  (cur as Record<string | number, Json>)[path[path.length - 1]] = value;
}

function parseValue(raw: string): Json {
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

export async function configCommand(sub: string | undefined, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = configPath(env);
  switch (sub) {
    case 'path':
      return `${file}\n`;
    case 'show': {
      // each string redacted as a whole (a URL is the whole value), then JSON safe for a terminal
      const cfg = loadConfigFile(file);
      return `${terminalJson(redactDeep(cfg), 2)}\n`;
    }
    case 'validate': {
      const target = args[0] ?? file;
      if (!existsSync(target)) throw new UserError(`${target}: no such file`);
      loadConfigFile(target);
      return `${target}: valid\n`;
    }
    case 'get': {
      if (!args[0]) throw new UserError('config get: name a key, e.g. "ops config get thresholds.cpuPct"');
      const cfg = loadConfigFile(file) as unknown as Json;
      const value = getAt(cfg, splitKey(args[0]));
      if (value === undefined) throw new UserError(`config get: ${args[0]} is not set`);
      const shown = redactDeep(value);
      return `${typeof shown === 'string' ? sanitizeText(shown) : terminalJson(shown, 2)}\n`;
    }
    case 'set': {
      if (args.length !== 2) throw new UserError('config set: expected KEY VALUE, e.g. "ops config set thresholds.cpuPct.warning 70"');
      const [key, rawValue] = args;
      const path = splitKey(key);
      const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
      parseConfigText(current, file); // refuse to edit a file that is already broken; it says where
      const raw = (current.trim() ? JSON.parse(current) : {}) as { [k: string]: Json };
      setAt(raw, path, parseValue(rawValue));
      const checked = ConfigSchema.safeParse(raw);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new UserError(redact(`config set: ${formatKeyPath(issue.path)}: ${issue.message}`));
      }
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // conf (and its JSON-schema validator) is loaded only when writing
      const { default: Conf } = await import('conf');
      const conf = new Conf<Record<string, unknown>>({
        projectName: 'ops-console',
        projectSuffix: '',
        cwd: configDir(env),
        configName: 'config',
        configFileMode: 0o600,
      });
      conf.store = raw;
      chmodSync(file, 0o600);
      return `${key} = ${terminalJson(redactDeep(getAt(raw, path)))}\n`;
    }
    default:
      throw new UsageError(`config: expected one of path, show, validate, get, set${sub ? ` (got "${sub}")` : ''}`);
  }
}

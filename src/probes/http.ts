// HTTP endpoint probe: status and time to response headers. Redirects are not followed,
// as monitoring plugins do: a 3xx is reported as what it is.
import type { HttpData, ProbeResult } from '../types';
import { redact } from '../util/redact';

export async function probeHttp(url: string, timeoutMs: number): Promise<ProbeResult<HttpData>> {
  const started = performance.now();
  const at = () => Date.now();
  try {
    const res = await fetch(url, {
      method: 'GET',
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
      headers: { 'user-agent': 'ops-console' },
    });
    const latencyMs = performance.now() - started;
    await res.body?.cancel().catch(() => undefined);
    return { ok: true, data: { status: res.status, latencyMs }, at: at(), ms: Math.round(latencyMs) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    let reason = e.cause?.code ?? e.cause?.message ?? e.message;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') reason = `no response within ${timeoutMs} ms`;
    return { ok: false, error: redact(`${reason}`), at: at(), ms: Math.round(performance.now() - started) };
  }
}

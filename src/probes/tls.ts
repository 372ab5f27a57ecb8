// TLS certificate probe: connects, reads the peer certificate and reports days to expiry.
// The chain is not required to verify: an expiring self-signed certificate still matters.
import { connect } from 'node:tls';
import type { ProbeResult, TlsData } from '../types';

export function probeTls(host: string, port: number, timeoutMs: number): Promise<ProbeResult<TlsData>> {
  const started = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult<TlsData>) => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(r);
    };
    const fail = (error: string) => finish({ ok: false, error, at: Date.now(), ms: Date.now() - started });
    const socket = connect({ host, port, servername: /^[\d.:]+$/.test(host) ? undefined : host, rejectUnauthorized: false });
    socket.setTimeout(timeoutMs, () => fail(`no TLS handshake within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => fail(err.code ? `${err.code} ${host}:${port}` : err.message));
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate();
      if (!cert || !cert.valid_to) return fail('the server sent no certificate');
      const validTo = new Date(cert.valid_to);
      const daysLeft = (validTo.getTime() - Date.now()) / 86_400_000;
      finish({
        ok: true,
        data: {
          subject: cert.subject?.CN ? String(cert.subject.CN) : '?',
          issuer: cert.issuer?.CN ? String(cert.issuer.CN) : cert.issuer?.O ? String(cert.issuer.O) : '?',
          validTo: validTo.toISOString(),
          daysLeft,
        },
        at: Date.now(),
        ms: Date.now() - started,
      });
    });
  });
}

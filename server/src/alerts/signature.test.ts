import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DELIVERY_TUNING, retryDelayMs } from './delivery-sender.ts';
import { bodyFor } from './payload.ts';
import { newWebhookSecret, signWebhook, verifyWebhook } from './signature.ts';

describe('webhook signature', () => {
  const secret = newWebhookSecret();
  const body = '{"kind":"halt.engaged"}';

  it('is HMAC-SHA256 over "<timestamp>.<body>" and verifies within the window only', () => {
    const ts = 1_796_421_600;
    const sig = signWebhook(secret, ts, body);
    expect(sig).toBe(`v1=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
    const h = { timestamp: String(ts), signature: sig };
    expect(verifyWebhook(secret, h, body, ts + 299)).toBe('ok');
    expect(verifyWebhook(secret, h, body, ts + 301)).toBe('stale');
    expect(verifyWebhook(secret, h, `${body} `, ts)).toBe('bad_signature');
    expect(verifyWebhook(newWebhookSecret(), h, body, ts)).toBe('bad_signature');
    // The timestamp is bound: moving it forward breaks the signature.
    expect(verifyWebhook(secret, { ...h, timestamp: String(ts + 10) }, body, ts + 10)).toBe('bad_signature');
  });

  it('retries 1 s, 5 s, 30 s, 2 min, 10 min within ±20 %, then stops', () => {
    const t = DEFAULT_DELIVERY_TUNING;
    expect([1, 2, 3, 4, 5].map((a) => retryDelayMs(a, t, () => 0.5))).toEqual([
      1_000, 5_000, 30_000, 120_000, 600_000,
    ]);
    expect(retryDelayMs(1, t, () => 0)).toBe(800);
    expect(retryDelayMs(5, t, () => 1)).toBe(720_000);
    expect(retryDelayMs(6, t, () => 0.5)).toBeNull();
  });

  it('Slack and Discord bodies are their one-field messages', () => {
    const p = {
      id: 'evt_1',
      kind: 'halt.engaged' as const,
      severity: 'critical' as const,
      desk: { id: 'd', name: 'Main desk' },
      title: 'Desk halt engaged',
      body: 'x'.repeat(3000),
      data: {},
      createdAt: '2026-12-04T00:00:00.000Z',
    };
    expect(JSON.parse(bodyFor('aegis', p))).toEqual(p);
    const slack = JSON.parse(bodyFor('slack', p));
    expect(Object.keys(slack)).toEqual(['text']);
    expect(slack.text.startsWith('🛑 [Main desk] Desk halt engaged: xxx')).toBe(true);
    const discord = JSON.parse(bodyFor('discord', p));
    expect(Object.keys(discord)).toEqual(['content']);
    expect(discord.content.length).toBeLessThanOrEqual(2000);
  });
});

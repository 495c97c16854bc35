import { describe, expect, it } from 'vitest';
import { MetricsText } from './metrics.ts';

describe('Prometheus text exposition', () => {
  it('declares each metric once, escapes labels and accumulates histogram buckets', () => {
    const text = new MetricsText()
      .counter('x_total', 'X things', 3, { feed: 'a"b\\c' })
      .counter('x_total', 'X things', 4, { feed: 'd' })
      .gauge('y', 'Y', Number.NaN)
      .histogram('lat_seconds', 'Latency', { bounds: [100, 1000], counts: [2, 3, 1], sum: 2500 }, 1e-6)
      .toString();
    expect(text).toBe(
      [
        '# HELP x_total X things',
        '# TYPE x_total counter',
        'x_total{feed="a\\"b\\\\c"} 3',
        'x_total{feed="d"} 4',
        '# HELP y Y',
        '# TYPE y gauge',
        'y NaN',
        '# HELP lat_seconds Latency',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{le="0.0001"} 2',
        'lat_seconds_bucket{le="0.001"} 5',
        'lat_seconds_bucket{le="+Inf"} 6',
        'lat_seconds_sum 0.0025',
        'lat_seconds_count 6',
        '',
      ].join('\n'),
    );
  });
});

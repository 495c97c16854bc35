// One file: every line of the engine's /metrics is rendered here from one snapshot, so an
// operator's dashboard and the runbook's list of metrics have one place to read; it is a flat
// list of gauges and counters, not several mechanisms.
import type { VenueFeedStats } from './feeds/venues/venue-feed.ts';
import type { EngineSnapshot, VenueBooks } from './index.ts';
import { MetricsText } from './metrics.ts';
import { SIGNAL_LATENCY_BUCKETS_US } from './signals/signal-publisher.ts';

/** Renders the engine's `/metrics` (Prometheus text) from a snapshot of its shared counters. */
export function renderEngineMetrics(s: EngineSnapshot, readiness: Readonly<Record<string, boolean>>): string {
  const m = new MetricsText();
  m.gauge(
    'aegis_engine_ready',
    '1 when every readiness check passes',
    Object.values(readiness).every(Boolean) ? 1 : 0,
  );
  for (const [check, ok] of Object.entries(readiness)) {
    m.gauge('aegis_engine_readiness_check', 'Readiness checks (1 = passing)', ok ? 1 : 0, { check });
  }
  m.gauge('aegis_engine_info', 'Inference provider and model version', 1, {
    provider: s.provider,
    model_version: s.modelVersion,
  });

  // feeds
  for (const f of s.feeds) {
    m.counter('aegis_engine_ticks_in_total', 'Ticks accepted into the rings, per feed', f.ticksIn, {
      feed: f.name,
    });
    m.counter(
      'aegis_engine_ticks_dropped_total',
      'Ticks dropped by the drop backpressure policy, per feed',
      f.dropped,
      {
        feed: f.name,
      },
    );
  }
  for (const [source, kind, n] of s.malformed.entries()) {
    m.counter(
      'aegis_engine_malformed_records_total',
      'Malformed input records skipped, per source and kind',
      n,
      {
        source,
        kind,
      },
    );
  }

  // venue prices (the one price source), one publisher per venue: each metric's samples together
  const prices = s.venuePrices;
  for (const p of prices)
    m.counter(
      'aegis_engine_prices_published_total',
      'Instrument prices published (coalesced rounds)',
      p.pricesPublished,
      { venue: p.venue },
    );
  for (const p of prices)
    m.counter('aegis_engine_price_rounds_total', 'Venue price publish rounds', p.rounds, { venue: p.venue });
  for (const p of prices)
    m.counter(
      'aegis_engine_price_publish_errors_total',
      'Venue price publish rounds that failed (retried next round)',
      p.publishErrors,
      { venue: p.venue },
    );
  for (const p of prices) {
    const help = 'Venue ticks refused as prices for an implausible event time';
    m.counter('aegis_engine_prices_rejected_total', help, p.rejectedFuture, {
      venue: p.venue,
      reason: 'future',
    });
    m.counter('aegis_engine_prices_rejected_total', help, p.rejectedOld, {
      venue: p.venue,
      reason: 'too_old',
    });
  }

  renderVenueFeeds(m, s.venueFeeds, Date.now());
  renderBooks(m, s.books);

  m.gauge(
    'aegis_engine_backpressure_queued_ticks',
    'Ticks waiting outside a full ring (block policy)',
    s.sink.queued,
  );
  m.counter(
    'aegis_engine_backpressure_overflowed_total',
    'Ticks that found their ring full and waited (block policy)',
    s.sink.overflowed,
  );
  m.counter(
    'aegis_engine_backpressure_stalls_total',
    'Ticks dropped after a bounded wait for a stuck ring',
    s.sink.stalled,
  );

  // rings
  s.tickRings.forEach((r, shard) => {
    m.gauge(
      'aegis_engine_ring_occupancy',
      'Records published and not yet consumed by the slowest consumer',
      r.occupancy(),
      {
        ring: 'tick',
        shard,
      },
    );
    m.gauge('aegis_engine_ring_capacity', 'Ring capacity in records', r.capacity, { ring: 'tick', shard });
  });
  m.gauge(
    'aegis_engine_ring_occupancy',
    'Records published and not yet consumed by the slowest consumer',
    s.scoredRing.occupancy(),
    {
      ring: 'scored',
      shard: 'all',
    },
  );

  // feature pool
  const p = s.pool;
  m.counter(
    'aegis_engine_feature_ticks_total',
    'Ticks applied to the per-symbol feature state',
    p.ticksProcessed,
  );
  m.counter('aegis_engine_candidates_total', 'Pattern candidates sent to inference', p.candidatesOut);
  m.counter(
    'aegis_engine_candidates_dropped_total',
    'Candidates dropped (candidate ring full, drop policy)',
    p.candidatesDropped,
  );
  m.counter('aegis_engine_worker_restarts_total', 'Feature worker restarts after a crash', p.restarts);
  m.counter(
    'aegis_engine_misrouted_ticks_total',
    'Ticks found in the wrong shard ring (skipped)',
    p.misrouted,
  );
  for (const [shard, lag] of p.lag.entries()) {
    m.gauge('aegis_engine_feature_lag_ticks', 'Ticks waiting for the feature worker', lag, { shard });
  }

  // inference
  const inf = s.inference;
  m.counter('aegis_engine_inference_batches_total', 'Inference batches run', inf.batches);
  for (const path of ['js', 'ort'] as const)
    m.counter(
      'aegis_engine_inference_path_batches_total',
      'Inference batches per scoring path',
      inf.batchesByPath[path],
      {
        path,
      },
    );
  m.counter('aegis_engine_inference_scored_total', 'Candidates scored', inf.scored);
  m.counter('aegis_engine_inference_errors_total', 'Failed inference runs', inf.runErrors);
  m.histogram('aegis_engine_inference_batch_size', 'Candidates per inference batch', inf.batchSize);
  m.histogram(
    'aegis_engine_inference_latency_seconds',
    'Scoring time per batch (JS forward pass or ORT session.run)',
    inf.latencyUs,
    1e-6,
  );

  // writer
  const w = s.writer;
  if (w) {
    m.counter('aegis_engine_ticks_persisted_total', 'Ticks committed to the ticks table', w.ticksPersisted);
    m.counter(
      'aegis_engine_ticks_duplicate_total',
      'Ticks the ticks table already held (same symbol, time and sequence), refused by its key',
      w.ticksDuplicate,
    );
    m.counter(
      'aegis_engine_features_persisted_total',
      'Feature rows committed (sampled)',
      w.featuresPersisted,
    );
    m.counter('aegis_engine_writer_flushes_total', 'Writer transactions committed', w.flushes);
    m.counter('aegis_engine_writer_errors_total', 'Writer transactions that failed (retried)', w.flushErrors);
    m.gauge('aegis_engine_writer_backlog_ticks', 'Ticks in the rings not yet persisted', w.backlog);
    m.gauge(
      'aegis_engine_writer_lag_seconds',
      'Age of the oldest checkpoint not yet persisted',
      w.lagSeconds,
    );
    m.counter(
      'aegis_engine_writer_flush_timeouts_total',
      'Flushes abandoned at their deadline (connection destroyed, writer reconnected)',
      w.flushTimeouts,
    );
    m.counter('aegis_engine_writer_reconnects_total', 'Writer database reconnections', w.reconnects);
    m.gauge(
      'aegis_engine_writer_ticks_in_doubt',
      'Rows of a flush whose commit is unknown until the writer reads its token back',
      w.ticksInDoubt,
    );
    m.gauge(
      'aegis_engine_writer_db_connected',
      '1 while the last database round trip succeeded',
      w.dbConnected ? 1 : 0,
    );
    m.counter(
      'aegis_engine_ticks_lost_total',
      'Accepted ticks neither persisted nor processed at shutdown',
      w.ticksLost,
    );
  }

  // signals
  const sig = s.signals;
  m.counter('aegis_engine_signals_out_total', 'Signals published (bus and table)', sig.signalsOut);
  m.counter(
    'aegis_engine_signals_below_threshold_total',
    'Scored candidates below ENGINE_SIGNAL_MIN_SCORE',
    sig.belowThreshold,
  );
  m.counter(
    'aegis_engine_signal_errors_total',
    'Signal delivery failures (retried)',
    sig.persistErrors + sig.publishErrors,
  );
  m.counter(
    'aegis_engine_signal_persist_timeouts_total',
    'Signal inserts abandoned at ENGINE_DB_TIMEOUT_MS (connection replaced, retried)',
    sig.persistTimeouts,
  );
  m.histogram(
    'aegis_engine_tick_to_signal_seconds',
    'Event time of the triggering tick to signal publication (live feeds)',
    { bounds: SIGNAL_LATENCY_BUCKETS_US, counts: sig.latencyCounts, sum: sig.latencySumUs },
    1e-6,
  );
  m.counter(
    'aegis_engine_signals_halted_total',
    'Signals published while the global halt was engaged (marked halted=true)',
    sig.signalsHalted,
  );

  // halt
  const h = s.halt;
  m.gauge('aegis_engine_halted', '1 while the halt is engaged, as the engine sees it', h.global ? 1 : 0, {
    scope: 'global',
  });
  if (h.lastPropagationSeconds !== null) {
    m.gauge(
      'aegis_engine_halt_propagation_seconds',
      'Last halt change: its time (message ts or row engaged_at/released_at) to the engine seeing it',
      h.lastPropagationSeconds,
      { via: h.lastVia ?? 'unknown' },
    );
  }
  for (const via of ['pubsub', 'poll'] as const) {
    m.counter(
      'aegis_engine_halt_transitions_total',
      'Global halt changes seen, per path that saw them first',
      h.transitions[via],
      { via },
    );
  }
  m.counter('aegis_engine_halt_messages_total', 'Global halt messages received on the bus', h.messages);
  m.counter(
    'aegis_engine_halt_poll_errors_total',
    'Failed reads of the halts table (last state kept)',
    h.pollErrors,
  );
  m.counter(
    'aegis_engine_halt_poll_timeouts_total',
    'Reads of the halts table abandoned at ENGINE_DB_TIMEOUT_MS (connection replaced)',
    h.pollTimeouts,
  );
  m.gauge('aegis_engine_halt_subscribed', '1 when subscribed to the halt channel', h.subscribed ? 1 : 0);
  if (s.shards) renderShards(m, s.shards);
  return m.toString();
}

/** Sharded order flow: which shards this engine owns, under which token, and the lease events. */
function renderShards(m: MetricsText, s: NonNullable<EngineSnapshot['shards']>): void {
  const l = s.leases;
  m.gauge(
    'aegis_engine_orderflow_shards',
    'Order-flow shards in the cluster (ENGINE_ORDERFLOW_SHARDS)',
    l.shards,
  );
  m.gauge('aegis_engine_shards_owned', 'Order-flow shards whose lease this engine holds', l.owned.length);
  m.gauge('aegis_engine_shard_members', 'Live engines in the cluster at the last lease round', l.members);
  for (const o of l.owned)
    m.gauge('aegis_engine_shard_owned', 'Fencing token of each order-flow shard this engine owns', o.token, {
      shard: String(o.shard),
    });
  for (const f of s.feed)
    m.counter('aegis_engine_shard_events_total', 'Order-flow entries read per owned shard', f.events, {
      shard: String(f.shard),
    });
  m.counter('aegis_engine_shard_acquired_total', 'Shard leases acquired', l.acquired);
  m.counter('aegis_engine_shard_takeovers_total', 'Shard leases taken from another engine', l.takeovers);
  m.counter('aegis_engine_shard_handovers_total', 'Shards handed over cleanly (rebalance)', l.handovers);
  m.counter('aegis_engine_shard_leases_lost_total', 'Shard leases lost to another engine', l.lost);
}

/** Counters of the live venue feeds (labels feed, venue), metric by metric. */
function renderVenueFeeds(m: MetricsText, feeds: readonly VenueFeedStats[], nowMs: number): void {
  const labels = (f: VenueFeedStats) => ({ feed: f.feed, venue: f.venue });
  const counters: readonly [string, string, (f: VenueFeedStats) => number][] = [
    ['aegis_engine_venue_messages_total', 'Venue messages received', (f) => f.messagesIn],
    [
      'aegis_engine_venue_malformed_total',
      'Venue messages that could not be decoded (counted, skipped; kinds in aegis_engine_malformed_records_total)',
      (f) => f.malformed,
    ],
    ['aegis_engine_venue_gaps_total', 'Sequence gaps or lost connections detected', (f) => f.gaps],
    [
      'aegis_engine_venue_resyncs_total',
      'Resubscriptions or snapshot re-requests after a gap',
      (f) => f.resyncs,
    ],
    ['aegis_engine_venue_reconnects_total', 'Reconnections to the venue', (f) => f.reconnects],
    ['aegis_engine_venue_checksum_failures_total', 'Book checksum mismatches', (f) => f.checksumFailures],
    [
      'aegis_engine_venue_skewed_total',
      'Venue messages dated beyond ENGINE_MAX_FUTURE_SKEW_MS ahead of the local clock (refused)',
      (f) => f.skewed,
    ],
  ];
  for (const [name, help, value] of counters)
    for (const f of feeds) m.counter(name, help, value(f), labels(f));
  for (const f of feeds)
    m.gauge(
      'aegis_engine_venue_clock_skew_seconds',
      'Latest venue event time minus local receive time (NaN until measured)',
      f.clockSkewMs / 1000,
      labels(f),
    );
  for (const f of feeds)
    m.gauge(
      'aegis_engine_venue_connected',
      '1 while the feed is connected (or polling successfully)',
      f.connected ? 1 : 0,
      {
        ...labels(f),
        transport: f.transport,
      },
    );
  for (const f of feeds)
    m.gauge(
      'aegis_engine_venue_last_message_age_seconds',
      'Seconds since the last venue message (+Inf before the first)',
      f.lastMessageAtMs > 0 ? Math.max(0, nowMs - f.lastMessageAtMs) / 1000 : Number.POSITIVE_INFINITY,
      labels(f),
    );
}

/** The L2 books per venue: what the feeds applied and what was published. */
function renderBooks(m: MetricsText, books: readonly VenueBooks[]): void {
  const counters: readonly [string, string, (b: VenueBooks) => number][] = [
    ['aegis_engine_book_snapshots_total', 'Book snapshots applied', (b) => b.registry.snapshotsApplied],
    ['aegis_engine_book_updates_total', 'Book level updates applied', (b) => b.registry.updatesApplied],
    [
      'aegis_engine_book_crossed_corrections_total',
      'Updates that crossed the book and dropped the opposite levels they crossed',
      (b) => b.registry.crossedCorrections,
    ],
    [
      'aegis_engine_book_updates_without_book_total',
      'Updates for an instrument whose book awaits a snapshot (dropped)',
      (b) => b.registry.updatesWithoutBook,
    ],
    [
      'aegis_engine_book_rejected_updates_total',
      'Updates with an invalid price or size (dropped)',
      (b) => b.registry.rejectedUpdates,
    ],
    ['aegis_engine_book_clears_total', 'Books cleared after a gap or a disconnect', (b) => b.registry.clears],
  ];
  for (const [name, help, value] of counters)
    for (const b of books) m.counter(name, help, value(b), { venue: b.venue });
  renderBookPublishers(m, books);
}

/** The book publishers per venue (coalesced rounds to the bus, like the prices). */
function renderBookPublishers(m: MetricsText, books: readonly VenueBooks[]): void {
  for (const b of books)
    m.counter(
      'aegis_engine_books_published_total',
      'Instrument books published (coalesced rounds)',
      b.publisher.booksPublished,
      {
        venue: b.venue,
      },
    );
  for (const b of books)
    m.counter('aegis_engine_book_rounds_total', 'Venue book publish rounds', b.publisher.rounds, {
      venue: b.venue,
    });
  for (const b of books)
    m.counter(
      'aegis_engine_book_publish_errors_total',
      'Venue book publish rounds that failed (retried next round)',
      b.publisher.publishErrors,
      { venue: b.venue },
    );
}

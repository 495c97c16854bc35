-- Option chains (docs/option-chains.md). Plain SQL: the same on PostgreSQL with or without
-- TimescaleDB.
--
-- Listed option contracts are `instruments` rows (asset_class 'option', underlying_id, option_right,
-- strike, expiry; `greeks` refreshed by the server). This migration adds what chains need beside
-- them: the history of daily at-the-money implied volatilities (IV rank and percentile), and an
-- index to find an underlying's contracts.
--
-- option_iv_history: market data, shared by every desk like `instruments` and `ticks` (no
-- tenant_id, no RLS). One row per underlying and UTC day: the latest ATM IV computed that day
-- (an upsert), which takes precedence over the synthetic history of a synthetic underlying.
CREATE TABLE IF NOT EXISTS option_iv_history (
  underlying_id uuid NOT NULL,
  day date NOT NULL,
  atm_iv double precision NOT NULL CHECK (atm_iv > 0 AND atm_iv < 20),
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT option_iv_history_pkey PRIMARY KEY (underlying_id, day),
  CONSTRAINT option_iv_history_underlying_id_instruments_id_fk FOREIGN KEY (underlying_id)
    REFERENCES public.instruments(id) ON DELETE cascade ON UPDATE no action
);
--> statement-breakpoint

-- An underlying's listed contracts by expiry (listing, derived quotes, the Greeks refresher).
CREATE INDEX IF NOT EXISTS instruments_option_chain_idx
  ON instruments USING btree (underlying_id, expiry) WHERE asset_class = 'option';

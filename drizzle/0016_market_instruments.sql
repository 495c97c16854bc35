-- Instruments and watchlists (issue 12, docs/instruments.md). Plain SQL: the same on PostgreSQL
-- with or without TimescaleDB.
--
-- instruments: the venue's own symbol (venue_symbol, unique per venue), a display name, and where
-- the row came from (source: a venue's product list, an admin's edit, or the SIM seed). The
-- mapping between the two symbols is shared/src/market/instrument-symbols.ts: ccxt venues prefix
-- the instrument symbol with the venue (`BINANCE:BTC/USDT` ↔ `BTC/USDT`), native venues do not.
ALTER TABLE instruments ADD COLUMN IF NOT EXISTS venue_symbol text;
--> statement-breakpoint
ALTER TABLE instruments ADD COLUMN IF NOT EXISTS name text;
--> statement-breakpoint
ALTER TABLE instruments ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'seed'
  CHECK (source IN ('venue', 'admin', 'seed'));
--> statement-breakpoint

-- venueSymbolOf() in SQL: the part after `<venue>:` when the symbol carries its venue's prefix,
-- else the symbol itself. Used for the backfill and for inserts that leave venue_symbol out
-- (fixtures, older tools), so NOT NULL never breaks a writer that predates the column.
CREATE OR REPLACE FUNCTION aegis_instrument_venue_symbol(symbol text, venue text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $fn$
  SELECT CASE WHEN left(symbol, length(venue) + 1) = venue || ':'
              THEN substr(symbol, length(venue) + 2) ELSE symbol END
$fn$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION aegis_instruments_fill_venue_symbol() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $fn$
BEGIN
  IF NEW.venue_symbol IS NULL THEN
    NEW.venue_symbol := aegis_instrument_venue_symbol(NEW.symbol, NEW.venue);
  END IF;
  RETURN NEW;
END
$fn$;
--> statement-breakpoint
DROP TRIGGER IF EXISTS instruments_fill_venue_symbol ON instruments;
--> statement-breakpoint
CREATE TRIGGER instruments_fill_venue_symbol BEFORE INSERT OR UPDATE OF venue_symbol ON instruments
  FOR EACH ROW EXECUTE FUNCTION aegis_instruments_fill_venue_symbol();
--> statement-breakpoint
UPDATE instruments SET venue_symbol = aegis_instrument_venue_symbol(symbol, venue) WHERE venue_symbol IS NULL;
--> statement-breakpoint
ALTER TABLE instruments ALTER COLUMN venue_symbol SET NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS instruments_venue_symbol_key ON instruments (venue, venue_symbol);
--> statement-breakpoint

-- Search (server/src/market/instrument-registry.ts): exact and prefix matches are index range
-- scans on the upper-cased symbols (text_pattern_ops serves LIKE 'ABC%' in any collation); fuzzy
-- matching runs in the server over the cached registry, so no pg_trgm is needed.
CREATE INDEX IF NOT EXISTS instruments_symbol_prefix_idx
  ON instruments USING btree (upper(symbol) text_pattern_ops);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS instruments_venue_symbol_prefix_idx
  ON instruments USING btree (upper(venue_symbol) text_pattern_ops);
--> statement-breakpoint

-- calendar stays text: the edges accept only 24x7, XNYS, XNAS, CME and CBOT
-- (shared/src/schemas/market-data.ts tradingCalendar), and the risk governor refuses orders on
-- any calendar it does not know (shared/src/risk/calendars.ts 'unknown_calendar'), which a CHECK
-- here would make untestable.

-- watchlists: a person's lists on a desk. Tenant-owned (RLS by desk); the service filters by
-- user_id as well, so a list is visible to its owner only. symbols is text[] in the owner's
-- order (a list is small, read and replaced whole; the registry checks each symbol on write).
CREATE TABLE IF NOT EXISTS watchlists (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  tenant_id uuid NOT NULL,
  user_id uuid NOT NULL,
  name text NOT NULL,
  symbols text[] DEFAULT '{}'::text[] NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT watchlists_tenant_id_tenants_id_fk FOREIGN KEY (tenant_id)
    REFERENCES public.tenants(id) ON DELETE cascade ON UPDATE no action,
  CONSTRAINT watchlists_user_id_users_id_fk FOREIGN KEY (user_id)
    REFERENCES public.users(id) ON DELETE cascade ON UPDATE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX IF NOT EXISTS watchlists_owner_name_key ON watchlists USING btree (tenant_id, user_id, name);
--> statement-breakpoint
SELECT aegis_ddl_enable_tenant_rls('watchlists');

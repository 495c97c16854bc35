CREATE TABLE "agent_settings" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"mode" text DEFAULT 'confirmation' NOT NULL,
	"instruments" text[] DEFAULT '{}'::text[] NOT NULL,
	"max_proposals_per_hour" integer DEFAULT 20 NOT NULL,
	"risk_preset" text DEFAULT 'conservative' NOT NULL,
	"proposal_ttl_seconds" integer DEFAULT 300 NOT NULL,
	"automation_enabled" boolean DEFAULT true NOT NULL,
	"automation_disabled_reason" text,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"secret_hash" text NOT NULL,
	"scopes" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_keys_prefix_unique" UNIQUE("prefix")
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid,
	"seq" bigint NOT NULL,
	"ts" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"target_type" text,
	"target_id" text,
	"outcome" text DEFAULT 'ok' NOT NULL,
	"request_id" text,
	"ip" "inet",
	"payload_digest" text NOT NULL,
	"details" text,
	"prev_hash" text NOT NULL,
	"hash" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "broker_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"account_ref" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"access_token_enc" text,
	"refresh_token_enc" text,
	"token_expires_at" timestamp with time zone,
	"scopes" text[],
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_sync_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "memberships" (
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "memberships_tenant_id_user_id_pk" PRIMARY KEY("tenant_id","user_id"),
	CONSTRAINT "memberships_role_check" CHECK ("memberships"."role" in ('admin','trader','viewer'))
);
--> statement-breakpoint
CREATE TABLE "oauth_transactions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"state_hash" text NOT NULL,
	"code_verifier_enc" text NOT NULL,
	"redirect_uri" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"consumed_at" timestamp with time zone,
	CONSTRAINT "oauth_transactions_state_hash_unique" UNIQUE("state_hash")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"active_tenant_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"absolute_expires_at" timestamp with time zone NOT NULL,
	"reauthenticated_at" timestamp with time zone,
	"ip" "inet",
	"user_agent" text
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"base_currency" text DEFAULT 'USD' NOT NULL,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"email" text NOT NULL,
	"display_name" text NOT NULL,
	"password_hash" text NOT NULL,
	"is_platform_admin" boolean DEFAULT false NOT NULL,
	"must_change_password" boolean DEFAULT false NOT NULL,
	"password_changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"disabled_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "equity_snapshots" (
	"tenant_id" uuid NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"equity" numeric(38, 12) NOT NULL,
	"cash" numeric(38, 12) NOT NULL,
	"realized_pnl" numeric(38, 12) NOT NULL,
	"unrealized_pnl" numeric(38, 12) NOT NULL,
	"fees" numeric(38, 12) NOT NULL,
	"gross_exposure" numeric(38, 12) NOT NULL,
	"net_exposure" numeric(38, 12) NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "features" (
	"ts" timestamp with time zone NOT NULL,
	"symbol" text NOT NULL,
	"ema_fast" double precision NOT NULL,
	"ema_slow" double precision NOT NULL,
	"vwap" double precision NOT NULL,
	"realized_vol" double precision NOT NULL,
	"order_flow_imbalance" double precision NOT NULL,
	"micro_price" double precision NOT NULL,
	"spread_z" double precision NOT NULL,
	"momentum" double precision NOT NULL
);
--> statement-breakpoint
CREATE TABLE "instruments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"symbol" text NOT NULL,
	"venue" text NOT NULL,
	"asset_class" text NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"tick_size" numeric(38, 12) NOT NULL,
	"lot_size" numeric(38, 12) NOT NULL,
	"multiplier" numeric(38, 12) DEFAULT '1' NOT NULL,
	"calendar" text DEFAULT '24x7' NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"underlying_id" uuid,
	"option_right" text,
	"strike" numeric(38, 12),
	"expiry" date,
	"greeks" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instruments_symbol_unique" UNIQUE("symbol")
);
--> statement-breakpoint
CREATE TABLE "orderflow_events" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"ts_ingest" timestamp with time zone DEFAULT now() NOT NULL,
	"source" text NOT NULL,
	"seq" bigint NOT NULL,
	"venue" text NOT NULL,
	"symbol" text NOT NULL,
	"kind" text NOT NULL,
	"side" text,
	"price" numeric(38, 12),
	"size" numeric(38, 12),
	"bid" numeric(38, 12),
	"ask" numeric(38, 12),
	"bid_size" numeric(38, 12),
	"ask_size" numeric(38, 12),
	"levels" jsonb,
	"content_hash" text NOT NULL,
	CONSTRAINT "orderflow_events_id_ts_pk" PRIMARY KEY("id","ts")
);
--> statement-breakpoint
CREATE TABLE "signal_decisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"signal_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"decision" text NOT NULL,
	"note" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "signals" (
	"id" uuid NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"ts_event" timestamp with time zone NOT NULL,
	"symbol" text NOT NULL,
	"direction" text NOT NULL,
	"pattern" text NOT NULL,
	"score" double precision NOT NULL,
	"price" numeric(38, 12),
	"features" jsonb NOT NULL,
	"model_version" text NOT NULL,
	CONSTRAINT "signals_id_ts_pk" PRIMARY KEY("id","ts")
);
--> statement-breakpoint
CREATE TABLE "ticks" (
	"ts" timestamp with time zone NOT NULL,
	"ts_ingest" timestamp with time zone NOT NULL,
	"symbol" text NOT NULL,
	"seq" bigint NOT NULL,
	"kind" smallint NOT NULL,
	"price" numeric(38, 12) NOT NULL,
	"size" numeric(38, 12) NOT NULL,
	"bid" numeric(38, 12),
	"ask" numeric(38, 12),
	"bid_size" numeric(38, 12),
	"ask_size" numeric(38, 12),
	"aggressor" smallint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"proposal_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"decision" text NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "fills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"order_id" uuid NOT NULL,
	"execution_id" text NOT NULL,
	"ts" timestamp with time zone NOT NULL,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"quantity" numeric(38, 12) NOT NULL,
	"price" numeric(38, 12) NOT NULL,
	"fee" numeric(38, 12) DEFAULT '0' NOT NULL,
	"liquidity" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"tenant_id" uuid NOT NULL,
	"principal" text NOT NULL,
	"procedure" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"status" text NOT NULL,
	"response" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_tenant_id_principal_procedure_key_pk" PRIMARY KEY("tenant_id","principal","procedure","key")
);
--> statement-breakpoint
CREATE TABLE "kill_switches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"scope" text NOT NULL,
	"tenant_id" uuid,
	"engaged" boolean DEFAULT false NOT NULL,
	"reason" text,
	"engaged_by" uuid,
	"engaged_at" timestamp with time zone,
	"released_by" uuid,
	"released_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "kill_switches_scope_check" CHECK (("kill_switches"."scope" = 'global') = ("kill_switches"."tenant_id" is null))
);
--> statement-breakpoint
CREATE TABLE "lessons" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"outcome_id" uuid,
	"symbol" text NOT NULL,
	"kind" text NOT NULL,
	"pnl" numeric(38, 12) NOT NULL,
	"summary" text NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"embedding" double precision[] NOT NULL,
	"embedder" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"client_order_id" text NOT NULL,
	"broker_order_id" text,
	"broker" text DEFAULT 'paper' NOT NULL,
	"broker_connection_id" uuid,
	"proposal_id" uuid,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"order_type" text NOT NULL,
	"time_in_force" text DEFAULT 'day' NOT NULL,
	"quantity" numeric(38, 12) NOT NULL,
	"limit_price" numeric(38, 12),
	"stop_price" numeric(38, 12),
	"status" text DEFAULT 'pending_new' NOT NULL,
	"filled_quantity" numeric(38, 12) DEFAULT '0' NOT NULL,
	"avg_fill_price" numeric(38, 12),
	"fees" numeric(38, 12) DEFAULT '0' NOT NULL,
	"reject_reason" text,
	"denial" jsonb,
	"origin" text NOT NULL,
	"created_by" text,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "outbox" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "outbox_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"topic" text NOT NULL,
	"aggregate_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"available_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone,
	"attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "positions" (
	"tenant_id" uuid NOT NULL,
	"symbol" text NOT NULL,
	"quantity" numeric(38, 12) DEFAULT '0' NOT NULL,
	"avg_cost" numeric(38, 12) DEFAULT '0' NOT NULL,
	"realized_pnl" numeric(38, 12) DEFAULT '0' NOT NULL,
	"fees" numeric(38, 12) DEFAULT '0' NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "positions_tenant_id_symbol_pk" PRIMARY KEY("tenant_id","symbol")
);
--> statement-breakpoint
CREATE TABLE "proposals" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"signal_id" uuid,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"quantity" numeric(38, 12) NOT NULL,
	"order_type" text NOT NULL,
	"limit_price" numeric(38, 12),
	"stop_price" numeric(38, 12),
	"target_price" numeric(38, 12),
	"time_horizon" text NOT NULL,
	"confidence" double precision NOT NULL,
	"risk_score" integer NOT NULL,
	"rationale" jsonb NOT NULL,
	"lesson_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decider" text NOT NULL,
	"model" text,
	"prompt_tokens" integer,
	"completion_tokens" integer,
	"latency_ms" integer,
	"risk_verdict" jsonb,
	"order_id" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"decided_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "proposals_risk_score_check" CHECK ("proposals"."risk_score" between 0 and 100)
);
--> statement-breakpoint
CREATE TABLE "risk_limits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"symbol" text DEFAULT '*' NOT NULL,
	"max_order_qty" numeric(38, 12),
	"max_order_notional" numeric(38, 12),
	"max_position" numeric(38, 12),
	"max_gross_exposure" numeric(38, 12),
	"max_net_exposure" numeric(38, 12),
	"max_net_delta" numeric(38, 12),
	"max_open_legs" integer,
	"max_daily_loss" numeric(38, 12),
	"price_collar_bps" integer,
	"max_reference_age_ms" integer,
	"max_spread_bps" integer,
	"duplicate_window_ms" integer,
	"max_orders_per_minute" integer,
	"loss_streak_count" integer,
	"loss_streak_threshold" numeric(38, 12),
	"restricted" boolean DEFAULT false NOT NULL,
	"updated_by" uuid,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trade_outcomes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"proposal_id" uuid,
	"signal_id" uuid,
	"symbol" text NOT NULL,
	"side" text NOT NULL,
	"quantity" numeric(38, 12) NOT NULL,
	"entry_price" numeric(38, 12) NOT NULL,
	"exit_price" numeric(38, 12) NOT NULL,
	"pnl" numeric(38, 12) NOT NULL,
	"opened_at" timestamp with time zone NOT NULL,
	"closed_at" timestamp with time zone NOT NULL,
	"notes" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "backtests" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"name" text NOT NULL,
	"params" jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"from_ts" timestamp with time zone NOT NULL,
	"to_ts" timestamp with time zone NOT NULL,
	"result" jsonb,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid,
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"run_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"max_attempts" integer DEFAULT 5 NOT NULL,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "agent_settings" ADD CONSTRAINT "agent_settings_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD CONSTRAINT "broker_connections_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "broker_connections" ADD CONSTRAINT "broker_connections_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "oauth_transactions" ADD CONSTRAINT "oauth_transactions_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "oauth_transactions" ADD CONSTRAINT "oauth_transactions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_active_tenant_id_tenants_id_fk" FOREIGN KEY ("active_tenant_id") REFERENCES "public"."tenants"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_tenant_idx" ON "api_keys" USING btree ("tenant_id","user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "audit_log_chain_key" ON "audit_log" USING btree (coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid),"seq");--> statement-breakpoint
CREATE INDEX "audit_log_tenant_ts_idx" ON "audit_log" USING btree ("tenant_id","ts");--> statement-breakpoint
CREATE UNIQUE INDEX "broker_connections_account_key" ON "broker_connections" USING btree ("tenant_id","provider","account_ref");--> statement-breakpoint
CREATE INDEX "memberships_user_idx" ON "memberships" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "oauth_transactions_tenant_idx" ON "oauth_transactions" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_lower_key" ON "users" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "equity_snapshots_tenant_ts_idx" ON "equity_snapshots" USING btree ("tenant_id","ts");--> statement-breakpoint
CREATE INDEX "features_symbol_ts_idx" ON "features" USING btree ("symbol","ts");--> statement-breakpoint
CREATE INDEX "instruments_underlying_idx" ON "instruments" USING btree ("underlying_id");--> statement-breakpoint
CREATE UNIQUE INDEX "orderflow_events_hash_key" ON "orderflow_events" USING btree ("tenant_id","content_hash","ts");--> statement-breakpoint
CREATE INDEX "orderflow_events_tenant_symbol_ts_idx" ON "orderflow_events" USING btree ("tenant_id","symbol","ts");--> statement-breakpoint
CREATE INDEX "orderflow_events_source_seq_idx" ON "orderflow_events" USING btree ("tenant_id","source","seq");--> statement-breakpoint
CREATE INDEX "signal_decisions_signal_idx" ON "signal_decisions" USING btree ("tenant_id","signal_id");--> statement-breakpoint
CREATE INDEX "signals_symbol_ts_idx" ON "signals" USING btree ("symbol","ts");--> statement-breakpoint
CREATE INDEX "signals_pattern_ts_idx" ON "signals" USING btree ("pattern","ts");--> statement-breakpoint
CREATE INDEX "ticks_symbol_ts_idx" ON "ticks" USING btree ("symbol","ts");--> statement-breakpoint
CREATE UNIQUE INDEX "approvals_proposal_key" ON "approvals" USING btree ("tenant_id","proposal_id");--> statement-breakpoint
CREATE UNIQUE INDEX "fills_execution_key" ON "fills" USING btree ("tenant_id","execution_id");--> statement-breakpoint
CREATE INDEX "fills_tenant_ts_idx" ON "fills" USING btree ("tenant_id","ts");--> statement-breakpoint
CREATE INDEX "fills_order_idx" ON "fills" USING btree ("tenant_id","order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "kill_switches_scope_key" ON "kill_switches" USING btree ("scope",coalesce("tenant_id", '00000000-0000-0000-0000-000000000000'::uuid));--> statement-breakpoint
CREATE INDEX "lessons_tenant_idx" ON "lessons" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_client_order_id_key" ON "orders" USING btree ("tenant_id","client_order_id");--> statement-breakpoint
CREATE INDEX "orders_tenant_status_idx" ON "orders" USING btree ("tenant_id","status");--> statement-breakpoint
CREATE INDEX "orders_tenant_created_idx" ON "orders" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "outbox_pending_idx" ON "outbox" USING btree ("available_at") WHERE "outbox"."dispatched_at" is null;--> statement-breakpoint
CREATE INDEX "proposals_tenant_status_idx" ON "proposals" USING btree ("tenant_id","status","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "risk_limits_scope_key" ON "risk_limits" USING btree ("tenant_id","symbol");--> statement-breakpoint
CREATE INDEX "trade_outcomes_tenant_idx" ON "trade_outcomes" USING btree ("tenant_id","closed_at");--> statement-breakpoint
CREATE INDEX "backtests_tenant_idx" ON "backtests" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "jobs_ready_idx" ON "jobs" USING btree ("run_at") WHERE "jobs"."status" = 'queued';
import { useSearchParams } from '@solidjs/router';
import { createEffect, createSignal, type JSX, Show } from 'solid-js';
import { BrokerConnectionsTable } from '../../components/broker-connections-table.tsx';
import { BrokerLinkDialog, type Connection, type LinkRequest } from '../../components/broker-link-dialog.tsx';
import { BrokerProviders } from '../../components/broker-providers.tsx';
import { ErrorAlert } from '../../components/error-alert.tsx';
import { EmptyState, Panel, QueryView } from '../../components/panel.tsx';
import { PasswordField } from '../../components/password-field.tsx';
import { connectionName, linkErrorMessage } from '../../lib/broker-status.ts';
import { createFormAction, reauthFailure, showModalWhile } from '../../lib/form-action.ts';
import { createQuery } from '../../lib/query.ts';
import { useSession } from '../../lib/session.tsx';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';
import '../../brokers.css';
import { PageHeader } from '../../components/page-header.tsx';

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * Brokers: link the desk's broker accounts (OAuth, API key, IBKR gateway) and watch their
 * balances and health. The OAuth callback lands back here with `?linked=<connection id>` (the
 * new row is highlighted) or `?link_error=<code>` (explained in a banner).
 */
export default function BrokersPage() {
  const session = useSession();
  const role = () => session.me()?.activeDesk?.role ?? null;
  const canManage = () => role() === 'admin';
  const canSync = () => role() !== null;
  const providers = createQuery(() => trpc.brokers.providers.query());
  const connections = createQuery(() => trpc.brokers.list.query(), { pollMs: 30_000 });
  const [params, setParams] = useSearchParams();
  const linked = () => one(params.linked);
  const linkError = () => one(params.link_error);
  const [request, setRequest] = createSignal<LinkRequest>();
  const [unlinking, setUnlinking] = createSignal<Connection>();
  const [syncing, setSyncing] = createSignal<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = createSignal<{ text: string; bad: boolean }>();

  const linkedConnection = () => {
    const s = connections.state();
    const id = linked();
    return s.status === 'ready' && id ? s.data.find((c) => c.id === id) : undefined;
  };

  // Bring the new (or relinked) connection into view once the list has it.
  createEffect(() => {
    const c = linkedConnection();
    if (c) {
      queueMicrotask(() =>
        document
          .querySelector(`tr[data-connection="${CSS.escape(c.id)}"]`)
          ?.scrollIntoView({ block: 'nearest' }),
      );
    }
  });

  const dismissBanner = () => setParams({ linked: undefined, link_error: undefined }, { replace: true });

  const sync = async (c: Connection) => {
    setSyncing((s) => new Set([...s, c.id]));
    setNotice(undefined);
    try {
      const updated = await trpc.brokers.sync.mutate({ connectionId: c.id });
      setNotice({
        text:
          updated.status === 'active'
            ? `Synced ${connectionName(updated)}.`
            : `${connectionName(updated)}: ${updated.statusReason ?? updated.status}`,
        bad: updated.status !== 'active',
      });
    } catch (e) {
      setNotice({ text: `Sync of ${c.label} failed: ${errorMessageOf(e)}`, bad: true });
    } finally {
      setSyncing((s) => new Set([...s].filter((id) => id !== c.id)));
      await connections.refetch();
    }
  };

  const relink = (c: Connection) => {
    // A gateway holds the broker login itself: after signing in at the gateway, a sync finds the
    // session working and the server marks the connection active again.
    if (c.linkKind === 'gateway') {
      void sync(c);
      return;
    }
    const s = providers.state();
    const provider = s.status === 'ready' ? s.data.find((p) => p.id === c.provider) : undefined;
    if (!provider) {
      setNotice({ text: `${c.providerName} is not offered by this server any more.`, bad: true });
      return;
    }
    const kind = c.linkKind === 'api_key' ? 'api_key' : 'oauth';
    setRequest({ provider, kind, relink: c });
  };

  const onLinked = async (c: Connection) => {
    setRequest(undefined);
    setParams({ linked: c.id, link_error: undefined }, { replace: true });
    await connections.refetch();
  };

  return (
    <>
      <PageHeader
        title="Brokers"
        sub="Linked broker accounts of this desk; orders route to the account chosen on the ticket"
      />

      <Show when={linked()}>
        <Banner tone="alert-success" role="status" onDismiss={dismissBanner}>
          <Show when={linkedConnection()} fallback={<>Broker account linked.</>}>
            {(c) => (
              <>
                Linked <strong>{connectionName(c())}</strong> ({c().environment}). Balances are read from the
                broker.
              </>
            )}
          </Show>
        </Banner>
      </Show>
      <Show when={linkError()}>
        {(code) => (
          <Banner tone="alert-error" role="alert" onDismiss={dismissBanner}>
            <strong>The broker account was not linked.</strong> {linkErrorMessage(code())}
          </Banner>
        )}
      </Show>
      <Show when={notice()}>
        {(n) => (
          <Banner tone={n().bad ? 'alert-error' : 'alert-info'} role="status">
            {n().text}
          </Banner>
        )}
      </Show>

      <div class="broker-layout">
        <Panel
          title="Linked accounts"
          meta={(() => {
            const s = connections.state();
            return s.status === 'ready' ? `${s.data.length} connection${s.data.length === 1 ? '' : 's'}` : '';
          })()}
          bodyClass="h-brokers"
          flush
        >
          <QueryView query={connections} errorTitle="Could not load linked accounts">
            {(list) => (
              <Show
                when={list.length > 0}
                fallback={
                  <EmptyState title="No broker accounts linked">
                    Orders go to the desk's paper account. Link a broker below to route orders to it.
                  </EmptyState>
                }
              >
                <BrokerConnectionsTable
                  connections={list}
                  highlight={linked()}
                  canManage={canManage()}
                  canSync={canSync()}
                  syncing={syncing()}
                  onSync={(c) => void sync(c)}
                  onRelink={relink}
                  onUnlink={setUnlinking}
                />
              </Show>
            )}
          </QueryView>
        </Panel>

        <Panel title="Providers" meta="What this server can link">
          <QueryView query={providers} errorTitle="Could not load providers">
            {(list) => <BrokerProviders providers={list} canManage={canManage()} onLink={setRequest} />}
          </QueryView>
        </Panel>
      </div>

      <BrokerLinkDialog
        request={request()}
        onClose={() => setRequest(undefined)}
        onLinked={(c) => void onLinked(c)}
      />
      <UnlinkDialog
        connection={unlinking()}
        onClose={() => setUnlinking(undefined)}
        onUnlinked={async (c, revoked) => {
          setUnlinking(undefined);
          setNotice({
            text: `Unlinked ${connectionName(c)}.${revoked ? ' Its tokens were revoked at the broker.' : ''}`,
            bad: false,
          });
          await connections.refetch();
        }}
      />
    </>
  );
}

/** A message above the page (a link's outcome, a sync's failure), with Dismiss where it stays until read. */
function Banner(props: {
  tone: 'alert-success' | 'alert-error' | 'alert-info';
  role: 'status' | 'alert';
  onDismiss?: () => void;
  children: JSX.Element;
}) {
  return (
    <div class={`alert ${props.tone} broker-banner`} role={props.role}>
      <span>{props.children}</span>
      <Show when={props.onDismiss}>
        {(dismiss) => (
          <button type="button" class="btn btn-sm btn-ghost" onClick={() => dismiss()()}>
            Dismiss
          </button>
        )}
      </Show>
    </div>
  );
}

/**
 * Unlinking stops routing to the account and deletes its credentials (revoking OAuth tokens at
 * the broker when it supports it): confirmed with the password, like every other action that
 * changes where the desk's orders go.
 */
function UnlinkDialog(props: {
  connection: Connection | undefined;
  onClose: () => void;
  onUnlinked: (c: Connection, revokedAtProvider: boolean) => Promise<void>;
}) {
  let dialog: HTMLDialogElement | undefined;
  let form: HTMLFormElement | undefined;
  const { pending, error, setError, run } = createFormAction();

  showModalWhile(
    () => dialog,
    () => props.connection !== undefined,
    () => {
      setError(undefined);
      form?.reset();
    },
  );

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const c = props.connection;
    if (!c) return;
    const password = String(new FormData(event.currentTarget as HTMLFormElement).get('password') ?? '');
    await run(async () => {
      await trpc.auth.reauthenticate.mutate({ password });
      const result = await trpc.brokers.unlink.mutate({ connectionId: c.id });
      form?.reset();
      await props.onUnlinked(c, result.revokedAtProvider);
    }, reauthFailure);
  };

  return (
    <dialog
      class="dialog"
      ref={dialog}
      aria-labelledby="broker-unlink-title"
      onClose={() => props.connection && props.onClose()}
    >
      <form ref={form} onSubmit={submit} aria-label="Unlink a broker account">
        <div class="dialog-head">
          <h2 id="broker-unlink-title">Unlink {props.connection ? connectionName(props.connection) : ''}</h2>
        </div>
        <div class="dialog-body auth-form">
          <p class="dim broker-dialog-lead">
            New orders can no longer be routed to this account and its credentials are deleted. Orders already
            at the broker stay there: cancel them first if they should not fill.
          </p>
          <ErrorAlert message={error()} />
          <PasswordField id="broker-unlink-password" />
          <div class="dialog-actions">
            <button type="button" class="btn btn-ghost" onClick={() => props.onClose()}>
              Cancel
            </button>
            <button type="submit" class="btn btn-danger" disabled={pending()}>
              {pending() ? 'Unlinking…' : 'Unlink account'}
            </button>
          </div>
        </div>
      </form>
    </dialog>
  );
}

import { Title } from '@solidjs/meta';
import { createSignal, Show } from 'solid-js';
import { AuditTable } from '../../components/audit-table.tsx';
import { EmptyState, Panel } from '../../components/panel.tsx';
import { useSession } from '../../lib/session.tsx';
import { errorMessageOf, trpc } from '../../lib/trpc.ts';

type Verification =
  | { kind: 'idle' }
  | { kind: 'running' }
  | { kind: 'ok'; text: string }
  | { kind: 'bad'; text: string };

export default function AuditPage() {
  const session = useSession();
  const [verification, setVerification] = createSignal<Verification>({ kind: 'idle' });
  const isAdmin = () => session.me()?.activeDesk?.role === 'admin';

  const verify = async () => {
    setVerification({ kind: 'running' });
    try {
      const result = await trpc.audit.verify.query({});
      setVerification(
        result.ok
          ? { kind: 'ok', text: `Chain intact: ${result.rows} entries verified` }
          : {
              kind: 'bad',
              text: `Chain broken at seq ${result.brokenAtSeq} (${result.reason.replaceAll('_', ' ')})`,
            },
      );
    } catch (error) {
      setVerification({ kind: 'bad', text: errorMessageOf(error) });
    }
  };

  return (
    <>
      <Title>Audit · Aegis</Title>
      <div class="page-header">
        <h1>Audit</h1>
        <span class="page-sub">Append-only, hash-chained log of every security and trading action</span>
      </div>
      <Show
        when={isAdmin()}
        fallback={
          <Panel title="Audit log" bodyClass="h-list">
            <EmptyState title="Visible to desk admins">
              The audit log of a desk is readable by its admins.
            </EmptyState>
          </Panel>
        }
      >
        <Panel
          title="Audit log"
          flush
          bodyClass="h-audit"
          meta={
            <span style={{ display: 'inline-flex', gap: '8px', 'align-items': 'center' }}>
              <Show when={verification().kind === 'ok' || verification().kind === 'bad'}>
                <span
                  class={`tag ${verification().kind === 'ok' ? 'tag-ok' : 'tag-bad'}`}
                  role="status"
                  aria-live="polite"
                >
                  {(verification() as { text: string }).text}
                </span>
              </Show>
              <button type="button" class="btn" disabled={verification().kind === 'running'} onClick={verify}>
                {verification().kind === 'running' ? 'Verifying…' : 'Verify chain'}
              </button>
            </span>
          }
        >
          <AuditTable limit={100} />
        </Panel>
      </Show>
    </>
  );
}

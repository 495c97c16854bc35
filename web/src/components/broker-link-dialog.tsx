import { For, Show } from 'solid-js';
import { connectionName } from '../lib/broker-status.ts';
import { createFormAction, reauthFailure, showModalWhile } from '../lib/form-action.ts';
import { type RouterOutputs, trpc } from '../lib/trpc.ts';
import { ErrorAlert } from './error-alert.tsx';
import { InputField } from './input-field.tsx';
import { PasswordField } from './password-field.tsx';

type Provider = RouterOutputs['brokers']['providers'][number];
export type Connection = RouterOutputs['brokers']['list'][number];
type Environment = Connection['environment'];

/** What the dialog is asked to do: a new link of one kind, or a relink of a connection. */
export interface LinkRequest {
  readonly provider: Provider;
  readonly kind: 'oauth' | 'api_key' | 'gateway';
  /** Relinking this connection (same id: its orders and history stay with it). */
  readonly relink?: Connection;
}

const KIND_TITLE: Record<LinkRequest['kind'], string> = {
  oauth: 'sign in at the broker',
  api_key: 'API key',
  gateway: 'gateway session',
};

/**
 * Links a broker account. Every kind asks for the person's password first: linking hands the
 * desk's trading to an outside account, and the server requires a fresh re-authentication for
 * it (the same prompt as approvals and the halt). OAuth then leaves the console for the
 * broker's sign-in page; the broker sends the browser back to /oauth/callback/<provider>, which
 * the server ends with a redirect to /brokers?linked=<id>.
 *
 * Secrets typed here (API secret, passphrase) are sent once and never shown again: the fields
 * are password inputs, the browser is told not to save them, and the form is cleared on close.
 */
export function BrokerLinkDialog(props: {
  request: LinkRequest | undefined;
  onClose: () => void;
  onLinked: (connection: Connection) => void;
}) {
  let dialog: HTMLDialogElement | undefined;
  let form: HTMLFormElement | undefined;
  const { pending, error, setError, run } = createFormAction();

  showModalWhile(
    () => dialog,
    () => props.request !== undefined,
    () => {
      setError(undefined);
      form?.reset();
    },
  );

  const environments = (): readonly Environment[] => {
    const r = props.request;
    if (!r) return [];
    return r.relink ? [r.relink.environment] : r.provider.environments;
  };

  const close = () => {
    form?.reset();
    props.onClose();
  };

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const r = props.request;
    if (!r) return;
    const data = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(data.get(name) ?? '');
    const environment: Environment = text('environment') === 'live' ? 'live' : 'paper';
    const label = text('label').trim();
    await run(async () => {
      await trpc.auth.reauthenticate.mutate({ password: text('password') });
      if (r.kind === 'oauth') {
        const started = await trpc.brokers.startLink.mutate({
          provider: r.provider.id,
          environment,
          ...(r.relink ? { connectionId: r.relink.id } : {}),
        });
        // Leave the console for the broker's sign-in; the callback brings the browser back.
        window.location.assign(started.authorizationUrl);
        return;
      }
      const linked =
        r.kind === 'api_key'
          ? await trpc.brokers.linkApiKey.mutate({
              provider: r.provider.id,
              environment,
              ...(label ? { label } : {}),
              apiKey: text('apiKey'),
              apiSecret: text('apiSecret'),
              ...(text('passphrase') ? { passphrase: text('passphrase') } : {}),
            })
          : await trpc.brokers.linkGateway.mutate({
              provider: 'ibkr',
              environment,
              ...(label ? { label } : {}),
              ...(text('accountId').trim() ? { accountId: text('accountId').trim() } : {}),
            });
      form?.reset();
      props.onLinked(linked);
    }, reauthFailure);
  };

  const title = () => {
    const r = props.request;
    if (!r) return '';
    return r.relink
      ? `Relink ${connectionName(r.relink)}`
      : `Link ${r.provider.name} (${KIND_TITLE[r.kind]})`;
  };

  return (
    <dialog
      class="dialog broker-dialog"
      ref={dialog}
      aria-labelledby="broker-link-title"
      onClose={() => props.request && close()}
    >
      <form ref={form} onSubmit={submit} aria-label="Link a broker account" autocomplete="off">
        <div class="dialog-head">
          <h2 id="broker-link-title">{title()}</h2>
        </div>
        <div class="dialog-body auth-form">
          <Show when={props.request}>
            {(r) => (
              <>
                <p class="dim broker-dialog-lead">
                  {r().kind === 'oauth'
                    ? `You will sign in at ${r().provider.name} and come back here. Aegis keeps the broker's tokens encrypted and never shows them.`
                    : r().kind === 'api_key'
                      ? 'The key and secret are stored encrypted and never shown again. Use a key limited to trading (no withdrawals).'
                      : 'The IBKR gateway holds the broker login; Aegis talks to the gateway this server is configured with.'}
                </p>
                <Show when={r().provider.note}>
                  <p class="field-hint broker-dialog-note">{r().provider.note}</p>
                </Show>
                <ErrorAlert message={error()} />
                {/* One environment: stated, not chosen (a disabled input would not be submitted). */}
                <Show
                  when={environments().length > 1}
                  fallback={
                    <div class="broker-env">
                      <span class="broker-env-label">Environment</span>
                      <input type="hidden" name="environment" value={environments()[0] ?? 'paper'} />
                      <span class={`tag ${environments()[0] === 'live' ? 'tag-live' : 'tag-paper'}`}>
                        {environments()[0] ?? 'paper'}
                      </span>
                      <span class="dim">
                        {environments()[0] === 'live' ? 'real money' : 'simulated by the broker'}
                      </span>
                    </div>
                  }
                >
                  <fieldset class="broker-env">
                    <legend>Environment</legend>
                    <For each={environments()}>
                      {(env, i) => (
                        <label class="check">
                          <input type="radio" name="environment" value={env} checked={i() === 0} />
                          <span class={`tag ${env === 'live' ? 'tag-live' : 'tag-paper'}`}>{env}</span>
                          <span class="dim">{env === 'live' ? 'real money' : 'simulated by the broker'}</span>
                        </label>
                      )}
                    </For>
                  </fieldset>
                </Show>
                <Show when={r().kind !== 'oauth'}>
                  <InputField
                    label="Label (optional)"
                    id="broker-label"
                    name="label"
                    maxLength={80}
                    placeholder={r().provider.name}
                  />
                </Show>
                <Show when={r().kind === 'api_key'}>
                  <InputField
                    label="API key"
                    id="broker-api-key"
                    name="apiKey"
                    required
                    maxLength={512}
                    autocomplete="off"
                    spellcheck={false}
                  />
                  <InputField
                    label="API secret"
                    id="broker-api-secret"
                    name="apiSecret"
                    type="password"
                    required
                    maxLength={8192}
                    autocomplete="new-password"
                  />
                  <InputField
                    label="Passphrase (only venues that issue one)"
                    id="broker-passphrase"
                    name="passphrase"
                    type="password"
                    maxLength={512}
                    autocomplete="new-password"
                  />
                </Show>
                <Show when={r().kind === 'gateway'}>
                  <InputField
                    label="Account id (optional: the gateway's first account)"
                    id="broker-account-id"
                    name="accountId"
                    maxLength={32}
                    autocomplete="off"
                  />
                </Show>
                <PasswordField id="broker-password" />
                <div class="dialog-actions">
                  <button type="button" class="btn btn-ghost" onClick={close}>
                    Cancel
                  </button>
                  <button type="submit" class="btn btn-primary" disabled={pending()}>
                    {pending()
                      ? 'Working…'
                      : r().kind === 'oauth'
                        ? `Continue to ${r().provider.name}`
                        : 'Link account'}
                  </button>
                </div>
              </>
            )}
          </Show>
        </div>
      </form>
    </dialog>
  );
}

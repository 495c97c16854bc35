import { createSignal, Show } from 'solid-js';

/**
 * A secret the server returns exactly once (a new API key, a one-time password): shown with a
 * copy button and a plain warning, never stored by the console.
 */
export function SecretOnce(props: { label: string; value: string; note: string; onDismiss: () => void }) {
  const [copied, setCopied] = createSignal(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.value);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div class="secret-once" role="status" aria-live="polite">
      <div class="secret-once-head">
        <strong>{props.label}</strong>
        <span class="dim">{props.note}</span>
      </div>
      <div class="secret-once-row">
        <code class="secret-value" data-testid="secret-value">
          {props.value}
        </code>
        <button type="button" class="btn" onClick={copy}>
          {copied() ? 'Copied' : 'Copy'}
        </button>
        <button type="button" class="btn btn-ghost" onClick={() => props.onDismiss()}>
          Done
        </button>
      </div>
    </div>
  );
}

/** The secret as a row of a flush panel, while there is one to show (`value` undefined: nothing). */
export function PanelSecretOnce(props: {
  label: string;
  value: string | undefined;
  note: string;
  onDismiss: () => void;
}) {
  return (
    <Show when={props.value}>
      {(value) => (
        <div class="panel-body">
          <SecretOnce label={props.label} value={value()} note={props.note} onDismiss={props.onDismiss} />
        </div>
      )}
    </Show>
  );
}

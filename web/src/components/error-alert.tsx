import { type JSX, Show } from 'solid-js';

/** An error for the user (server message or validation), announced to screen readers; nothing when empty. */
export function ErrorAlert(props: {
  message: string | null | undefined;
  id?: string;
  style?: JSX.CSSProperties;
}): JSX.Element {
  return (
    <Show when={props.message}>
      <div class="alert alert-error" role="alert" id={props.id} style={props.style}>
        {props.message}
      </div>
    </Show>
  );
}

/** The same error as a row of a flush panel (padded like the panel's body); nothing when empty. */
export function PanelErrorAlert(props: { message: string | null | undefined }): JSX.Element {
  return (
    <Show when={props.message}>
      <div class="panel-body">
        <ErrorAlert message={props.message} />
      </div>
    </Show>
  );
}

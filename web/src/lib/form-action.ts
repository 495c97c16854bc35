import { type Accessor, createEffect, createSignal, type Setter } from 'solid-js';
import { errorCodeOf, errorMessageOf } from './trpc.ts';

/** The state of one form's submit: pending while it runs, the failure's message after it. */
export interface FormAction {
  readonly pending: Accessor<boolean>;
  readonly error: Accessor<string | undefined>;
  readonly setError: Setter<string | undefined>;
  /**
   * Runs `work` once: clears the last error, marks the form pending until it settles, and keeps
   * the failure's message (`explain` turns the error into words; default the server's message).
   */
  readonly run: (work: () => Promise<void>, explain?: (e: unknown) => string) => Promise<void>;
}

export function createFormAction(): FormAction {
  const [pending, setPending] = createSignal(false);
  const [error, setError] = createSignal<string>();
  const run = async (work: () => Promise<void>, explain: (e: unknown) => string = errorMessageOf) => {
    setPending(true);
    setError(undefined);
    try {
      await work();
    } catch (e) {
      setError(explain(e));
    } finally {
      setPending(false);
    }
  };
  return { pending, error, setError, run };
}

/**
 * The words for a failed action that re-entered the password first: the server answers a wrong
 * password with UNAUTHORIZED, which here means the password, not the session.
 */
export function reauthFailure(e: unknown): string {
  return errorCodeOf(e) === 'UNAUTHORIZED' ? 'Wrong password.' : errorMessageOf(e);
}

/**
 * Shows `dialog` as a modal while `isOpen()` holds, running `onOpen` (clear the last error, reset
 * the form) each time it opens, and closes it when `isOpen()` stops holding.
 */
export function showModalWhile(
  dialog: () => HTMLDialogElement | undefined,
  isOpen: () => boolean,
  onOpen: () => void,
): void {
  createEffect(() => {
    const d = dialog();
    if (isOpen()) {
      onOpen();
      if (!d?.open) d?.showModal();
    } else if (d?.open) d.close();
  });
}

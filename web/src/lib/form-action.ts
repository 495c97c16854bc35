import { type Accessor, createSignal, type Setter } from 'solid-js';
import { errorMessageOf } from './trpc.ts';

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

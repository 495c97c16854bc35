import { InputField } from './input-field.tsx';

/**
 * The person's own password, asked again before an action that changes where the desk's orders
 * go (the server re-authenticates with it). `autocomplete="current-password"` lets a password
 * manager fill it; the field is never pre-filled by the console.
 */
export function PasswordField(props: { id: string; label?: string }) {
  return (
    <InputField
      label={props.label ?? 'Your password'}
      id={props.id}
      name="password"
      type="password"
      required
      autocomplete="current-password"
    />
  );
}

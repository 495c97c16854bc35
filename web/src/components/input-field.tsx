import { type JSX, splitProps } from 'solid-js';

/**
 * A labelled input of a form: the label names the input by its id (`for`), and every other prop
 * (name, type, required, value, aria-*) goes to the input as written.
 */
export function InputField(
  props: { label: JSX.Element; id: string } & JSX.InputHTMLAttributes<HTMLInputElement>,
): JSX.Element {
  const [own, input] = splitProps(props, ['label']);
  return (
    <div class="field">
      <label for={props.id}>{own.label}</label>
      <input {...input} />
    </div>
  );
}

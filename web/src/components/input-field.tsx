import { createRenderEffect, type JSX, splitProps } from 'solid-js';

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

/**
 * A labelled select of a form: as InputField, the options as children. A `value` is set once the
 * options exist (a select ignores a value it has no option for yet), and again when it changes.
 */
export function SelectField(
  props: { label: JSX.Element; id: string } & JSX.SelectHTMLAttributes<HTMLSelectElement>,
): JSX.Element {
  const [own, select] = splitProps(props, ['label', 'children', 'value']);
  let element: HTMLSelectElement | undefined;
  const view = (
    <div class="field">
      <label for={props.id}>{own.label}</label>
      <select ref={element} {...select}>
        {own.children}
      </select>
    </div>
  );
  createRenderEffect(() => {
    const value = own.value;
    if (element && value !== undefined) element.value = String(value);
  });
  return view;
}

/**
 * A select in a bar of controls: its label is for screen readers only (what it picks shows in its
 * options) unless `labelClass` gives it a visible class, and it sits bare beside its neighbours,
 * without the field's wrapper.
 */
export function BarSelect(
  props: {
    label: JSX.Element;
    id: string;
    labelClass?: string;
  } & JSX.SelectHTMLAttributes<HTMLSelectElement>,
): JSX.Element {
  const [own, select] = splitProps(props, ['label', 'labelClass', 'children']);
  return (
    <>
      <label class={own.labelClass ?? 'visually-hidden'} for={props.id}>
        {own.label}
      </label>
      <select {...select}>{own.children}</select>
    </>
  );
}

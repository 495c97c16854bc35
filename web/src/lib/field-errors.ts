import { isTRPCClientError } from './trpc.ts';

/**
 * The server names each invalid input field in `error.data.fields` (server/src/trpc.ts error
 * formatter: path joined with dots). A form shows each message beside its own input: this maps
 * the paths onto the form's field keys (`prefix` strips a wrapper such as `spec.`; `fold` maps an
 * array element like `instruments.2` onto its input `instruments`). Messages whose path matches
 * no field are returned under '' so the form can still show them at the top.
 */
export function fieldErrorsOf(
  error: unknown,
  known: ReadonlySet<string>,
  options: { prefix?: string } = {},
): Record<string, string> {
  if (!isTRPCClientError(error)) return {};
  const fields = (error.data as { fields?: readonly { path: string; message: string }[] | null } | undefined)
    ?.fields;
  const out: Record<string, string> = {};
  for (const f of fields ?? []) {
    let path = f.path;
    if (options.prefix && path.startsWith(options.prefix)) path = path.slice(options.prefix.length);
    // The longest known key that is the path or a dotted prefix of it.
    let key = '';
    for (const k of known) {
      if ((path === k || path.startsWith(`${k}.`)) && k.length > key.length) key = k;
    }
    const message = key === '' && f.path !== '' ? `${f.path}: ${f.message}` : f.message;
    out[key] = out[key] ? `${out[key]}; ${message}` : message;
  }
  return out;
}

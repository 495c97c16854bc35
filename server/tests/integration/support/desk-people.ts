import { type Client, signIn, startTestServer, type TestServer } from '../test-server.ts';

/** A signed-in user: cookie jar, client, current password and user. */
export type SignedIn = Awaited<ReturnType<typeof signIn>>;

type Role = Parameters<Client['users']['create']['mutate']>[0]['role'];

/** A fresh test server and its platform admin, signed in (on the admin's home desk). */
export async function startWithAdmin(
  options?: Parameters<typeof startTestServer>[0],
): Promise<{ ts: TestServer; admin: SignedIn }> {
  const ts = await startTestServer(options);
  return { ts, admin: await signIn(ts.url, ts.admin.email, ts.admin.password) };
}

/** A new member of the caller's current desk; `user.password` is the initial one (changed at first sign-in). */
export function addMember(
  client: Client,
  user: { email: string; password: string },
  displayName: string,
  role: Role,
) {
  return client.users.create.mutate({ email: user.email, displayName, role, initialPassword: user.password });
}

/**
 * addMember, then the member's first sign-in at `url`, the initial password changed to
 * `newPassword` (signIn's default unless given).
 */
export async function signedInMember(
  url: string,
  client: Client,
  user: { email: string; password: string },
  displayName: string,
  role: Role,
  newPassword?: string,
) {
  const created = await addMember(client, user, displayName, role);
  return { created, session: await signIn(url, user.email, user.password, newPassword) };
}

/** Runs `fn` on desk `deskId`, then switches back to `home`, also when `fn` throws. */
export async function onDesk<T>(
  client: Client,
  deskId: string,
  home: string,
  fn: () => Promise<T>,
): Promise<T> {
  await client.auth.switchDesk.mutate({ deskId });
  try {
    return await fn();
  } finally {
    await client.auth.switchDesk.mutate({ deskId: home });
  }
}

/**
 * A new desk named `deskName` with an admin `email` (display name "B", a generated one-time
 * password), signed in at `url`: `client`, a platform admin, creates both and is back on `home`
 * after. For the tests that check another desk's admin sees none of this desk's data.
 */
export async function otherDeskAdmin(
  url: string,
  client: Client,
  home: string,
  deskName: string,
  email: string,
) {
  const desk = await client.desks.create.mutate({ name: deskName });
  const created = await onDesk(client, desk.id, home, () =>
    client.users.create.mutate({ email, displayName: 'B', role: 'admin' }),
  );
  return { deskId: desk.id, session: await signIn(url, email, created.oneTimePassword!) };
}

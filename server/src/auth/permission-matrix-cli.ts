import { formatPermissionMatrix } from './permissions.ts';

/** Prints the permission matrix as Markdown: `node server/src/auth/permission-matrix-cli.ts`. */
console.log(formatPermissionMatrix());

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

/**
 * The packages' dependency direction (README, "Architecture": dependencies point one way), checked
 * over the source: `shared` imports no app; the engine imports nothing of the server; web and
 * scripts import the server's types only (`import type`: erased at build, so no server code runs
 * in them); the server imports nothing of the engine (they meet through Redis Streams and the
 * database). Tests and benchmarks that span packages live at the top level (tests/e2e, bench),
 * outside every package, and so does the single-machine launcher (launcher/): a composition root
 * may import any package.
 *
 * Imports are read with the TypeScript parser, not a regex: static imports and re-exports,
 * side-effect imports, dynamic `import()`, `require()`, `import x = require()` and `import('…')`
 * type nodes, each marked type-only or not. Under `verbatimModuleSyntax` only `import type` /
 * `export type` are erased: `import { type X } from` still loads the module, so it counts as a
 * runtime import.
 */

export const PACKAGES = ['shared', 'engine', 'server', 'web', 'scripts'] as const;
export type Package = (typeof PACKAGES)[number];
/** Where a file or an import lands: a package, the top level (tests/e2e, bench …), or outside the repository. */
export type Place = Package | 'top-level' | 'external';

export interface ImportRef {
  readonly specifier: string;
  /** Erased at build: `import type`, `export type`, an `import('…')` type node. */
  readonly typeOnly: boolean;
  /** 1-based line of the import. */
  readonly line: number;
}

export interface Violation {
  /** Repository-relative path, `/`-separated. */
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly rule: string;
}

interface Rule {
  readonly name: string;
  readonly from: Package;
  readonly to: Package;
  /** Type-only imports are allowed (they carry no code). */
  readonly typesAllowed: boolean;
}

export const RULES: readonly Rule[] = [
  ...(['engine', 'server', 'web', 'scripts'] as const).map((to) => ({
    name: `shared imports no app (${to})`,
    from: 'shared' as const,
    to,
    typesAllowed: false,
  })),
  { name: 'the engine imports nothing of the server', from: 'engine', to: 'server', typesAllowed: false },
  { name: 'the server imports nothing of the engine', from: 'server', to: 'engine', typesAllowed: false },
  { name: "web imports only the server's types", from: 'web', to: 'server', typesAllowed: true },
  { name: "scripts import only the server's types", from: 'scripts', to: 'server', typesAllowed: true },
];

/** Every import of one source file. */
export function importsOf(fileName: string, source: string): ImportRef[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true, scriptKind(fileName));
  const out: ImportRef[] = [];
  const add = (spec: ts.Expression | undefined, typeOnly: boolean, node: ts.Node) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ specifier: spec.text, typeOnly, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly === true, node);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly, node);
    } else if (ts.isImportEqualsDeclaration(node)) {
      const ref = node.moduleReference;
      if (ts.isExternalModuleReference(ref)) add(ref.expression, node.isTypeOnly, node);
    } else if (ts.isImportTypeNode(node)) {
      const arg = node.argument;
      if (ts.isLiteralTypeNode(arg)) add(arg.literal as ts.Expression, true, node);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if ((isDynamicImport || isRequire) && node.arguments.length > 0) add(node.arguments[0], false, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function scriptKind(fileName: string): ts.ScriptKind {
  if (fileName.endsWith('.tsx')) return ts.ScriptKind.TSX;
  if (fileName.endsWith('.jsx')) return ts.ScriptKind.JSX;
  if (/\.[cm]?js$/.test(fileName)) return ts.ScriptKind.JS;
  return ts.ScriptKind.TS;
}

/** The place of a repository-relative path (`engine/src/index.ts` → engine). */
export function placeOfPath(path: string): Place {
  if (path.startsWith('../') || path === '..') return 'external';
  const top = path.split('/')[0] as Package;
  return PACKAGES.includes(top) ? top : 'top-level';
}

/** Where an import of `file` (repository-relative) lands. */
export function placeOfImport(file: string, specifier: string): Place {
  if (specifier.startsWith('.'))
    return placeOfPath(posix.normalize(posix.join(posix.dirname(file), specifier)));
  const scoped = /^@aegis\/([^/]+)/.exec(specifier);
  if (scoped) {
    const name = scoped[1] as Package;
    return PACKAGES.includes(name) ? name : 'external';
  }
  // web's `~/…` alias stays inside web (web/tsconfig.json, vite.config.ts).
  if (specifier.startsWith('~/')) return placeOfPath(file);
  return 'external';
}

/** The rule violations of one file (repository-relative path and its source). */
export function checkFile(file: string, source: string): Violation[] {
  const from = placeOfPath(file);
  if (from === 'top-level' || from === 'external') return [];
  const out: Violation[] = [];
  for (const ref of importsOf(file, source)) {
    const to = placeOfImport(file, ref.specifier);
    const rule = RULES.find((r) => r.from === from && r.to === to);
    if (!rule || (rule.typesAllowed && ref.typeOnly)) continue;
    out.push({ file, line: ref.line, specifier: ref.specifier, rule: rule.name });
  }
  return out;
}

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs|jsx)$/;
/** Folders that hold no source of ours: dependencies, build output, tool state. */
const SKIP = new Set(['node_modules', 'dist', 'build', 'coverage', '.output', '.vinxi', '.nitro', '.solid']);

/** Every source file below `dirs` (repository-relative folders; '' is the whole repository), repository-relative. */
export function sourceFiles(root: string, dirs: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.') || SKIP.has(e.name)) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.isFile() && SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) {
        out.push(relative(root, path).split(sep).join('/'));
      }
    }
  };
  for (const d of dirs) walk(join(root, d));
  return out.sort();
}

/** Every source file of the packages, repository-relative. */
export function packageSources(root: string): string[] {
  return sourceFiles(root, PACKAGES);
}

/** Every violation in the repository at `root`. */
export function checkRepository(root: string): Violation[] {
  return packageSources(root).flatMap((file) => checkFile(file, readFileSync(join(root, file), 'utf8')));
}

/** The repository root (this file is tests/architecture/dependency-direction.ts). */
export const REPOSITORY_ROOT = dirname(dirname(import.meta.dirname));

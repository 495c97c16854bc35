import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importsOf, PACKAGES, type Package, REPOSITORY_ROOT, sourceFiles } from './dependency-direction.ts';

/**
 * Each package's public surface is its `package.json` `exports`: the subpaths other code imports
 * by package name (`@aegis/shared/schemas/order`), each named, no `./*` pattern, so a deep import
 * of any other module fails to resolve (Node, Vite and TypeScript all read `exports`).
 *
 * `node tests/architecture/package-exports.ts` prints the subpaths imported today per package;
 * `--write` sets each package's `exports` to them (keeping the entries already named, whose
 * targets may differ from `./src/<subpath>.ts`).
 */

export interface PackageImport {
  /** Repository-relative path of the importing file. */
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  readonly target: Package;
  /** The `exports` key it needs: `.` or `./sub/path`. */
  readonly subpath: string;
}

/** Every source file of the repository (packages and top level), repository-relative. */
export function repositorySources(root: string): string[] {
  return sourceFiles(root, ['']);
}

/** The imports of one file that name one of our packages (`@aegis/<package>[/<subpath>]`). */
export function packageImportsOf(file: string, source: string): PackageImport[] {
  const out: PackageImport[] = [];
  for (const ref of importsOf(file, source)) {
    const m = /^@aegis\/([^/]+)(\/.+)?$/.exec(ref.specifier);
    if (!m || !PACKAGES.includes(m[1] as Package)) continue;
    out.push({
      file,
      line: ref.line,
      specifier: ref.specifier,
      target: m[1] as Package,
      subpath: m[2] ? `.${m[2]}` : '.',
    });
  }
  return out;
}

export function packageImports(root: string): PackageImport[] {
  return repositorySources(root).flatMap((f) => packageImportsOf(f, readFileSync(join(root, f), 'utf8')));
}

type ExportsMap = Record<string, string>;

function packageJsonPath(root: string, pkg: Package): string {
  return join(root, pkg, 'package.json');
}

/** A package's `exports` as subpath → target (absent: none). */
export function exportsOf(root: string, pkg: Package): ExportsMap {
  const json = JSON.parse(readFileSync(packageJsonPath(root, pkg), 'utf8')) as { exports?: unknown };
  const e = json.exports;
  if (e === undefined) return {};
  if (typeof e === 'string') return { '.': e };
  return e as ExportsMap;
}

/** Imports by package name whose subpath the target's `exports` does not name. */
export function unexportedImports(root: string, imports = packageImports(root)): PackageImport[] {
  const exports = new Map(PACKAGES.map((p) => [p, exportsOf(root, p)] as const));
  return imports.filter((i) => !Object.hasOwn(exports.get(i.target) ?? {}, i.subpath));
}

/** Where a newly named subpath points: `./src/<sub>.ts`, else `./src/<sub>/index.ts`. */
function defaultTarget(root: string, pkg: Package, subpath: string): string {
  const sub = subpath === '.' ? 'index' : subpath.slice(2);
  const file = `./src/${sub}.ts`;
  if (existsSync(join(root, pkg, file))) return file;
  return `./src/${sub}/index.ts`;
}

/** Each package's `exports` as it should be: the entries already named plus every imported subpath. */
export function generatedExports(root: string): Map<Package, ExportsMap> {
  const imports = packageImports(root);
  const out = new Map<Package, ExportsMap>();
  for (const pkg of PACKAGES) {
    const current = exportsOf(root, pkg);
    const keys = new Set(Object.keys(current).filter((k) => !k.includes('*')));
    for (const i of imports) if (i.target === pkg) keys.add(i.subpath);
    const sorted = [...keys].sort((a, b) => (a === '.' ? -1 : b === '.' ? 1 : a.localeCompare(b)));
    out.set(pkg, Object.fromEntries(sorted.map((k) => [k, current[k] ?? defaultTarget(root, pkg, k)])));
  }
  return out;
}

if (import.meta.main) {
  const generated = generatedExports(REPOSITORY_ROOT);
  for (const [pkg, map] of generated) {
    if (!process.argv.includes('--write')) {
      process.stdout.write(`${pkg}: ${JSON.stringify(map, null, 2)}\n`);
      continue;
    }
    const path = packageJsonPath(REPOSITORY_ROOT, pkg);
    const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    json.exports = map;
    writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
  }
}

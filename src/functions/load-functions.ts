import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { LifelineError } from '../errors.js';
import { isOnEventDefinition, ON_EVENTS, type OnEventDefinition } from './create-on-event.js';

/** An event function with the integration and name its path gives it. */
export interface LoadedFunction {
  integration: string;
  name: string;
  definition: OnEventDefinition;
  /** The file it came from, when loaded from a folder. */
  file?: string;
  /** Where the loader's bundle holds it (file and module index), so a worker can run it. */
  bundle?: { file: string; index: number };
}

// The `exec` of each bundled function, keyed to its place in the bundle: a function whose exec
// was replaced (wrapped in code) no longer matches and runs inline.
const bundledExecs = new WeakMap<object, string>();

/**
 * Where `fn` lives in a functions bundle, when a worker can run it: it came from
 * {@link loadFunctions} and its `exec` is still the bundled one. Otherwise `undefined`.
 */
export function bundleOf(fn: LoadedFunction): { file: string; index: number } | undefined {
  const bundle = fn.bundle;
  if (!bundle || bundledExecs.get(fn.definition.exec) !== `${bundle.index}:${bundle.file}`) return undefined;
  return bundle;
}

function loadError(message: string, details?: Record<string, unknown>): LifelineError {
  return new LifelineError('function_load_failed', message, details);
}

// The SDK module that `nango` and `lifeline` resolve to inside user functions: bundled in, so it
// works whatever the user's folder has installed. (`.ts` when lifeline itself runs from source.)
const here = fileURLToPath(import.meta.url);
const SDK_FILE = join(dirname(here), `create-on-event${extname(here)}`);

// Bare imports (like `zod`) resolve from the functions folder first, then from lifeline's own
// dependencies, so a Nango folder with no node_modules of its own still loads.
function ownNodePaths(): string[] {
  const found = createRequire(import.meta.url).resolve('zod');
  const at = found.lastIndexOf(`${sep}node_modules${sep}`);
  return at >= 0 ? [found.slice(0, at + `${sep}node_modules`.length)] : [];
}

const sdkAlias: Plugin = {
  name: 'lifeline-sdk-alias',
  setup(b) {
    b.onResolve({ filter: /^(nango|lifeline)$/ }, () => ({ path: SDK_FILE }));
  },
};

function findIndex(folder: string): string {
  for (const name of ['index.ts', 'index.js', 'index.mts', 'index.mjs']) {
    const file = join(folder, name);
    if (existsSync(file)) return file;
  }
  throw loadError(`no index.ts in the functions folder ${folder}`);
}

/** Integration id and name from a path relative to the folder: `<integration>/…/<name>.ts`. */
export function identify(relativePath: string): { integration: string; name: string } {
  const parts = relativePath.split(/[\\/]/);
  const file = parts.at(-1) ?? '';
  if (parts.length < 2) {
    throw loadError(`${relativePath}: a function file must live under its integration's folder`);
  }
  return { integration: parts[0] as string, name: file.replace(/\.(m?[jt]s|tsx?)$/, '') };
}

/**
 * Loads a Nango-layout functions folder: reads `index.ts`'s imports, compiles them with esbuild
 * (resolving `nango` to lifeline's SDK) and returns each file's default export.
 *
 * @example
 * const functions = await loadFunctions('./integrations');
 * // [{ integration: 'salesforce', name: 'validate-connection', definition: {...} }, ...]
 */
export async function loadFunctions(folder: string): Promise<LoadedFunction[]> {
  const root = resolve(folder);
  const index = findIndex(root);
  const common = {
    bundle: true,
    write: false,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    absWorkingDir: root,
    nodePaths: ownNodePaths(),
    plugins: [sdkAlias],
    logLevel: 'silent' as const,
  };
  let files: string[];
  try {
    const scan = await build({ ...common, entryPoints: [index], metafile: true, outdir: 'out' });
    const entry = scan.metafile.inputs[relative(root, index).split(sep).join('/')];
    files = (entry?.imports ?? []).filter((i) => !i.external).map((i) => resolve(root, i.path));
  } catch (error) {
    throw loadError(`could not compile ${index}: ${(error as Error).message}`);
  }
  if (files.length === 0) return [];

  const lines = files.map((file, i) => `import * as m${i} from ${JSON.stringify(file)};`);
  lines.push(`export default [${files.map((_, i) => `m${i}`).join(', ')}];`);
  let code: string;
  try {
    const bundle = await build({
      ...common,
      stdin: { contents: lines.join('\n'), resolveDir: root, loader: 'js', sourcefile: 'lifeline-functions.js' },
      sourcemap: 'inline',
      // Bundled CommonJS dependencies may require() Node built-ins.
      banner: {
        js: "import { createRequire as __lifelineCreateRequire } from 'node:module'; const require = __lifelineCreateRequire(import.meta.url);",
      },
    });
    code = bundle.outputFiles?.[0]?.text ?? '';
  } catch (error) {
    throw loadError(`could not compile the functions in ${root}: ${(error as Error).message}`);
  }
  const out = writeBundle(code);
  let modules: Array<{ default?: unknown }>;
  try {
    modules = (await import(pathToFileURL(out).href)).default as Array<{ default?: unknown }>;
  } catch (error) {
    throw loadError(`loading the functions in ${root} failed: ${(error as Error).message}`);
  }

  return files.map((file, i) => {
    const rel = relative(root, file);
    const definition = modules[i]?.default;
    if (!isOnEventDefinition(definition)) {
      throw loadError(`${rel}: the default export must be createOnEvent({...})`, { file: rel });
    }
    checkDefinition(definition, rel);
    bundledExecs.set(definition.exec, `${i}:${out}`);
    return { ...identify(rel), definition, file, bundle: { file: out, index: i } };
  });
}

/**
 * Writes the compiled bundle where only this user can write (a per-user directory, mode 0700),
 * atomically (temp file, then rename), named by its content hash; returns its path.
 */
export function writeBundle(code: string): string {
  const dir = join(tmpdir(), `lifeline-functions-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = statSync(dir);
  if ((process.getuid && info.uid !== process.getuid()) || (info.mode & 0o022) !== 0) {
    throw loadError(`${dir} is not private to this user; remove it and try again`);
  }
  const out = join(dir, `${createHash('sha256').update(code).digest('hex').slice(0, 32)}.mjs`);
  if (!existsSync(out) || readFileSync(out, 'utf8') !== code) {
    const temp = `${out}.${process.pid}.${Date.now()}.tmp`;
    writeFileSync(temp, code, { mode: 0o600 });
    renameSync(temp, out);
  }
  return out;
}

/** Checks a definition's fields; returns it unchanged. */
export function checkDefinition(definition: OnEventDefinition, where: string): OnEventDefinition {
  if (!ON_EVENTS.includes(definition.event)) {
    throw loadError(`${where}: event must be one of ${ON_EVENTS.join(', ')}, not ${String(definition.event)}`);
  }
  if (typeof definition.exec !== 'function') throw loadError(`${where}: exec must be a function`);
  return definition;
}

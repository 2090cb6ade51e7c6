// What `npm run build:cli` (cli/build.ts) changes in the packages it bundles into dist/cli/serve.js,
// each to take work off every `herald serve` start that the server does not need to answer
// (bench/startup.ts measures the start; test/cli/start-up.test.ts checks what each one keeps).
// Every change names the exact text it replaces and fails the build when that text is gone, so a
// package update cannot silently undo it or apply it to code it was not written for. Node.
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Plugin } from 'rolldown';

const SEP = path.sep;

/** `code` with `text` replaced by `by`; the build fails, naming the file and the plugin to redo, when `text` is gone. */
function replaceExactly(code: string, text: string, by: string, file: string, plugin: string): string {
  if (!code.includes(text)) throw new Error(`build:cli: ${file} no longer has \`${text}\`: drop or redo ${plugin}`);
  return code.replace(text, by);
}

/**
 * mime-types (Express's, for res.type and static files) loads all of mime-db (~2,500 types, a
 * ~200 KB object literal) and builds its extension → type maps from it, scoring every conflict:
 * ~8 ms of every start for the scoring, ~7 more for compiling, evaluating and collecting the
 * literal (bench/startup.ts; an import of the bundle alone went from 49 to 41 ms). In the
 * bundle, the maps are the ones the very same mime-types computes here, at build time, parsed from
 * JSON, and its `db` keeps only what it still reads once the maps are made: each type's charset.
 * Every lookup answers exactly as before (test/cli/start-up.test.ts compares them all).
 */
export function mimeTablesPrecomputed(root: string): Plugin {
  const { file, transform } = precomputedMimeTypes(root);
  return {
    name: 'herald-mime-tables-precomputed',
    transform(code, id) {
      return id === file ? { code: transform(code), map: null } : null;
    },
  };
}

/** The file of mime-types the bundle takes, and what build:cli makes of its source. */
export function precomputedMimeTypes(root: string): { file: string; transform(code: string): string } {
  const fromRoot = createRequire(path.join(root, 'package.json'));
  const file = fromRoot.resolve('mime-types');
  const fromMimeTypes = createRequire(file);
  const replace = (code: string, text: string, by: string) => replaceExactly(code, text, by, file, 'herald-mime-tables-precomputed');
  return {
    file,
    transform(code) {
      const mime = fromRoot('mime-types') as { types: object; extensions: object; _extensionConflicts: unknown[] };
      const db = fromMimeTypes('mime-db') as Record<string, { charset?: string }>;
      const charsets: Record<string, { charset: string }> = {};
      for (const [type, entry] of Object.entries(db)) if (entry.charset !== undefined) charsets[type] = { charset: entry.charset };
      // JSON.parse of a string literal: V8 parses JSON several times faster than the same object as code.
      const json = (value: unknown) => `JSON.parse(${JSON.stringify(JSON.stringify(value))})`;
      let out = replace(code, "var db = require('mime-db')", `var db = ${json(charsets)}`);
      out = replace(
        out,
        'populateMaps(exports.extensions, exports.types)',
        [
          `Object.assign(exports.extensions, ${json(mime.extensions)})`,
          `Object.assign(exports.types, ${json(mime.types)})`,
          `exports._extensionConflicts.push.apply(exports._extensionConflicts, ${json(mime._extensionConflicts)})`,
        ].join('\n'),
      );
      return out;
    },
  };
}

/** Node's modules the bundled packages get on first use instead of at start (what each costs: see onFirstUse). */
const BUILTINS_ON_FIRST_USE = ['crypto', 'zlib'] as const;
/**
 * Packages the bundle leaves in node_modules, loaded from there on first use: Express requires
 * them at load for work Herald never asks of it. qs parses "extended" query strings and
 * urlencoded bodies (Herald reads queries with Express's "simple" parser, node:querystring, and
 * takes no urlencoded body), and brings side-channel, object-inspect, get-intrinsic and a dozen
 * more; iconv-lite decodes bodies in charsets other than UTF-8 (Herald reads its bodies as bytes).
 * ~225 KB of the bundle's source and ~9 ms of every start (bench/startup.ts). The stand-in requires
 * the package from the bundle's folder: where npm nested a copy that the requiring package would
 * find and the bundle would not, that package keeps its require and the bundle holds the copy.
 */
export const PACKAGES_ON_FIRST_USE = ['qs', 'iconv-lite'] as const;
const FIRST_USE_PREFIX = '\0herald-on-first-use:';

/**
 * node:crypto (~9 ms to load) and node:zlib (~6 ms) are required at load by packages Express
 * loads, for work Herald's server seldom or never asks of them: etag hashes bodies (Herald turns
 * ETags off), cookie-signature signs cookies (Herald sets none), body-parser inflates compressed
 * bodies (Herald's webhook route reads them with inflate: false); so are the packages in
 * PACKAGES_ON_FIRST_USE. In the bundle, each such `require` gives an object that loads the module
 * the first time a property of it is read (Node's module, or the package from node_modules, as an
 * unbundled require would), and stands for it from then on. body-parser also asked, at load,
 * whether zlib has zstd: it asks when it meets a zstd body. Herald's own code takes node:crypto
 * where it uses it (server/lazy.ts).
 */
export function onFirstUse(root: string): Plugin {
  const names = [...BUILTINS_ON_FIRST_USE.map((name) => `(?:node:)?${name}`), ...PACKAGES_ON_FIRST_USE].join('|');
  const requirePattern = new RegExp(`require\\((['"])(${names})\\1\\)`, 'g');
  const fromRoot = createRequire(path.join(root, 'package.json'));
  const fromBundle = createRequire(path.join(root, 'dist', 'cli', 'serve.js'));
  /** Whether the bundle, requiring `name` from dist/cli, gets the very file `importer` would. */
  const sameFromBundle = (name: string, importer: string) => {
    try {
      return fromBundle.resolve(name) === createRequire(importer).resolve(name);
    } catch {
      return false;
    }
  };
  const isPackage = (name: string) => (PACKAGES_ON_FIRST_USE as readonly string[]).includes(name);
  for (const name of PACKAGES_ON_FIRST_USE) {
    // The stand-in is an object: a package that exported a function could not be called through it.
    if (typeof fromRoot(name) !== 'object')
      throw new Error(`build:cli: ${name} no longer exports an object: drop it from PACKAGES_ON_FIRST_USE`);
  }
  const zstd = {
    file: `${SEP}node_modules${SEP}body-parser${SEP}lib${SEP}read.js`,
    check: "const hasZstandardSupport = 'createZstdDecompress' in zlib",
    use: 'if (hasZstandardSupport) {',
  };
  return {
    name: 'herald-on-first-use',
    resolveId(source, importer) {
      if (source.startsWith(FIRST_USE_PREFIX)) return source;
      // Required by the stand-in only, from node_modules, when first used.
      if (isPackage(source) && importer?.startsWith(FIRST_USE_PREFIX)) return { id: source, external: true };
      return null;
    },
    load(id) {
      if (!id.startsWith(FIRST_USE_PREFIX)) return null;
      const name = id.slice(FIRST_USE_PREFIX.length);
      const loader = isPackage(name) ? `require(${JSON.stringify(name)})` : `process.getBuiltinModule(${JSON.stringify(`node:${name}`)})`;
      return {
        moduleType: 'js',
        code: [
          'let loaded;',
          `const real = () => (loaded ??= ${loader});`,
          'module.exports = new Proxy({}, {',
          '  get: (_, key) => Reflect.get(real(), key),',
          '  set: (_, key, value) => Reflect.set(real(), key, value),',
          '  has: (_, key) => Reflect.has(real(), key),',
          '  ownKeys: () => Reflect.ownKeys(real()),',
          '  getOwnPropertyDescriptor: (_, key) => {',
          '    const own = Reflect.getOwnPropertyDescriptor(real(), key);',
          '    return own && { ...own, configurable: true };',
          '  },',
          '});',
          '',
        ].join('\n'),
      };
    },
    transform(code, id) {
      if (!id.includes(`${SEP}node_modules${SEP}`)) return null;
      let out = code;
      if (id.endsWith(zstd.file)) {
        out = replaceExactly(out, zstd.check, '', id, 'herald-on-first-use');
        out = replaceExactly(out, zstd.use, "if ('createZstdDecompress' in zlib) {", id, 'herald-on-first-use');
      }
      out = out.replace(requirePattern, (call: string, _quote: string, name: string) =>
        isPackage(name) && !sameFromBundle(name, id) ? call : `require(${JSON.stringify(FIRST_USE_PREFIX + name.replace(/^node:/, ''))})`,
      );
      return out === code ? null : { code: out, map: null };
    },
  };
}

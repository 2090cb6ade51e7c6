// Preloaded (node --require) into @doyensec/electronegativity by electronegativity.test.ts:
//  1. Its TypeScript parser (@typescript-eslint/typescript-estree, hoisted) would load the
//     project's TypeScript 7, which has no JavaScript API; give it electronegativity's own TS 4.
//  2. It fetches translations from GitHub with `got`, whose retry then crashes the process offline
//     (sometimes before the report is written). Answer that request with an immediate failure:
//     the tool falls back to its bundled English texts, and nothing leaves the machine.
const Module = require('node:module');
const path = require('node:path');

const tool = path.dirname(require.resolve('@doyensec/electronegativity/package.json'));
const ownTypescript = path.join(tool, 'node_modules', 'typescript');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === 'typescript') return resolve.call(this, ownTypescript, parent, ...rest);
  return resolve.call(this, request, parent, ...rest);
};
const load = Module._load;
Module._load = function (request, parent, ...rest) {
  if (request === 'got' && parent && parent.filename && parent.filename.startsWith(tool)) {
    return () => Promise.reject(new Error('offline: no network for electronegativity in tests'));
  }
  return load.call(this, request, parent, ...rest);
};

// 3. With -o (the report file this test reads) the tool prints nothing about files it could not
//    parse or check: it skips them and reports nothing wrong in them. Record every such file in
//    the file named by HERALD_ELECTRONEGATIVITY_ERRORS (one JSON line each), so the test fails on it.
const errorsFile = process.env.HERALD_ELECTRONEGATIVITY_ERRORS;
if (errorsFile) {
  const fs = require('node:fs');
  const note = (file, stage, err) =>
    fs.appendFileSync(errorsFile, `${JSON.stringify({ file, stage, message: String((err && err.message) || err) })}\n`);
  const { Parser } = require(path.join(tool, 'dist', 'parser', 'parser.js'));
  const parse = Parser.prototype.parse;
  Parser.prototype.parse = function (file, ...rest) {
    try {
      return parse.call(this, file, ...rest);
    } catch (err) {
      note(file, 'parse', err);
      throw err;
    }
  };
  const { Finder } = require(path.join(tool, 'dist', 'finder', 'finder.js'));
  const find = Finder.prototype.find;
  Finder.prototype.find = async function (file, ...rest) {
    try {
      return await find.call(this, file, ...rest);
    } catch (err) {
      note(file, 'check', err);
      throw err;
    }
  };
}

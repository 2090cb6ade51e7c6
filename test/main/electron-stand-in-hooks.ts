// `node --import ./electron-stand-in-hooks.ts <packed main>`: every `import … from 'electron'` (the
// app's and electron-store's) resolves to the recording stand-in. module.registerHooks: Node ≥ 22.15.
import module from 'node:module';

const standIn = new URL('./electron-stand-in.ts', import.meta.url).href;

module.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier === 'electron') return { url: standIn, shortCircuit: true };
    return nextResolve(specifier, context);
  },
});

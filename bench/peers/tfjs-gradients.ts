// Registers TensorFlow.js's own gradient functions.
//
// The npm package @tensorflow/tfjs-core resolves (in Node) to its CommonJS bundle
// dist/tf-core.node.js, which holds the ops and the autodiff engine but NOT the gradient
// definitions: those are registered by the union package @tensorflow/tfjs (through
// '@tensorflow/tfjs-core/dist/register_all_gradients'), which this repository does not install.
// tfjs-core ships them only as ES modules with extensionless relative imports ('./ops/mul'),
// which Node cannot load as-is. We load that file with a temporary synchronous resolve hook that
// adds the '.js'. The gradient functions then run on the same engine, kernel registry and
// gradient registry as the bundle: tfjs keeps those on globalThis (_tfengine, _tfGlobals)
// precisely so that several copies of tfjs-core cooperate. The gradient code is tfjs's own,
// unmodified: exactly what a user of @tensorflow/tfjs gets.

import { createRequire, registerHooks } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';

let done = false;

export async function registerTfjsGradients(): Promise<void> {
  if (done) return;
  const require = createRequire(import.meta.url);
  const distDir = dirname(require.resolve('@tensorflow/tfjs-core')); // .../tfjs-core/dist
  const distUrl = pathToFileURL(distDir + '/').href;
  const hooks = registerHooks({
    resolve(specifier, context, next) {
      if (context.parentURL?.startsWith(distUrl) && (specifier.startsWith('./') || specifier.startsWith('../')) && !/\.(c|m)?js$/.test(specifier)) {
        const u = new URL(specifier, context.parentURL);
        const p = fileURLToPath(u);
        if (existsSync(p + '.js')) return { url: u.href + '.js', format: 'module', shortCircuit: true };
        if (existsSync(p + '/index.js')) return { url: u.href + '/index.js', format: 'module', shortCircuit: true };
      }
      return next(specifier, context);
    },
    load(url, context, next) {
      // tfjs-core's package.json has no "type": "module": tell Node these dist files are ESM.
      if (url.startsWith(distUrl) && url.endsWith('.js')) return { ...next(url, { ...context, format: 'module' }), format: 'module' };
      return next(url, context);
    },
  });
  try {
    await import(distUrl + 'register_all_gradients.js');
  } finally {
    hooks.deregister();
  }
  // Sanity check: the gradient registry seen by the bundle now has entries.
  for (const k of ['BatchMatMul', 'Relu', 'Softmax', 'Neg']) {
    if (tf.getGradient(k) == null) throw new Error(`tfjs gradient for ${k} still not registered`);
  }
  done = true;
}

// Module hooks for the one-process suite (test/all.test.ts registers them): a test file's
// `import ... from 'node:test'` resolves to test/harness/node-test.ts, which records the file's
// top-level describe/it/before/after calls so the entry can replay them inside that file's own suite.
// The hooks thread loads this file through the hooks registered before it (tsx's), hence TypeScript.
import type { ResolveHook } from 'node:module';

let shimUrl = '';
let projectUrl = '';

export function initialize(data: { shimUrl: string; projectUrl: string }): void {
  shimUrl = data.shimUrl;
  projectUrl = data.projectUrl;
}

export const resolve: ResolveHook = async (specifier, context, nextResolve) => {
  const parent = context.parentURL;
  if (
    specifier === 'node:test' &&
    parent !== undefined &&
    parent !== shimUrl &&
    parent.startsWith(projectUrl) &&
    !parent.includes('/node_modules/')
  ) {
    return { url: shimUrl, shortCircuit: true };
  }
  return nextResolve(specifier, context);
};

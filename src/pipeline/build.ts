/**
 * Assembles a route's pipeline from its compiled policies: phases in order,
 * global policies before the route's own within a phase, config order
 * otherwise, consecutive authentication methods grouped so any one may succeed.
 */
import type { Consumer } from './context.js';
import { PHASES, type Phase } from './policy.js';
import type { CompiledPipeline, CompiledStep, Stage } from './run.js';

export interface PlacedStep extends CompiledStep {
  readonly phase: Phase;
}

/** `ownedCookies`: the snapshot's list of cookies no upstream sees (shared by its routes, complete once it compiled). */
export function buildPipeline(global: readonly PlacedStep[], own: readonly PlacedStep[], anonymous?: Consumer, ownedCookies: readonly string[] = []): CompiledPipeline {
  const steps: PlacedStep[] = [];
  for (const phase of PHASES) {
    for (const step of global) if (step.phase === phase) steps.push(step);
    for (const step of own) if (step.phase === phase) steps.push(step);
  }
  const stages: Stage[] = [];
  let i = 0;
  while (i < steps.length) {
    const step = steps[i]!;
    if (step.phase === 'authenticate') {
      const group: CompiledStep[] = [];
      while (i < steps.length && steps[i]!.phase === 'authenticate') group.push(steps[i++]!);
      stages.push({ kind: 'authenticate', steps: group, anonymous, end: i });
    } else {
      i++;
      stages.push({ kind: 'policy', step, end: i });
    }
  }
  return {
    stages,
    steps,
    hasResponseHooks: steps.some((s) => s.instance.onResponse ?? s.instance.onResponseAsync),
    hasAsyncResponseHooks: steps.some((s) => s.instance.onResponseAsync),
    hasLogHooks: steps.some((s) => s.instance.onLog),
    hasBodyFilters: steps.some((s) => s.instance.requestBody ?? s.instance.responseBody),
    hasResponseInspectors: steps.some((s) => s.instance.inspectResponse),
    ownedCookies,
    keptCookies: [...new Set(steps.flatMap((s) => s.instance.keptCookies ?? []))],
  };
}

export const emptyPipeline: CompiledPipeline = buildPipeline([], []);

/** Awaits every policy's `ready` hook once (global policies are shared by every route). */
export async function preparePipelines(pipelines: Iterable<CompiledPipeline>): Promise<void> {
  const seen = new Set<CompiledStep['instance']>();
  const waits: Promise<void>[] = [];
  for (const pipeline of pipelines) {
    for (const step of pipeline.steps) {
      if (!step.instance.ready || seen.has(step.instance)) continue;
      seen.add(step.instance);
      waits.push(step.instance.ready());
    }
  }
  await Promise.all(waits);
}

/** What keeps these pipelines from serving (each policy's `readiness` hook, once per instance); empty when nothing does. */
export function pipelinesNotReady(pipelines: Iterable<CompiledPipeline>): string[] {
  const seen = new Set<CompiledStep['instance']>();
  const reasons = new Set<string>();
  for (const pipeline of pipelines) {
    for (const step of pipeline.steps) {
      if (!step.instance.readiness || seen.has(step.instance)) continue;
      seen.add(step.instance);
      const reason = step.instance.readiness();
      if (reason !== undefined) reasons.add(reason);
    }
  }
  return [...reasons];
}

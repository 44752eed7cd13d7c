/**
 * Services that run code instead of proxying to targets: the settings a
 * service of each type must have, and the pipeline step that answers for it
 * (the route's last step).
 */
import type { ConfigPath } from '../config/errors.js';
import type { ServiceConfig } from '../config/schema.js';
import type { PlacedStep } from '../pipeline/build.js';
import type { CompiledFunctions } from './registry.js';
import { functionServiceStep } from './service.js';
import { LambdaInvoker } from './lambda/invoke.js';

type Report = (path: ConfigPath, message: string) => void;

/** Settings only an http service takes: a function or Lambda service that names one is refused, not silently ignored. */
const HTTP_ONLY = ['targets', 'health', 'breaker', 'tls'] as const;

export function terminalStep(service: ServiceConfig, base: ConfigPath, functions: CompiledFunctions, env: NodeJS.ProcessEnv, report: Report): PlacedStep | undefined {
  if (service.type === 'http') {
    if (!service.targets) report([...base], `service "${service.name}" needs targets (or a type: function or aws-lambda)`);
    if (service.function !== undefined) report([...base, 'function'], 'function is for services of type function');
    if (service.lambda !== undefined) report([...base, 'lambda'], 'lambda is for services of type aws-lambda');
    return undefined;
  }
  for (const key of HTTP_ONLY) {
    const value = service[key] as unknown;
    if (value !== undefined && !(key === 'health' && Object.keys(value as object).length === 0)) report([...base, key], `${key} is for http services, not ${service.type}`);
  }
  if (service.type === 'function') {
    if (service.lambda !== undefined) report([...base, 'lambda'], 'lambda is for services of type aws-lambda');
    if (service.function === undefined) {
      report(base, `service "${service.name}" of type function needs function: the name of one of functions`);
      return undefined;
    }
    const fn = functions.get(service.function);
    if (!fn) {
      const known = functions.names;
      report([...base, 'function'], `no function named "${service.function}"${known.length ? ` (functions: ${known.join(', ')})` : ''}`);
      return undefined;
    }
    return functionServiceStep(fn);
  }
  if (service.function !== undefined) report([...base, 'function'], 'function is for services of type function');
  const lambda = service.lambda;
  if (!lambda) {
    report(base, `service "${service.name}" of type aws-lambda needs lambda: function_name and region`);
    return undefined;
  }
  if (lambda.credentials.source === 'assume-role' && !lambda.credentials.role_arn) {
    report([...base, 'lambda', 'credentials', 'role_arn'], 'assume-role needs role_arn');
    return undefined;
  }
  return new LambdaInvoker(service.name, lambda, env).step();
}

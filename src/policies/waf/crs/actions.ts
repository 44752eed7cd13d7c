/**
 * The actions that change the transaction: setvar on TX (and the other
 * per-request collections) and ctl, which changes the rules for this request
 * only (rule and target removal, the body processor, the engine mode).
 */
import type { Ctl, Rule, SetVar } from './model.js';
import { Transaction } from './transaction.js';

function toInt(s: string): number {
  const n = parseInt(s, 10);
  return Number.isFinite(n) ? n : 0;
}

const LOWER = Symbol('lowerName');

/** A TX setvar whose name holds no macro: its key lower-cased once (64 setvars run on a GET at paranoia 1). */
function constantKey(sv: SetVar): string | null {
  const holder = sv as SetVar & { [LOWER]?: string | null };
  let key = holder[LOWER];
  if (key === undefined) holder[LOWER] = key = sv.collection === 'tx' && sv.name.indexOf('%{') === -1 ? sv.name.toLowerCase() : null;
  return key;
}

export function applySetVar(tx: Transaction, sv: SetVar): void {
  const key = constantKey(sv);
  if (key !== null) {
    if (sv.op === 'delete') {
      tx.vars.delete(key);
      return;
    }
    const value = tx.expand(sv.value);
    if (sv.op === '=') {
      tx.vars.setLower(key, sv.name, value);
      return;
    }
    const current = toInt(tx.vars.getLower(key) ?? '0');
    tx.vars.setLower(key, sv.name, String(sv.op === '+' ? current + toInt(value) : current - toInt(value)));
    return;
  }
  const name = tx.expand(sv.name);
  if (sv.collection !== 'tx') {
    // ip., session., global. ... live as long as the request: the gateway keeps no persistent collections
    if (sv.op === 'delete') return;
    tx.other(sv.collection.toUpperCase()).add(name, tx.expand(sv.value));
    return;
  }
  if (sv.op === 'delete') {
    tx.vars.delete(name);
    return;
  }
  const value = tx.expand(sv.value);
  if (sv.op === '=') {
    tx.vars.set(name, value);
    return;
  }
  const current = toInt(tx.vars.get(name) ?? '0');
  tx.vars.set(name, String(sv.op === '+' ? current + toInt(value) : current - toInt(value)));
}

function ids(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(/[\s,]+/).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Math.min(Number(m[2]), a + 100_000);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

export function applyCtl(tx: Transaction, ctl: Ctl, rule: Rule): void {
  const value = tx.expand(ctl.value);
  switch (ctl.name) {
    case 'ruleengine': {
      const v = value.toLowerCase();
      tx.engineMode = v === 'off' ? 'Off' : v === 'detectiononly' ? 'DetectionOnly' : 'On';
      return;
    }
    case 'ruleremovebyid':
      for (const id of ids(value)) tx.removedIds.add(id);
      return;
    case 'ruleremovebytag':
      tx.removedTags.push(value);
      return;
    case 'ruleremovetargetbyid': {
      const [idSpec, target] = splitOnce(value);
      const exclusion = target === undefined ? undefined : Transaction.exclusionOf(target);
      if (!exclusion) return;
      for (const id of ids(idSpec)) {
        const list = tx.removedTargets.get(id);
        if (list) list.push(exclusion);
        else tx.removedTargets.set(id, [exclusion]);
      }
      return;
    }
    case 'ruleremovetargetbytag': {
      const [tag, target] = splitOnce(value);
      const exclusion = target === undefined ? undefined : Transaction.exclusionOf(target);
      if (exclusion) tx.removedTargetsByTag.push({ tag, exclusion });
      return;
    }
    case 'requestbodyprocessor':
      tx.bodyProcessor = value.toUpperCase();
      return;
    case 'forcerequestbodyvariable':
      tx.forceBodyVariable = value.toLowerCase() === 'on';
      return;
    default:
      // audit log, debug log, body access and limits: the gateway's own config governs these
      void rule;
  }
}

function splitOnce(value: string): [string, string | undefined] {
  const i = value.indexOf(';');
  return i === -1 ? [value, undefined] : [value.slice(0, i), value.slice(i + 1)];
}

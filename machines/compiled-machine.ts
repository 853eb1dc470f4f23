/**
 * A machine definition compiled, at module load, into a lookup table that appends and replay
 * step (`connection-fold.ts`): (leaf state,
 * event type) → the ordered candidate transitions, each with its guard, its effects (exit actions,
 * the transition's actions, entry actions and invoked services of the states entered) and the leaf
 * it lands in; then the eventless (`always`) transitions of the leaf reached.
 *
 * It is the same definition, not a second copy of it: guards and `assign` actions are the
 * machine's own implementations (`machine.implementations`), called as XState calls them. Stepping
 * costs a map lookup and the machine's own functions, where XState's `transition()` costs tens of
 * microseconds per record in its interpreter. XState's semantics are reproduced for the subset the
 * connection machine uses (compound states, targetless and root-level `on` handlers, guarded lists
 * where the first enabled candidate wins, `and`/`or`/`not` guards, `assign`, `spawnChild`,
 * `invoke`, entry and exit actions, targeted `always` transitions); anything else makes
 * {@link compileMachine} throw, so a change to the machine cannot silently make replay diverge.
 * `test/prop/compiled-fold.prop.test.ts` checks the table against XState on random histories.
 *
 * @example
 * const { initial, step } = compiledConnectionMachine;
 * const next = step(initial.state, initial.context, { type: 'CONNECT', ... });
 * next?.state.value; // 'pending' (undefined: the machine does not accept the event there)
 */
import {
  type AnyStateMachine,
  type AnyStateNode,
  type AnyTransitionDefinition,
  and,
  type ContextFrom,
  type EventFromLogic,
  type EventObject,
  initialTransition,
  not,
  or,
  type StateValue,
} from 'xstate';
import { connectionMachine } from './connection-machine.js';

/** A service the machine asked for: an event function to run, by name. */
export interface ServiceRequest {
  src: string;
  id: string;
}

/** A leaf (atomic) state of a compiled machine. */
export interface CompiledState {
  /** The state node's id, e.g. `connection.deleting.cleaning`. */
  readonly id: string;
  /** Its path from the root, e.g. `['deleting', 'cleaning']`. */
  readonly path: readonly string[];
  /** The machine's state value in this state, as XState gives it (a fresh object each time). */
  readonly value: StateValue;
}

/** One candidate of the table: a cell is (leaf, event type or `always`, position in the list). */
export interface CompiledTransition {
  /** `<leaf path> <event type>#<n>`, e.g. `validating VALIDATION_PASSED#1`, or `… always#<n>`. */
  readonly key: string;
}

/** The outcome of one accepted event. */
export interface CompiledStep<TContext> {
  state: CompiledState;
  context: TContext;
  /** Services started (`spawnChild` actions and invocations of the states entered), in order. */
  services: readonly ServiceRequest[];
  /** The candidate the event took, then each eventless transition taken after it. */
  taken: readonly CompiledTransition[];
}

export interface CompiledMachine<TContext, TEvent extends EventObject> {
  /** The machine's initial state and context (as `initialTransition` gives them). */
  readonly initial: { state: CompiledState; context: TContext };
  /** Every leaf state. */
  readonly states: readonly CompiledState[];
  /** Every cell of the table. */
  readonly transitions: readonly CompiledTransition[];
  /**
   * Applies `event` in `state` with `context`. Returns `undefined` when the machine does not
   * accept it (no enabled candidate, or the enabled one has neither target nor actions: what
   * XState's `snapshot.can(event)` answers `false` to).
   */
  step(state: CompiledState, context: TContext, event: TEvent): CompiledStep<TContext> | undefined;
}

type Guard = (context: unknown, event: EventObject) => boolean;
type Update = (context: unknown, event: EventObject) => unknown;

interface Candidate extends CompiledTransition {
  readonly guard: Guard | undefined;
  /** XState's `can()`: a selected transition with no target and no actions is not accepted. */
  readonly accepted: boolean;
  readonly updates: readonly Update[];
  readonly services: readonly ServiceRequest[];
  /** Where it lands; `undefined`: it stays in the same leaf. */
  readonly target: Leaf | undefined;
}

class Leaf implements CompiledState {
  readonly on = new Map<string, Candidate[]>();
  always: Candidate[] = [];
  constructor(
    readonly node: AnyStateNode,
    readonly id: string,
    readonly path: readonly string[],
  ) {}

  get value(): StateValue {
    let value: StateValue = this.path.at(-1) as string;
    for (let i = this.path.length - 2; i >= 0; i--) value = { [this.path[i] as string]: value };
    return value;
  }
}

/** What XState passes to an `assign`'s functions; what replay has no use for (actors) throws. */
class ActionArgs {
  constructor(
    readonly context: unknown,
    readonly event: EventObject,
  ) {}
  get self(): never {
    throw new Error('compiled machine: actions cannot use `self` in replay');
  }
  get system(): never {
    throw new Error('compiled machine: actions cannot use `system` in replay');
  }
  get spawn(): never {
    throw new Error('compiled machine: actions cannot `spawn` in replay');
  }
}

/** The built-in guards' `check` functions, to recognise `and`, `or` and `not`. */
const checkOf = (guard: unknown) => (guard as { check: unknown }).check;
const AND = checkOf(and([]));
const OR = checkOf(or([]));
const NOT = checkOf(not(() => true));

/** Cap on eventless transitions after one event (XState would loop forever). */
const MAX_EVENTLESS = 1000;
const NO_SERVICES: readonly ServiceRequest[] = Object.freeze([]);

class UnsupportedConstruct extends Error {
  constructor(machine: AnyStateMachine, what: string) {
    super(`compiled machine '${machine.id}': ${what} is not supported by the replay compiler`);
  }
}

/**
 * Compiles `machine` into a table. Throws if it uses a construct the compiler does not reproduce
 * exactly (parallel, history or final states, delayed transitions, wildcard or XState-internal
 * event descriptors, multiple targets, `reenter`, targetless `always`, parameterised or unknown
 * guards and actions, built-in actions other than `assign` and `spawnChild`, invoke handlers).
 *
 * @example
 * const table = compileMachine(setup({}).createMachine({ initial: 'a', states: { a: { on: { GO: 'b' } }, b: {} } }));
 * table.step(table.initial.state, table.initial.context, { type: 'GO' })?.state.value; // 'b'
 */
export function compileMachine<TMachine extends AnyStateMachine>(
  machine: TMachine,
): CompiledMachine<ContextFrom<TMachine>, EventFromLogic<TMachine>> {
  const unsupported = (what: string) => new UnsupportedConstruct(machine, what);
  const { guards, actions } = machine.implementations as {
    guards: Record<string, unknown>;
    actions: Record<string, unknown>;
  };

  const compileGuard = (guard: unknown, where: string): Guard => {
    const resolved = typeof guard === 'string' ? guards[guard] : guard;
    if (typeof resolved !== 'function') throw unsupported(`guard ${JSON.stringify(guard)} in ${where}`);
    if (!('check' in resolved)) {
      return (context, event) =>
        (resolved as (args: unknown, params: unknown) => boolean)({ context, event }, undefined);
    }
    const parts = ((resolved as { guards?: unknown[] }).guards ?? []).map((g) => compileGuard(g, where));
    if (resolved.check === AND) return (context, event) => parts.every((g) => g(context, event));
    if (resolved.check === OR) return (context, event) => parts.some((g) => g(context, event));
    if (resolved.check === NOT && parts.length === 1) {
      const [inner] = parts as [Guard];
      return (context, event) => !inner(context, event);
    }
    throw unsupported(`a built-in guard other than and/or/not in ${where}`);
  };

  /** An action's effect on the snapshot: a context update, a service, or none (a custom action). */
  const compileAction = (action: unknown, where: string): Update | ServiceRequest | null => {
    if (typeof action !== 'string' && typeof action !== 'function') {
      throw unsupported(`parameterised action ${JSON.stringify(action)} in ${where}`);
    }
    const resolved = typeof action === 'string' ? actions[action] : action;
    if (typeof resolved !== 'function') throw unsupported(`unimplemented action '${String(action)}' in ${where}`);
    // Custom actions are side effects XState runs when executing, never in a pure transition.
    if (!('resolve' in resolved)) return null;
    const builtin = resolved as unknown as { type: string; assignment?: unknown; src?: unknown; id?: unknown };
    if (builtin.type === 'xstate.assign') return compileAssign(builtin.assignment);
    if (builtin.type === 'xstate.spawnChild' && typeof builtin.src === 'string' && typeof builtin.id === 'string') {
      return { src: builtin.src, id: builtin.id };
    }
    throw unsupported(`action '${builtin.type}' in ${where}`);
  };

  const effectsOf = (list: readonly unknown[], where: string, updates: Update[], services: ServiceRequest[]) => {
    for (const action of list) {
      const effect = compileAction(action, where);
      if (typeof effect === 'function') updates.push(effect);
      else if (effect) services.push(effect);
    }
  };

  // Check every node; collect the leaves.
  const leaves = new Map<AnyStateNode, Leaf>();
  const visit = (node: AnyStateNode) => {
    if (node.type !== 'atomic' && node.type !== 'compound') throw unsupported(`${node.type} state '${node.id}'`);
    if (node.after.length > 0) throw unsupported(`delayed transitions ('after') in '${node.id}'`);
    if (node.type === 'compound' && node.initial.actions.length > 0) {
      throw unsupported(`initial actions in '${node.id}'`);
    }
    for (const def of node.invoke) {
      if (typeof def.src !== 'string') throw unsupported(`an invoke with inline logic in '${node.id}'`);
      if (def.onDone || def.onError || def.onSnapshot) throw unsupported(`invoke handlers in '${node.id}'`);
    }
    for (const [descriptor, list] of node.transitions) {
      if (descriptor.includes('*') || descriptor.startsWith('xstate.')) {
        throw unsupported(`event descriptor '${descriptor}' in '${node.id}'`);
      }
      for (const t of list) checkTransition(t, `'${node.id}' on ${descriptor}`);
    }
    for (const t of node.always ?? []) {
      if (!t.target) throw unsupported(`a targetless 'always' transition in '${node.id}'`);
      checkTransition(t, `'${node.id}' always`);
    }
    if (node.type === 'atomic') leaves.set(node, new Leaf(node, node.id, node.path));
    for (const child of Object.values(node.states) as AnyStateNode[]) visit(child);
  };
  const checkTransition = (t: AnyTransitionDefinition, where: string) => {
    if ((t.target?.length ?? 0) > 1) throw unsupported(`multiple targets in ${where}`);
    if (t.reenter) throw unsupported(`'reenter' in ${where}`);
  };
  if (machine.root.type !== 'compound') throw unsupported(`a root of type ${machine.root.type}`);
  visit(machine.root);

  const leafOf = (node: AnyStateNode): Leaf => {
    let n = node;
    while (n.type === 'compound') n = n.initial.target[0] as AnyStateNode;
    return leaves.get(n) as Leaf;
  };

  /** One candidate as taken from `leaf`: XState's microstep, resolved ahead of time. */
  const compileCandidate = (leaf: Leaf, t: AnyTransitionDefinition, key: string): Candidate => {
    const updates: Update[] = [];
    const services: ServiceRequest[] = [];
    const where = `${key} (declared on '${t.source.id}')`;
    const target = t.target?.[0] as AnyStateNode | undefined;
    if (!target) {
      effectsOf(t.actions, where, updates, services);
    } else {
      const domain = transitionDomain(machine, t.source, target);
      const to = leafOf(target);
      // Exit deepest first, then the transition's actions, then enter outermost first.
      for (const node of ancestorsBelow(leaf.node, domain))
        effectsOf(node.exit, `exit of '${node.id}'`, updates, services);
      effectsOf(t.actions, where, updates, services);
      for (const node of ancestorsBelow(to.node, domain).reverse()) {
        effectsOf(node.entry, `entry of '${node.id}'`, updates, services);
        for (const def of node.invoke) services.push({ src: def.src as string, id: def.id });
      }
    }
    return {
      key,
      guard: t.guard === undefined ? undefined : compileGuard(t.guard, where),
      accepted: target !== undefined || t.actions.length > 0,
      updates,
      services: services.length > 0 ? Object.freeze(services.map((s) => Object.freeze(s))) : NO_SERVICES,
      target: target && leafOf(target),
    };
  };

  const cells: Candidate[] = [];
  for (const leaf of leaves.values()) {
    const chain = [leaf.node, ...ancestorsBelow(leaf.node.parent, undefined)];
    const name = leaf.path.join('.');
    const rows = new Map<string, AnyTransitionDefinition[]>();
    for (const node of chain) {
      for (const [type, list] of node.transitions as Map<string, AnyTransitionDefinition[]>) {
        rows.set(type, [...(rows.get(type) ?? []), ...list]);
      }
    }
    for (const [type, list] of rows) {
      const row = list.map((t, i) => compileCandidate(leaf, t, `${name} ${type}#${i}`));
      leaf.on.set(type, row);
      cells.push(...row);
    }
    leaf.always = chain
      .flatMap((node) => (node.always ?? []) as AnyTransitionDefinition[])
      .map((t, i) => compileCandidate(leaf, t, `${name} always#${i}`));
    cells.push(...leaf.always);
  }

  const [snapshot] = initialTransition(machine as AnyStateMachine) as unknown as [
    { status: string; value: StateValue; context: ContextFrom<TMachine> },
  ];
  if (snapshot.status !== 'active') throw unsupported(`an initial state that is ${snapshot.status}`);
  const initial = { state: leafAt(machine.root, snapshot.value, leaves), context: snapshot.context };

  return {
    initial,
    states: [...leaves.values()],
    transitions: cells,
    step(state, context, event) {
      const leaf = state as Leaf;
      const row = leaf.on.get(event.type);
      if (row === undefined) return undefined;
      const taken = select(row, context, event);
      if (taken === undefined || !taken.accepted) return undefined;
      let next: unknown = apply(taken, context, event);
      let at = taken.target ?? leaf;
      let services = taken.services;
      const path: Candidate[] = [taken];
      for (let eventless = select(at.always, next, event); eventless; eventless = select(at.always, next, event)) {
        if (path.length > MAX_EVENTLESS)
          throw new Error(`compiled machine: eventless transitions in '${at.id}' never settle`);
        next = apply(eventless, next, event);
        at = eventless.target as Leaf;
        if (eventless.services.length > 0) services = [...services, ...eventless.services];
        path.push(eventless);
      }
      return { state: at, context: next as ContextFrom<TMachine>, services, taken: path };
    },
  };
}

/** The first candidate whose guard passes (XState: the innermost state's list first). */
function select(row: readonly Candidate[], context: unknown, event: EventObject): Candidate | undefined {
  for (const candidate of row) if (candidate.guard === undefined || candidate.guard(context, event)) return candidate;
  return undefined;
}

function apply(candidate: Candidate, context: unknown, event: EventObject): unknown {
  let next = context;
  for (const update of candidate.updates) next = update(next, event);
  return next;
}

/** An `assign` as XState resolves it: a partial update merged into a copy of the context. */
function compileAssign(assignment: unknown): Update {
  if (typeof assignment === 'function') {
    return (context, event) => Object.assign({}, context, assignment(new ActionArgs(context, event), undefined));
  }
  const entries = Object.entries(assignment as Record<string, unknown>);
  return (context, event) => {
    const args = new ActionArgs(context, event);
    const partial: Record<string, unknown> = {};
    for (const [key, value] of entries) partial[key] = typeof value === 'function' ? value(args, undefined) : value;
    return Object.assign({}, context, partial);
  };
}

/** `node` and its ancestors strictly below `top` (all of them when `top` is undefined), deepest first. */
function ancestorsBelow(node: AnyStateNode | undefined, top: AnyStateNode | undefined): AnyStateNode[] {
  const nodes: AnyStateNode[] = [];
  for (let n = node; n && n !== top; n = n.parent) nodes.push(n);
  return nodes;
}

function isDescendant(node: AnyStateNode, ancestor: AnyStateNode): boolean {
  for (let n = node.parent; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/**
 * XState's transition domain for a transition without `reenter`: the source itself when the
 * target is the source or inside it, else the nearest ancestor of the target that contains the
 * source (the root at worst). Only states below the domain are exited and entered.
 */
function transitionDomain(machine: AnyStateMachine, source: AnyStateNode, target: AnyStateNode): AnyStateNode {
  if (target === source || isDescendant(target, source)) return source;
  for (let n = target.parent; n; n = n.parent) if (isDescendant(source, n)) return n;
  return machine.root;
}

function leafAt(root: AnyStateNode, value: StateValue, leaves: Map<AnyStateNode, Leaf>): Leaf {
  let node = root;
  let rest: StateValue | undefined = value;
  while (rest !== undefined) {
    const key: string = typeof rest === 'string' ? rest : (Object.keys(rest)[0] as string);
    node = node.states[key] as AnyStateNode;
    rest = typeof rest === 'string' ? undefined : (rest[key] as StateValue | undefined);
  }
  return leaves.get(node) as Leaf;
}

/** The connection machine, compiled once at module load. */
export const compiledConnectionMachine = compileMachine(connectionMachine);

import type { AnyStateMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection-machine.js';

/**
 * Diagrams of the connection machine, generated from the machine itself: Mermaid (what
 * `docs/machine.md` holds), Graphviz DOT, and the JSON definition the Stately editor imports.
 *
 * @example
 * console.log(machineDiagram('mermaid'));
 */
export type DiagramFormat = 'mermaid' | 'dot' | 'json';

interface Edge {
  from: string;
  to: string;
  label: string;
}

interface StateNodeLike {
  id: string;
  key: string;
  initial?: { target: Array<{ id: string }> };
  transitions: Map<string, Array<{ target?: Array<{ id: string }>; guard?: unknown }>>;
  always?: Array<{ target?: Array<{ id: string }>; guard?: unknown }>;
  invoke: Array<{ src: unknown }>;
  states: Record<string, StateNodeLike>;
}

function describeGuard(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  // xstate's and()/or()/not() return functions named after themselves, holding their guards.
  const combined = guard as { name?: string; guards?: unknown[] };
  const parts = (combined.guards ?? []).map(describeGuard);
  if (combined.name === 'and') return parts.join(' and ');
  if (combined.name === 'or') return parts.join(' or ');
  if (combined.name === 'not') return `not ${parts[0]}`;
  return typeof guard === 'function' ? guard.name || 'guard' : String(guard);
}

const nameOf = (id: string) => id.split('.').at(-1) as string;

function edgesOf(node: StateNodeLike, out: Edge[] = []): Edge[] {
  const add = (event: string, t: { target?: Array<{ id: string }>; guard?: unknown }) => {
    for (const target of t.target ?? []) {
      const guard = t.guard === undefined ? '' : ` [${describeGuard(t.guard)}]`;
      out.push({ from: nameOf(node.id), to: nameOf(target.id), label: `${event}${guard}` });
    }
  };
  for (const [event, transitions] of node.transitions) for (const t of transitions) add(event, t);
  for (const t of node.always ?? []) add('always', t);
  for (const child of Object.values(node.states)) edgesOf(child, out);
  return out;
}

function mermaidStates(node: StateNodeLike, indent: string, lines: string[]) {
  for (const child of Object.values(node.states)) {
    const services = child.invoke.map((i) => String(i.src));
    if (services.length > 0) lines.push(`${indent}${child.key}: ${child.key}\\ninvokes ${services.join(', ')}`);
    if (Object.keys(child.states).length > 0) {
      lines.push(`${indent}state ${child.key} {`);
      if (child.initial) lines.push(`${indent}  [*] --> ${nameOf(child.initial.target[0]?.id ?? '')}`);
      mermaidStates(child, `${indent}  `, lines);
      lines.push(`${indent}}`);
    }
  }
}

export function toMermaid(machine: AnyStateMachine = connectionMachine): string {
  const root = machine.root as unknown as StateNodeLike;
  const lines = ['stateDiagram-v2'];
  if (root.initial) lines.push(`  [*] --> ${nameOf(root.initial.target[0]?.id ?? '')}`);
  mermaidStates(root, '  ', lines);
  for (const e of edgesOf(root)) lines.push(`  ${e.from} --> ${e.to}: ${e.label}`);
  return `${lines.join('\n')}\n`;
}

export function toDot(machine: AnyStateMachine = connectionMachine): string {
  const root = machine.root as unknown as StateNodeLike;
  const lines = [`digraph "${root.id}" {`, '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  const declare = (node: StateNodeLike, indent: string) => {
    for (const child of Object.values(node.states)) {
      if (Object.keys(child.states).length > 0) {
        lines.push(`${indent}subgraph "cluster_${child.key}" {`, `${indent}  label="${child.key}";`);
        declare(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        const services = child.invoke.map((i) => String(i.src));
        const label = services.length ? `${child.key}\\ninvokes ${services.join(', ')}` : child.key;
        lines.push(`${indent}"${child.key}" [label="${label}"];`);
      }
    }
  };
  declare(root, '  ');
  if (root.initial) lines.push('  start [shape=point];', `  start -> "${nameOf(root.initial.target[0]?.id ?? '')}";`);
  const leaf = (name: string) => {
    // Edges into a compound state point at its initial child.
    const node = Object.values(root.states).find((s) => s.key === name);
    return node?.initial ? nameOf(node.initial.target[0]?.id ?? name) : name;
  };
  for (const e of edgesOf(root)) lines.push(`  "${leaf(e.from)}" -> "${leaf(e.to)}" [label="${e.label}"];`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The machine's configuration as JSON (actions and guards by name), as the Stately editor imports it. */
export function toStatelyJson(machine: AnyStateMachine = connectionMachine): string {
  return `${JSON.stringify(machine.config, (_key, value) => (typeof value === 'function' ? describeGuard(value) : value), 2)}\n`;
}

export function machineDiagram(format: DiagramFormat, machine: AnyStateMachine = connectionMachine): string {
  switch (format) {
    case 'mermaid':
      return toMermaid(machine);
    case 'dot':
      return toDot(machine);
    case 'json':
      return toStatelyJson(machine);
  }
}

/** The whole of `docs/machine.md`, generated (`npm run docs:machine` writes it; a test checks it). */
export function machineDoc(): string {
  return `# The connection machine

<!-- Generated from machines/connection-machine.ts by \`npm run docs:machine\`. Do not edit by hand: a test fails when this file is stale. -->

Every transition of the connection lifecycle, drawn from the XState machine itself. Guards in
brackets; \`invokes\` names the event functions a state runs (the engine runs them and records
their outcomes). Records such as \`RUN_STARTED\` and \`METADATA_SET\` change the context, not the
state, and are left out. \`lifeline diagram --format dot|json\` prints the same machine for
Graphviz or the Stately editor.

\`\`\`mermaid
${toMermaid().trimEnd()}
\`\`\`
`;
}

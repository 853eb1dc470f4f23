// `npm run docs:machine`: regenerates docs/machine.md from the machine.
import { writeFileSync } from 'node:fs';
import { machineDoc } from '../src/diagram/machine-diagram.js';

writeFileSync(new URL('../docs/machine.md', import.meta.url), machineDoc());
console.log('wrote docs/machine.md');

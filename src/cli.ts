#!/usr/bin/env node
/**
 * The `lifeline` command line. `lifeline --help` lists the commands; docs/reference/cli.md
 * describes them. Exit codes: 0 done, 1 failed, 2 bad usage or input, 3 no such connection,
 * 4 command refused, 5 verify found a mismatch.
 */
import { runCli } from './cli/program.js';

runCli(process.argv).then((code) => {
  process.exitCode = code;
});

#!/usr/bin/env node
import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import{a as s}from"./chunks/chunk-XOKAOISC.js";function o(e,n=24){let t=Number(/^v?(\d+)\./.exec(e)?.[1]);if(Number.isInteger(t)&&t>=n)return;let i=e.startsWith("v")?e:`v${e}`;return`Rollout Guard needs Node.js \u2265 ${n} (this is ${i}); in a checkout after \`npm ci\`, \`npm exec -- node dist/cli.js \u2026\` runs it on the Node.js ${n} that npm installed`}s(o,"nodeVersionProblem");var r=o(process.versions.node);r?(process.stderr.write(`${r}
`),process.exitCode=2):await import("./chunks/cli-main-RVAPKB5Y.js");

import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  execaDocker,
  formatDiagnostics,
  formatVerdictLine,
  isSuccess,
  loadPlan,
  runRelease
} from "./chunks/chunk-ZMTUC4JR.js";
import {
  INPUT_DOCS,
  INPUT_NAMES,
  InputError,
  configFromRaw,
  followErrorLogs,
  loadKubeConfig,
  makeClients,
  removeLeftoverCanary,
  restorePending
} from "./chunks/chunk-2NIVVW3N.js";
import "./chunks/chunk-OJCWM4JT.js";

// src/cli.ts
import { hostname } from "node:os";

// src/cli-args.ts
import { parseArgs } from "node:util";
var COMMANDS = ["deploy", "help", "version"];
var ENV_PREFIX = "ROLLOUT_GUARD_";
var BOOLEAN_INPUTS = new Set(INPUT_NAMES.filter((name) => INPUT_DOCS[name].boolean));
var BOOLEAN_LITERAL = /^(true|false|yes|no|1|0)$/i;
var OPTIONS = {
  ...Object.fromEntries(
    INPUT_NAMES.map((name) => [name, { type: "string", multiple: INPUT_DOCS[name].list === true }])
  ),
  sha: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" }
};
function envName(name) {
  return ENV_PREFIX + name.toUpperCase().replace(/-/g, "_");
}
function parseCliArgs(argv, env) {
  const { values, positionals } = parseStrict(argv);
  if (positionals.length > 1) {
    throw new InputError(`Unexpected argument "${positionals[1]}"; usage: rollout-guard deploy [options]`);
  }
  const first = positionals[0];
  if (first !== void 0 && !COMMANDS.includes(first)) {
    throw new InputError(`Unknown command "${first}"; use one of: ${COMMANDS.join(", ")}`);
  }
  let command = first ?? (values.version ? "version" : "help");
  if (values.help) command = "help";
  const raw = {};
  for (const name of INPUT_NAMES) {
    const value = values[name];
    if (Array.isArray(value)) {
      if (value.length > 0) raw[name] = value.join("\n");
    } else if (typeof value === "string") {
      raw[name] = value;
    } else {
      const fromEnv2 = env[envName(name)];
      if (fromEnv2 !== void 0 && fromEnv2 !== "") raw[name] = fromEnv2;
    }
  }
  const sha = stringValue(values.sha) || env[envName("sha")] || env.GITHUB_SHA || "local";
  const ctx = { sha };
  const fromEnv = [
    ["eventName", env.GITHUB_EVENT_NAME],
    ["ref", env.GITHUB_REF],
    ["repository", env.GITHUB_REPOSITORY],
    ["runId", env.GITHUB_RUN_ID],
    ["actor", env.GITHUB_ACTOR]
  ];
  for (const [key, value] of fromEnv) if (value) ctx[key] = value;
  if (ctx.repository && ctx.runId) {
    ctx.runUrl = `${env.GITHUB_SERVER_URL || "https://github.com"}/${ctx.repository}/actions/runs/${ctx.runId}`;
  }
  return { command, raw, ctx, json: values.json === true };
}
function parseStrict(argv) {
  try {
    return parseArgs({ args: normaliseBooleans(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw cliError(error);
  }
}
function stringValue(value) {
  return typeof value === "string" ? value : void 0;
}
function normaliseBooleans(argv) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? "";
    if (token === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const negated = /^--no-([a-z-]+)(=.*)?$/.exec(token);
    if (negated && BOOLEAN_INPUTS.has(negated[1] ?? "")) {
      if (negated[2] !== void 0) throw new InputError(`Option "--no-${negated[1]}" does not take a value`);
      out.push(`--${negated[1]}=false`);
      continue;
    }
    const bare = /^--([a-z-]+)$/.exec(token);
    if (bare && BOOLEAN_INPUTS.has(bare[1] ?? "")) {
      const next = argv[i + 1];
      if (next !== void 0 && BOOLEAN_LITERAL.test(next)) {
        out.push(`${token}=${next}`);
        i++;
      } else {
        out.push(`${token}=true`);
      }
      continue;
    }
    out.push(token);
  }
  return out;
}
function validOptionNames() {
  return [...Object.keys(OPTIONS), ...[...BOOLEAN_INPUTS].map((name) => `no-${name}`)].map((name) => `--${name}`);
}
function cliError(error) {
  if (error instanceof InputError) return error;
  const code = error.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? "";
    const valid = validOptionNames();
    const guess = closest(flag.replace(/=.*/, ""), valid);
    return new InputError(
      `Unknown option "${flag}".${guess ? ` Did you mean ${guess}?` : ""} Valid options: ${valid.join(", ")}`
    );
  }
  return new InputError(message.split("\n")[0] ?? message);
}
function closest(flag, candidates) {
  let best;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(flag, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
function editDistance(a, b) {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
function cliUsage() {
  const rows = INPUT_NAMES.map((name) => {
    const doc = INPUT_DOCS[name];
    const flag = doc.boolean ? `--${name} / --no-${name}` : `--${name} <${doc.list ? "a,b" : "value"}>`;
    const notes = [
      doc.required ? "required" : void 0,
      doc.default !== void 0 ? `default: ${doc.default}` : void 0,
      doc.list ? "repeatable" : void 0,
      doc.secret ? `prefer env ${envName(name)}: argv is visible to other processes` : void 0
    ].filter((note) => note !== void 0);
    return [flag, `${doc.description}${notes.length > 0 ? ` (${notes.join("; ")})` : ""}`];
  });
  rows.push(
    ["--sha <sha>", 'Commit the release is made from (default: GITHUB_SHA, else "local").'],
    ["--json", "Print the result as one JSON object on stdout."],
    ["-h, --help", "Show this help."],
    ["--version", "Print the version."]
  );
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  return [
    "Usage: rollout-guard deploy [options]",
    "       rollout-guard help | version",
    "",
    "Build and push an image, roll it out to a Kubernetes Deployment at that exact digest, judge the rollout by pod",
    "state and error logs, and roll back when it is bad.",
    "",
    `Options (each also read from the environment as ${ENV_PREFIX}<NAME>, e.g. ${envName("registry-password")}):`,
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
    ""
  ].join("\n");
}

// src/cli.ts
var VERSION = "0.1.0";
var terminalLogger = {
  info: (m) => process.stderr.write(`${m}
`),
  warning: (m) => process.stderr.write(`warning: ${m}
`),
  group: async (name, fn) => {
    process.stderr.write(`\u2500\u2500 ${name}
`);
    return fn();
  }
};
async function main(argv, env) {
  let args;
  try {
    args = parseCliArgs(argv, env);
  } catch (e) {
    process.stderr.write(`${e.message}

${cliUsage()}
`);
    return 2;
  }
  if (args.command === "help") {
    process.stdout.write(`${cliUsage()}
`);
    return 0;
  }
  if (args.command === "version") {
    process.stdout.write(`${VERSION}
`);
    return 0;
  }
  try {
    const raw = configFromRaw(args.raw, args.ctx);
    const kc = loadKubeConfig(raw.kubeconfig, raw.context);
    const config = await loadPlan(
      raw,
      kc.getContexts().map((c) => c.name)
    );
    const clients = makeClients(kc);
    const clientsFor = (context) => makeClients(loadKubeConfig(config.kubeconfig, context));
    let pending;
    let canary;
    let restoring;
    const interrupted = (signal) => {
      terminalLogger.warning(`${signal} received`);
      if (canary) {
        const left = canary;
        restoring = removeLeftoverCanary(
          left.context ? clientsFor(left.context) : clients,
          left,
          terminalLogger
        ).finally(() => process.exit(130));
        return;
      }
      if (!pending) process.exit(130);
      restoring = restorePending(clients, pending, terminalLogger, clientsFor).catch(
        (e) => terminalLogger.warning(`restoring the previous template failed: ${e.message}`)
      ).finally(() => process.exit(130));
    };
    process.once("SIGINT", interrupted);
    process.once("SIGTERM", interrupted);
    const result = await runRelease(config, {
      clients,
      docker: execaDocker(env, (line) => terminalLogger.info(`  ${line}`)),
      log: terminalLogger,
      clientsFor,
      lockHolder: `${hostname()}:${process.pid}`,
      logGate: (ctx) => followErrorLogs({ config, log: terminalLogger, ...ctx }),
      onPatched: (p) => pending = p,
      onSettled: () => pending = void 0,
      onCanary: (c) => canary = c
    });
    process.removeListener("SIGINT", interrupted);
    process.removeListener("SIGTERM", interrupted);
    if (restoring) {
      await restoring;
      return 130;
    }
    for (const line of formatDiagnostics(result)) terminalLogger.info(line);
    terminalLogger.info(formatVerdictLine(result));
    if (args.json) process.stdout.write(`${JSON.stringify(result)}
`);
    return isSuccess(result.result) ? 0 : 1;
  } catch (e) {
    process.stderr.write(`rollout-guard: ${e.message}
`);
    return 2;
  }
}
main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`rollout-guard: ${e.message}
`);
    process.exit(2);
  }
);
export {
  main
};

import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  escapeMarkdown,
  execaDocker,
  formatDiagnostics,
  formatDuration,
  formatVerdictLine,
  isSuccess,
  loadPlan,
  neutraliseWorkflowCommands,
  runRelease
} from "./chunk-ZMTUC4JR.js";
import {
  defaults,
  getOctokit,
  readActionInputs
} from "./chunk-6IVL2L6L.js";
import {
  core_exports,
  group,
  info,
  saveState,
  setOutput,
  warning
} from "./chunk-P5G7GDGT.js";
import {
  CANARY_STATE,
  PENDING_STATE,
  ReleaseFailed,
  followErrorLogs,
  loadKubeConfig,
  makeClients
} from "./chunk-2NIVVW3N.js";
import "./chunk-OJCWM4JT.js";

// src/main.ts
import { hostname } from "node:os";

// src/github/octokit.ts
var REQUEST_TIMEOUT_MS = 15e3;
function createOctokit(token, options = {}) {
  const timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const proxyFetch = defaults.request?.fetch ?? fetch;
  const fetchWithDeadline = (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return proxyFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
  return getOctokit(token, {
    ...options.baseUrl !== void 0 ? { baseUrl: options.baseUrl } : {},
    request: { fetch: fetchWithDeadline }
  });
}
function githubApiWarning(what, permission, error) {
  const status = error?.status;
  const apiMessage = responseMessage(error);
  if ((status === 403 || status === 404) && /Resource not accessible by/i.test(apiMessage)) {
    return `${what}: the token lacks the "${permission}" permission; add \`permissions: { ${permission} }\` to the job (GitHub said ${status} ${apiMessage})`;
  }
  const response = error?.response;
  if (typeof status === "number" && response !== void 0) {
    return `${what}: GitHub answered ${status}${apiMessage ? ` ${apiMessage}` : ""}`;
  }
  const code2 = causeCode(error);
  if (code2 !== void 0) return `${what}: GitHub unreachable (${code2})`;
  return `${what}: ${errorMessage(error)}`;
}
function responseMessage(error) {
  const data = error?.response?.data;
  if (typeof data === "object" && data !== null) {
    const message = data.message;
    if (typeof message === "string") return message.replace(/\s+/g, " ").trim();
  }
  return errorMessage(error).replace(/ - https:\/\/docs\.github\.com\S*$/, "").trim();
}
function errorMessage(error) {
  const message = error?.message;
  return typeof message === "string" ? message : String(error);
}
function causeCode(error) {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === "object" && current !== null; depth++) {
    const code2 = current.code;
    if (typeof code2 === "string") return code2;
    current = current.cause;
  }
  return void 0;
}

// src/github/deployments.ts
var DEPLOYMENTS_PERMISSION = "deployments: write";
var DESCRIPTION_MAX = 140;
async function startDeployment(octokit, params) {
  try {
    const response = await octokit.rest.repos.createDeployment({
      owner: params.owner,
      repo: params.repo,
      ref: params.ref,
      environment: params.environment,
      description: oneLine(params.description),
      auto_merge: params.autoMerge ?? false,
      required_contexts: params.requiredContexts ?? [],
      ...params.transientEnvironment !== void 0 ? { transient_environment: params.transientEnvironment } : {},
      ...params.productionEnvironment !== void 0 ? { production_environment: params.productionEnvironment } : {}
    });
    const id = response.data.id;
    if (typeof id === "number") return { ok: true, id };
    const message = response.data.message;
    return {
      ok: false,
      warning: `GitHub deployment not created: GitHub answered ${response.status}${typeof message === "string" ? ` ${message}` : ""}`
    };
  } catch (error) {
    return { ok: false, warning: githubApiWarning("GitHub deployment not created", DEPLOYMENTS_PERMISSION, error) };
  }
}
async function setDeploymentStatus(octokit, params) {
  try {
    await octokit.rest.repos.createDeploymentStatus({
      owner: params.owner,
      repo: params.repo,
      deployment_id: params.deploymentId,
      state: params.state,
      description: oneLine(params.description),
      ...params.logUrl ? { log_url: params.logUrl } : {},
      ...params.environmentUrl ? { environment_url: params.environmentUrl } : {}
    });
    return void 0;
  } catch (error) {
    return githubApiWarning(`GitHub deployment status "${params.state}" not set`, DEPLOYMENTS_PERMISSION, error);
  }
}
function deploymentStateFor(result, reason) {
  switch (result) {
    case "succeeded":
    case "no-change":
      return "success";
    case "rolled-back":
      return "failure";
    case "failed":
      return reason === "input" || reason === "preflight" || reason === "build" || reason === "cluster" ? "error" : "failure";
    case "dry-run":
      return "inactive";
  }
}
function oneLine(text, max = DESCRIPTION_MAX) {
  const flat = text.replace(/\s+/g, " ").trim();
  const chars = Array.from(flat);
  return chars.length <= max ? flat : `${chars.slice(0, max - 1).join("")}\u2026`;
}

// src/github/status.ts
var STATUSES_PERMISSION = "statuses: write";
async function postCommitStatus(octokit, params) {
  try {
    await octokit.rest.repos.createCommitStatus({
      owner: params.owner,
      repo: params.repo,
      sha: params.sha,
      state: params.state,
      context: params.context,
      description: oneLine(params.description),
      ...params.targetUrl ? { target_url: params.targetUrl } : {}
    });
    return void 0;
  } catch (error) {
    return githubApiWarning(`GitHub commit status "${params.state}" not set`, STATUSES_PERMISSION, error);
  }
}
function commitStatusContext(namespace, deployment) {
  return `rollout-guard/${namespace}/${deployment}`;
}
function commitStateFor(result) {
  switch (result.result) {
    case "succeeded":
    case "no-change":
    case "dry-run":
      return "success";
    case "rolled-back":
      return "failure";
    case "failed":
      return result.reason === "input" || result.reason === "preflight" || result.reason === "cluster" ? "error" : "failure";
  }
}
function commitStatusDescription(result) {
  const head = result.reason !== void 0 ? `${result.result}: ${result.reason}` : result.result;
  return oneLine(result.message ? `${head} \u2014 ${result.message}` : head);
}

// src/github/reporter.ts
function createGitHubReporter(octokit, cfg, target) {
  const { owner, repo } = cfg;
  const context = commitStatusContext(target.namespace, target.deployment);
  const name = `${target.namespace}/${target.deployment}`;
  let deploymentId;
  let deploymentFailed = false;
  const deploymentStatus = async (state, description, environmentUrl) => {
    if (deploymentId === void 0) return void 0;
    return setDeploymentStatus(octokit, {
      owner,
      repo,
      deploymentId,
      state,
      description,
      ...cfg.logUrl ? { logUrl: cfg.logUrl } : {},
      ...environmentUrl ? { environmentUrl } : {}
    });
  };
  const commitStatus = (state, description) => postCommitStatus(octokit, {
    owner,
    repo,
    sha: cfg.sha,
    state,
    context,
    description,
    ...cfg.logUrl ? { targetUrl: cfg.logUrl } : {}
  });
  const warningsOf = (values) => values.filter((value) => value !== void 0);
  return {
    get deploymentId() {
      return deploymentId;
    },
    async start() {
      const warnings = [];
      if (target.recordDeployment && !deploymentFailed && deploymentId === void 0) {
        const created = await startDeployment(octokit, {
          owner,
          repo,
          ref: cfg.sha,
          environment: cfg.environment,
          description: target.description ?? `Rollout Guard: ${name}`
        });
        if (created.ok) {
          deploymentId = created.id;
          warnings.push(await deploymentStatus("pending", `Releasing ${name}`));
        } else {
          deploymentFailed = true;
          warnings.push(created.warning);
        }
      }
      warnings.push(await commitStatus("pending", `Releasing ${name}`));
      return warningsOf(warnings);
    },
    async progress() {
      return warningsOf([await deploymentStatus("in_progress", `Rolling out ${name}`)]);
    },
    async finish(result) {
      const description = commitStatusDescription(result);
      const state = deploymentStateFor(result.result, result.reason);
      return warningsOf([
        // The environment URL only makes sense when the new version is what runs now.
        await deploymentStatus(state, description, state === "success" ? cfg.environmentUrl : void 0),
        await commitStatus(commitStateFor(result), description)
      ]);
    }
  };
}

// src/notify/dingtalk.ts
import { createHmac } from "node:crypto";

// src/notify/verdict.ts
function verdictLine(result) {
  const target = `${result.namespace}/${result.deployment}`;
  switch (result.result) {
    case "succeeded":
      return `\u2705 ${target} released`;
    case "rolled-back":
      return `\u21A9\uFE0F ${target} rolled back`;
    case "failed":
      return result.reason === "rollback-failed" ? `\u{1F6A8} ${target} rollback failed` : `\u274C ${target} failed`;
    case "no-change":
      return `\u23FA\uFE0F ${target} unchanged (image already running)`;
    case "dry-run":
      return `\u{1F9EA} ${target} dry run`;
  }
}
function imageLines(result) {
  if (result.images.length > 0) {
    return result.images.map(
      (change) => `${change.container}${change.init ? " (init)" : ""}: ${change.before} \u2192 ${change.after}`
    );
  }
  if (result.previousImage !== void 0 || result.image !== void 0) {
    return [`${result.previousImage ?? "?"} \u2192 ${result.image ?? "?"}`];
  }
  return [];
}
function reasonLine(result) {
  const parts = [];
  if (result.reason !== void 0) parts.push(result.reason);
  if (result.rollback !== void 0 && result.rollback.outcome !== "disabled") {
    parts.push(
      `rollback ${result.rollback.outcome === "skipped-conflict" ? "skipped (conflict)" : result.rollback.outcome}`
    );
  }
  return parts.length > 0 ? parts.join("; ") : void 0;
}
function detailParts(result) {
  const parts = [];
  if (result.origin.sha) parts.push(`commit ${result.origin.sha.slice(0, 7)}`);
  if (result.revision !== void 0) {
    parts.push(
      result.previousRevision !== void 0 ? `revision ${result.previousRevision} \u2192 ${result.revision}` : `revision ${result.revision}`
    );
  }
  parts.push(`${Math.round(result.durationMs / 1e3)}s`);
  if (result.errors.total > 0) parts.push(`${result.errors.total} error lines`);
  const canary = canaryPart(result);
  if (canary) parts.push(canary);
  if (result.origin.actor) parts.push(`by ${result.origin.actor}`);
  return parts;
}
function truncate(text, max) {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}\u2026`;
}
function canaryPart(result) {
  const c = result.canary;
  if (!c) return void 0;
  const r = (n) => String(Math.round(n * 100) / 100);
  return `canary ${c.object} ${c.verdict}: ${r(c.canary.ratePerPodPerMinute)} vs stable ${r(c.stable.ratePerPodPerMinute)} error lines/pod/min`;
}

// src/notify/dingtalk.ts
function signDingTalkUrl(webhookUrl, secret, timestampMs) {
  const timestamp = String(Math.trunc(timestampMs));
  const sign = createHmac("sha256", secret).update(`${timestamp}
${secret}`, "utf8").digest("base64");
  const separator = webhookUrl.includes("?") ? "&" : "?";
  return `${webhookUrl}${separator}timestamp=${timestamp}&sign=${encodeURIComponent(sign)}`;
}
var MAX_MESSAGE_CHARS = 1e3;
function dingTalkMessage(result, runUrl) {
  const verdict = verdictLine(result);
  const blocks = [`### ${escapeMarkdown(verdict)}`];
  const reason = reasonLine(result);
  if (reason !== void 0) blocks.push(`**Reason:** ${escapeMarkdown(reason)}`);
  if (result.message) blocks.push(escapeMarkdown(truncate(result.message, MAX_MESSAGE_CHARS)));
  const images = imageLines(result);
  if (images.length > 0) {
    blocks.push(["**Image:**", ...images.map((line) => `- ${escapeMarkdown(line)}`)].join("\n"));
  }
  if (result.rollback !== void 0 && result.rollback.outcome !== "disabled" && result.rollback.message) {
    blocks.push(`**Rollback:** ${escapeMarkdown(truncate(result.rollback.message, MAX_MESSAGE_CHARS))}`);
  }
  blocks.push(escapeMarkdown(detailParts(result).join(" \xB7 ")));
  blocks.push(runUrl ? `[Open the run](${markdownUrl(runUrl)}) \xB7 Rollout Guard` : "Rollout Guard");
  return { msgtype: "markdown", markdown: { title: truncate(verdict, 100), text: blocks.join("\n\n") } };
}
function dingTalkReplyError(body) {
  let reply;
  try {
    reply = JSON.parse(body);
  } catch {
    return void 0;
  }
  if (typeof reply !== "object" || reply === null) return void 0;
  const { errcode, errmsg } = reply;
  if (errcode === void 0 || errcode === 0 || errcode === "0") return void 0;
  return `DingTalk refused the message: errcode ${String(errcode)}${typeof errmsg === "string" ? ` (${errmsg})` : ""}`;
}
function markdownUrl(url) {
  return url.replace(/[\s()]/g, (c) => encodeURIComponent(c));
}

// src/notify/slack.ts
var HEADER_MAX = 150;
var SECTION_MAX = 3e3;
var MESSAGE_MAX = 1e3;
function escapeSlack(text) {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function slackLink(url, label) {
  const target = url.replace(/[|<>\s]/g, (c) => encodeURIComponent(c)).replace(/&/g, "&amp;");
  return `<${target}|${escapeSlack(label)}>`;
}
function slackMessage(result, runUrl) {
  const verdict = verdictLine(result);
  const reason = reasonLine(result);
  const blocks = [
    // The verdict is built from DNS-label names and our own words; plain_text shows it literally.
    { type: "header", text: { type: "plain_text", text: truncate(verdict, HEADER_MAX), emoji: true } }
  ];
  const summary = [];
  if (reason !== void 0) summary.push(`*Reason:* ${escapeSlack(reason)}`);
  if (result.message) summary.push(escapeSlack(truncate(result.message, MESSAGE_MAX)));
  if (result.rollback !== void 0 && result.rollback.outcome !== "disabled" && result.rollback.message) {
    summary.push(`*Rollback:* ${escapeSlack(truncate(result.rollback.message, MESSAGE_MAX))}`);
  }
  if (summary.length > 0) {
    blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(summary.join("\n"), SECTION_MAX) } });
  }
  const images = imageLines(result);
  if (images.length > 0) {
    const text = ["*Image*", ...images.map((line) => `\u2022 ${escapeSlack(line)}`)].join("\n");
    blocks.push({ type: "section", text: { type: "mrkdwn", text: truncate(text, SECTION_MAX) } });
  }
  const facts = detailParts(result).map(escapeSlack);
  if (runUrl) facts.push(slackLink(runUrl, "Open the run"));
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: truncate(facts.join(" \xB7 "), SECTION_MAX) }] });
  const fallback = [verdict, reason].filter((part) => part !== void 0).join(": ");
  return { text: escapeSlack(truncate(fallback, SECTION_MAX)), blocks };
}

// src/notify/webhook.ts
var WEBHOOK_EVENT = "rollout-guard.release";
function webhookPayload(result, runUrl) {
  return { event: WEBHOOK_EVENT, result, runUrl: runUrl ?? null };
}

// src/notify/send.ts
var SNIPPET_MAX = 200;
async function postJson(url, body, opts = {}) {
  const fetchFn = opts.fetch ?? fetch;
  const retries = Math.max(0, Math.trunc(opts.retries ?? 3));
  const baseDelayMs = opts.baseDelayMs ?? 500;
  const sleep = opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  const timeoutMs = opts.timeoutMs ?? 1e4;
  const budgetMs = opts.budgetMs ?? 15e3;
  const deadline = Date.now() + budgetMs;
  const secrets = [...urlSecrets(url), ...opts.secrets ?? []];
  const fail = (attempts, problem) => ({
    ok: false,
    attempts,
    error: scrub(
      `POST ${redactUrl(url)} failed: ${problem}${attempts > 1 ? ` (after ${attempts} attempts)` : ""}`,
      secrets
    )
  });
  let json;
  try {
    json = JSON.stringify(body);
  } catch (error) {
    return fail(0, `the message is not JSON (${error.message})`);
  }
  for (let attempt = 1; ; attempt++) {
    let problem;
    let retryable;
    const attemptTimeoutMs = Math.max(1, Math.min(timeoutMs, deadline - Date.now()));
    try {
      const response = await fetchFn(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", accept: "application/json, text/plain, */*" },
        body: json,
        // A redirected POST silently turns into a GET in fetch; a webhook that moved should be reported instead.
        redirect: "manual",
        signal: AbortSignal.timeout(attemptTimeoutMs)
      });
      const text = await response.text();
      if (response.status >= 200 && response.status < 300) {
        const refused = opts.checkReply?.(text);
        if (refused === void 0) return { ok: true, status: response.status, attempts: attempt };
        return fail(attempt, refused);
      }
      problem = `HTTP ${response.status}${snippet(text)}`;
      retryable = response.status >= 500;
    } catch (error) {
      problem = networkProblem(error, attemptTimeoutMs);
      retryable = true;
    }
    if (!retryable || attempt > retries) return fail(attempt, problem);
    const delayMs = baseDelayMs * 2 ** (attempt - 1);
    if (deadline - Date.now() <= delayMs)
      return fail(attempt, `${problem}; no time left for a retry within the ${budgetMs} ms budget`);
    await sleep(delayMs);
  }
}
async function notifyAll(result, cfg, runUrl, deps = {}) {
  const { now = Date.now, ...post } = deps;
  const sends = [];
  const send = async (channel, build) => {
    let url = "";
    let secrets = [];
    try {
      const message = build();
      url = message.url;
      secrets = message.opts?.secrets ?? [];
      const outcome = await postJson(message.url, message.body, { ...post, ...message.opts });
      return outcome.ok ? void 0 : `${channel} notification not sent: ${outcome.error}`;
    } catch (error) {
      const problem = scrub(errorMessage2(error), [...urlSecrets(url), ...secrets]);
      return `${channel} notification not sent: ${problem}`;
    }
  };
  const { dingtalk, slack, webhook } = cfg;
  if (dingtalk !== void 0) {
    sends.push(
      send("DingTalk", () => ({
        url: dingtalk.secret ? signDingTalkUrl(dingtalk.webhook, dingtalk.secret, now()) : dingtalk.webhook,
        body: dingTalkMessage(result, runUrl),
        opts: { checkReply: dingTalkReplyError, secrets: dingtalk.secret ? [dingtalk.secret] : [] }
      }))
    );
  }
  if (slack !== void 0) {
    sends.push(send("Slack", () => ({ url: slack.webhook, body: slackMessage(result, runUrl) })));
  }
  if (webhook !== void 0) {
    sends.push(send("Webhook", () => ({ url: webhook.url, body: webhookPayload(result, runUrl) })));
  }
  const warnings = await Promise.all(sends);
  return warnings.filter((warning2) => warning2 !== void 0);
}
function redactUrl(url) {
  try {
    const parsed = new URL(url);
    const hidden = parsed.pathname !== "/" && parsed.pathname !== "" || parsed.search !== "" || parsed.hash !== "";
    return `${parsed.protocol}//${parsed.host}${hidden ? "/\u2026" : ""}`;
  } catch {
    return "(unparsable URL)";
  }
}
function urlSecrets(url) {
  const secrets = [url];
  try {
    const parsed = new URL(url);
    secrets.push(parsed.href, parsed.pathname + parsed.search, parsed.search, parsed.pathname);
    if (parsed.username) secrets.push(parsed.username);
    if (parsed.password) secrets.push(parsed.password);
    for (const value of parsed.searchParams.values()) secrets.push(value, encodeURIComponent(value));
    for (const segment of parsed.pathname.split("/")) secrets.push(segment, decodeURIComponentSafe(segment));
  } catch {
  }
  return [...new Set(secrets)].filter((secret) => secret.length >= 6).sort((a, b) => b.length - a.length);
}
function scrub(text, secrets) {
  let clean = text;
  for (const secret of secrets) {
    if (secret.length > 0) clean = clean.split(secret).join("***");
  }
  return clean;
}
function snippet(body) {
  const text = body.replace(/\s+/g, " ").trim();
  if (text === "") return "";
  return `: ${text.length > SNIPPET_MAX ? `${text.slice(0, SNIPPET_MAX)}\u2026` : text}`;
}
function networkProblem(error, timeoutMs) {
  const { name, message, cause } = typeof error === "object" && error !== null ? error : {};
  if (name === "TimeoutError" || name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const code2 = typeof cause === "object" && cause !== null ? cause.code : void 0;
  if (typeof code2 === "string") return `network error (${code2})`;
  return `network error (${typeof message === "string" ? message : String(error)})`;
}
function decodeURIComponentSafe(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
function errorMessage2(error) {
  const message = error?.message;
  return typeof message === "string" ? message : String(error);
}

// src/report/outputs.ts
function outputsOf(result) {
  return {
    result: result.result,
    reason: result.reason ?? "",
    image: result.image ?? "",
    digest: result.digest ?? "",
    revision: result.revision ?? "",
    "previous-revision": result.previousRevision ?? "",
    "previous-image": result.previousImage ?? "",
    "error-lines": String(result.errors.total),
    "duration-seconds": String(Math.round(Math.max(0, result.durationMs) / 1e3)),
    workloads: JSON.stringify(
      (result.workloads ?? []).map((w) => ({
        stage: w.stage,
        context: w.context,
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        verdict: w.verdict,
        reason: w.reason,
        message: w.message,
        rollback: w.rollback
      }))
    )
  };
}
function writeOutputs(result, sink) {
  for (const [name, value] of Object.entries(outputsOf(result))) sink.setOutput(name, value);
}
function inputFailureOutputs(durationMs) {
  return {
    result: "failed",
    reason: "input",
    image: "",
    digest: "",
    revision: "",
    "previous-revision": "",
    "previous-image": "",
    "error-lines": "0",
    "duration-seconds": String(Math.round(Math.max(0, durationMs) / 1e3)),
    workloads: "[]"
  };
}

// src/report/markdown.ts
var MAX_CHART_POINTS = 60;
var MAX_PODS = 10;
var MAX_EVENTS = 10;
var LOG_TAIL_LINES = 25;
var MAX_LOG_LINE_CHARS = 1e3;
var ICONS = {
  succeeded: "\u2705",
  "rolled-back": "\u274C",
  failed: "\u274C",
  "no-change": "\u23FA\uFE0F",
  "dry-run": "\u{1F9EA}"
};
var SERIES = [
  { key: "updated", label: "updated", colour: "#0969da", swatch: "\u{1F7E6}" },
  { key: "available", label: "available", colour: "#1a7f37", swatch: "\u{1F7E9}" },
  { key: "errorLines", label: "error lines", colour: "#cf222e", swatch: "\u{1F7E5}" }
];
function renderSummary(result, opts = {}) {
  const blocks = [verdictHeading(result)];
  if (result.message) blocks.push(escapeMarkdown(result.message));
  blocks.push(factsTable(result));
  if ((result.workloads?.length ?? 0) > 1) blocks.push("### Train", trainTable(result));
  if (result.check) blocks.push(...checkBlocks(result.check));
  if (result.canary) blocks.push("### Canary vs stable", canaryBlock(result.canary));
  const phases = phaseTimeline(result.startedMs, result.phases);
  if (phases) blocks.push("### Timeline", phases);
  const chart = renderMermaidChart(result.timeline, result.startedMs);
  if (chart) blocks.push("### Replicas and error lines", chart, legend());
  if (result.diagnostics.length > 0 || result.errors.samples.length > 0) {
    blocks.push("### Diagnostics", ...diagnosticsBlocks(result));
  }
  const runUrl = opts.runUrl ?? result.origin.runUrl;
  if (runUrl) blocks.push(`[Workflow run](${markdownUrl2(runUrl)}) \xB7 Rollout Guard`);
  return blocks.join("\n\n") + "\n";
}
function renderMermaidChart(timeline, startedMs = timeline[0]?.atMs) {
  const points = chartPoints(timeline, startedMs ?? 0);
  if (points.length < 2) return void 0;
  const max = Math.max(1, ...points.flatMap((p) => SERIES.map((s) => p.sample[s.key])));
  const palette = SERIES.map((s) => s.colour).join(",");
  const lines = [
    "```mermaid",
    // The directive only colours the series so the legend below can name them; the chart parses without it.
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`,
    "xychart-beta",
    '  title "Replicas and error lines"',
    // Band labels, not a numeric range: samples are uneven in time, and a range would space them evenly.
    `  x-axis "seconds since start" [${points.map((p) => p.second).join(", ")}]`,
    // From zero, or a flat line at 3 replicas would be drawn as the bottom of the chart.
    `  y-axis "count" 0 --> ${max}`,
    ...SERIES.map((s) => `  line "${s.label}" [${points.map((p) => p.sample[s.key]).join(", ")}]`),
    "```"
  ];
  return lines.join("\n");
}
function chartPoints(timeline, startedMs) {
  const perSecond = [];
  for (const sample of timeline) {
    const second = Math.max(0, Math.round((sample.atMs - startedMs) / 1e3));
    const last = perSecond[perSecond.length - 1];
    if (last && last.second >= second) last.sample = sample;
    else perSecond.push({ second, sample });
  }
  if (perSecond.length <= MAX_CHART_POINTS) return perSecond;
  const step = (perSecond.length - 1) / (MAX_CHART_POINTS - 1);
  return Array.from({ length: MAX_CHART_POINTS }, (_, i) => perSecond[Math.round(i * step)]).filter(
    (p) => p !== void 0
  );
}
function legend() {
  return SERIES.map((s) => `${s.swatch} ${s.label}`).join(" \xB7 ") + " \u2014 x axis: seconds since the release started";
}
function verdictHeading(result) {
  const icon = result.reason === "rollback-failed" ? "\u{1F6A8}" : ICONS[result.result];
  const reason = result.reason !== void 0 ? ` \u2014 ${result.reason}` : "";
  return `## ${icon} ${result.result}${reason}`;
}
function factsTable(result) {
  const rows = [];
  if (result.images.length > 0) {
    for (const change of result.images) {
      const label = `Image ${code(change.container)}${change.init ? " (init)" : ""}`;
      rows.push([label, beforeAfter(change.before, change.after)]);
    }
  } else if (result.image !== void 0 || result.previousImage !== void 0) {
    rows.push(["Image", beforeAfter(result.previousImage, result.image)]);
  }
  if (result.digest) rows.push(["Digest", code(result.digest)]);
  if (result.revision !== void 0 || result.previousRevision !== void 0) {
    rows.push([
      "Revision",
      `${escapeMarkdown(result.previousRevision ?? "?")} \u2192 ${escapeMarkdown(result.revision ?? "?")}`
    ]);
  }
  const last = result.timeline[result.timeline.length - 1];
  if (last) {
    const at = formatDuration(last.atMs - result.startedMs);
    rows.push([
      `Replicas (at +${at})`,
      `${last.updated}/${last.desired} updated, ${last.ready}/${last.desired} ready, ${last.available}/${last.desired} available`
    ]);
  }
  rows.push(["Error lines", errorCell(result)]);
  if (result.dependencies && result.dependencies.length > 0) {
    rows.push(["Dependencies", dependenciesCell(result.dependencies)]);
  }
  if (result.rollback) rows.push(["Rollback", rollbackCell(result.rollback)]);
  const phases = [...result.phases].sort((a, b) => a.startedMs - b.startedMs);
  if (phases.length > 0) {
    rows.push(["Phases", phases.map((p) => `${p.phase} ${formatDuration(p.endedMs - p.startedMs)}`).join(" \xB7 ")]);
  }
  rows.push(["Duration", formatDuration(result.durationMs)]);
  const commit = commitCell(result);
  if (commit) rows.push(["Commit", commit]);
  return [
    `| Deployment | ${code(`${result.namespace}/${result.deployment}`)} |`,
    "| --- | --- |",
    ...rows.map(([k, v]) => `| ${k} | ${v} |`)
  ].join("\n");
}
var WORKLOAD_ICONS = {
  succeeded: "\u2705",
  failed: "\u274C",
  stopped: "\u23F9\uFE0F",
  "rolled-back": "\u21A9\uFE0F",
  "no-change": "\u23FA\uFE0F",
  untouched: "\u2796",
  "dry-run": "\u{1F9EA}"
};
function trainTable(result) {
  const rows = ["| Stage | Workload | Verdict | Restored |", "|---|---|---|---|"];
  for (const w of result.workloads ?? []) {
    const where = `${w.kind.toLowerCase()}/${w.name}` + (w.namespace !== result.namespace ? ` (${w.namespace})` : "");
    const context = w.context ? ` \xB7 ${w.context}` : "";
    const why = w.reason ? ` (${w.reason})` : "";
    const restored = w.rollback?.restoredAtMs !== void 0 ? `${w.rollback.outcome} at +${round((w.rollback.restoredAtMs - result.startedMs) / 1e3)}s` : w.rollback?.outcome ?? "";
    rows.push(
      `| ${escapeMarkdown(w.stage + context)} | ${code(where)} | ${WORKLOAD_ICONS[w.verdict]} ${w.verdict}${why} | ${restored} |`
    );
  }
  return rows.join("\n");
}
var CANARY_ICONS = { passed: "\u2705", failed: "\u274C", stopped: "\u23F9\uFE0F" };
function canaryBlock(c) {
  const r = (n) => String(Math.round(n * 100) / 100);
  const pods = (byPod) => Object.entries(byPod).map(([pod, n]) => `${escapeMarkdown(pod)}: ${n}`).join("<br>");
  const table = [
    "| | Pods | Error lines | Lines/pod/min | Per pod |",
    "| --- | --- | --- | --- | --- |",
    `| Canary ${code(c.object)} | ${c.canary.pods} | ${c.canary.errorLines} | ${r(c.canary.ratePerPodPerMinute)} | ${pods(c.canary.byPod)} |`,
    `| Stable | ${c.stable.pods} | ${c.stable.errorLines} | ${r(c.stable.ratePerPodPerMinute)} | ${pods(c.stable.byPod)} |`
  ].join("\n");
  const basis = c.basis === "stable" ? `stable \xD7 canary-error-factor ${r(c.factor)}` : "absolute: the stable pods were quiet";
  const verdict = `${CANARY_ICONS[c.verdict]} ${c.verdict}${c.reason ? ` (${escapeMarkdown(c.reason)})` : ""}`;
  const facts = `Same window: ${formatDuration(c.windowMs)} \xB7 limit ${r(c.limit)} lines/pod/min (${basis}) \xB7 ${verdict}`;
  const blocks = [table, facts];
  if (c.message) blocks.push(escapeMarkdown(c.message));
  if (c.samples.length > 0) {
    blocks.push(
      detailsBlock(`Canary error lines (${c.samples.length} samples)`, [
        fenced(c.samples.map((x) => `${x.pod}/${x.container}: ${x.text}`))
      ])
    );
  }
  return blocks.join("\n\n");
}
function beforeAfter(before, after) {
  return `${before !== void 0 ? code(before) : "?"} \u2192 ${after !== void 0 ? code(after) : "?"}`;
}
function errorCell(result) {
  const e = result.errors;
  const notes = [];
  if (e.threshold) notes.push(`over ${e.threshold}`);
  if (e.baselineRate !== void 0) notes.push(`baseline ${round(e.baselineRate)}/pod/min`);
  const head = `${e.total}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
  const pods = Object.entries(e.byPod).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const note = e.note ? [`\u26A0\uFE0F ${escapeMarkdown(e.note)}`] : [];
  return [head, ...pods.map(([pod, n]) => `${escapeMarkdown(pod)}: ${n}`), ...note].join("<br>");
}
function dependenciesCell(states) {
  return states.map((d) => `${d.up ? "\u2705" : "\u{1F53B} DOWN"} ${code(d.spec)}: ${escapeMarkdown(d.detail)}`).join("<br>");
}
function rollbackCell(rollback) {
  const outcome = {
    succeeded: "\u2705 succeeded",
    failed: "\u{1F6A8} FAILED",
    "skipped-conflict": "\u26A0\uFE0F skipped (conflict)",
    disabled: "\u2796 disabled"
  }[rollback.outcome];
  const facts = [
    rollback.durationMs !== void 0 ? `in ${formatDuration(rollback.durationMs)}` : "",
    rollback.revision !== void 0 ? `revision ${escapeMarkdown(rollback.revision)}` : ""
  ].filter(Boolean);
  const head = facts.length > 0 ? `${outcome} (${facts.join(", ")})` : outcome;
  return rollback.message ? `${head}: ${escapeMarkdown(rollback.message)}` : head;
}
function commitCell(result) {
  const o = result.origin;
  if (!o.sha) return void 0;
  const parts = [code(o.sha.slice(0, 12))];
  if (o.ref) parts.push(`on ${code(o.ref)}`);
  if (o.eventName) parts.push(`(${escapeMarkdown(o.eventName)})`);
  if (o.actor) parts.push(`by ${escapeMarkdown(o.actor)}`);
  return parts.join(" ");
}
function phaseTimeline(startedMs, phases) {
  if (phases.length === 0) return void 0;
  const ordered = [...phases].sort((a, b) => a.startedMs - b.startedMs);
  return [
    "| # | Phase | Start | Duration | Outcome |",
    "| --- | --- | --- | --- | --- |",
    ...ordered.map(
      (p, i) => `| ${i + 1} | ${p.phase} | +${formatDuration(p.startedMs - startedMs)} | ${formatDuration(p.endedMs - p.startedMs)} | ${escapeMarkdown(p.outcome)} |`
    )
  ].join("\n");
}
function checkBlocks(check) {
  const blocks = ["### Dry-run check"];
  blocks.push(
    check.warnings.length > 0 ? ["Rollout traps:", ...check.warnings.map((w) => `- \u26A0\uFE0F ${escapeMarkdown(w)}`)].join("\n") : "No rollout traps found."
  );
  if (check.diff) blocks.push(detailsBlock("Template diff", [fenced(check.diff.split(/\r\n|\r|\n/), "diff")]));
  return blocks;
}
function diagnosticsBlocks(result) {
  const pods = result.diagnostics.slice(0, MAX_PODS);
  const blocks = pods.map(podBlock);
  const more = result.diagnostics.length - pods.length;
  if (more > 0) blocks.push(`\u2026 and ${more} more failing ${more === 1 ? "pod" : "pods"}, see the job log.`);
  const samples = result.errors.samples;
  if (samples.length > 0) {
    const lines = samples.map((s) => `${s.pod}/${s.container}: ${s.text}`);
    blocks.push(detailsBlock(`Matched error lines (${samples.length} of ${result.errors.total})`, [fenced(lines)]));
  }
  return blocks;
}
function podBlock(d) {
  const title = [
    `<b>${escapeHtml(d.pod)}</b>`,
    d.container !== void 0 ? `container ${escapeHtml(d.container)}` : "",
    escapeHtml(d.reason),
    d.exitCode !== void 0 ? `exit ${d.exitCode}` : "",
    `${d.restarts} ${d.restarts === 1 ? "restart" : "restarts"}`
  ].filter(Boolean);
  const facts = [`- **Reason:** ${escapeMarkdown(d.reason)}`];
  if (d.container !== void 0) facts.push(`- **Container:** ${escapeMarkdown(d.container)}`);
  if (d.message) facts.push(`- **Message:** ${escapeMarkdown(d.message)}`);
  if (d.exitCode !== void 0) facts.push(`- **Exit code:** ${d.exitCode}`);
  facts.push(`- **Restarts:** ${d.restarts}`);
  const body = [facts.join("\n")];
  const events = d.events.slice(-MAX_EVENTS);
  body.push(
    events.length > 0 ? [
      "| Type | Reason | Count | Last seen | Message |",
      "| --- | --- | --- | --- | --- |",
      ...events.map(
        (e) => `| ${escapeMarkdown(e.type)} | ${escapeMarkdown(e.reason)} | ${e.count} | ${escapeMarkdown(e.lastSeen ?? "")} | ${escapeMarkdown(e.message)} |`
      )
    ].join("\n") : "No events."
  );
  const tail = d.logTail.slice(-LOG_TAIL_LINES);
  if (tail.length > 0) {
    const of = d.container !== void 0 ? ` of ${escapeMarkdown(d.container)}` : "";
    body.push(`Last ${tail.length} log ${tail.length === 1 ? "line" : "lines"}${of}:`, fenced(tail));
  } else {
    body.push("No log lines.");
  }
  return detailsBlock(title.join(" \xB7 "), body, true);
}
function detailsBlock(summary, body, summaryIsHtml = false) {
  const head = summaryIsHtml ? summary : escapeHtml(summary);
  return [`<details><summary>${head}</summary>`, ...body, "</details>"].join("\n\n");
}
function fenced(lines, info2 = "text") {
  const text = lines.flatMap((line) => line.split(/\r\n|\r|\n/)).map((line) => clip(stripControl(line))).join("\n");
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info2}
${text}
${fence}`;
}
var ANSI_OR_CONTROL = /\u001b\[[0-?]*[ -/]*[@-~]|[\u0000-\u0008\u000b-\u001f\u007f]/g;
function stripControl(line) {
  return line.replace(ANSI_OR_CONTROL, "");
}
function clip(line) {
  return line.length > MAX_LOG_LINE_CHARS ? `${line.slice(0, MAX_LOG_LINE_CHARS - 1)}\u2026` : line;
}
function code(text) {
  return /^[\w.:/@+-]+$/.test(text) ? `\`${text}\`` : escapeMarkdown(text);
}
var HTML_ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };
function escapeHtml(text) {
  return text.replace(/\s+/g, " ").replace(/[&<>"]/g, (c) => HTML_ENTITIES[c] ?? c);
}
function markdownUrl2(url) {
  return url.replace(/[\s()<>]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}
function round(n) {
  return String(Math.round(n * 100) / 100);
}

// src/report/summary.ts
async function writeJobSummary(result, core, opts = {}) {
  const env = opts.env ?? process.env;
  if (!env.GITHUB_STEP_SUMMARY) return false;
  try {
    core.summary.addRaw(renderSummary(result, { runUrl: opts.runUrl }), true);
    await core.summary.write();
    return true;
  } catch (e) {
    opts.warn?.(`could not write the job summary: ${e.message}`);
    return false;
  }
}

// src/main.ts
var actionLogger = {
  info: (m) => info(neutraliseWorkflowCommands(m)),
  warning: (m) => warning(neutraliseWorkflowCommands(m)),
  group: (name, fn) => group(name, fn)
};
async function run() {
  const startedMs = Date.now();
  let inputs;
  let clients;
  try {
    inputs = readActionInputs();
    const kc = loadKubeConfig(inputs.config.kubeconfig, inputs.config.context);
    clients = makeClients(kc);
    inputs = {
      ...inputs,
      config: await loadPlan(
        inputs.config,
        kc.getContexts().map((c) => c.name)
      )
    };
  } catch (e) {
    for (const [name, value] of Object.entries(inputFailureOutputs(Date.now() - startedMs))) setOutput(name, value);
    throw e;
  }
  const { config, reporting } = inputs;
  const docker = execaDocker(process.env, (line) => info(neutraliseWorkflowCommands(line)));
  const github = reporting.github ? createGitHubReporter(createOctokit(reporting.github.token), reporting.github, {
    namespace: config.namespace,
    deployment: config.deployment,
    recordDeployment: reporting.recordDeployment && config.mode === "deploy" && !config.dryRun,
    description: `${config.image.repository}:${config.tag}`
  }) : void 0;
  const warn = (warnings) => warnings.forEach((w) => warning(neutraliseWorkflowCommands(w)));
  if (github) warn(await github.start());
  let inProgress = Promise.resolve([]);
  const result = await runRelease(config, {
    clients,
    docker,
    log: actionLogger,
    clientsFor: (context) => makeClients(loadKubeConfig(config.kubeconfig, context)),
    lockHolder: config.origin.runUrl ? config.origin.runUrl + (process.env.GITHUB_RUN_ATTEMPT ? `/attempts/${process.env.GITHUB_RUN_ATTEMPT}` : "") : `${hostname()}:${process.pid}`,
    logGate: (ctx) => followErrorLogs({ config, log: actionLogger, ...ctx }),
    onPatched: (pending) => {
      saveState(PENDING_STATE, JSON.stringify(pending));
      if (github) inProgress = github.progress();
    },
    onSettled: () => saveState(PENDING_STATE, ""),
    onCanary: (canary) => saveState(CANARY_STATE, canary ? JSON.stringify(canary) : "")
  });
  writeOutputs(result, core_exports);
  const verdict = formatVerdictLine(result);
  for (const line of formatDiagnostics(result)) info(line);
  await writeJobSummary(result, core_exports, { runUrl: config.origin.runUrl, warn: (m) => warning(m) });
  warn(await inProgress);
  if (github) warn(await github.finish(result));
  warn(await notifyAll(result, reporting.notify, config.origin.runUrl));
  if (!isSuccess(result.result)) throw new ReleaseFailed(verdict);
  info(verdict);
}
export {
  PENDING_STATE,
  actionLogger,
  run
};

import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  readInputs
} from "./chunk-6IVL2L6L.js";
import {
  getState,
  info,
  warning
} from "./chunk-P5G7GDGT.js";
import {
  CANARY_STATE,
  PENDING_STATE,
  loadKubeConfig,
  makeClients,
  removeLeftoverCanary,
  restorePending
} from "./chunk-2NIVVW3N.js";
import "./chunk-OJCWM4JT.js";

// src/post.ts
async function post() {
  const raw = getState(PENDING_STATE);
  const rawCanary = getState(CANARY_STATE);
  if (!raw && !rawCanary) return;
  const config = readInputs();
  const clients = makeClients(loadKubeConfig(config.kubeconfig, config.context));
  if (rawCanary) {
    const canary = JSON.parse(rawCanary);
    const where = canary.context ? makeClients(loadKubeConfig(config.kubeconfig, canary.context)) : clients;
    await removeLeftoverCanary(where, canary, { info: (m) => info(m), warning: (m) => warning(m) });
  }
  if (!raw) return;
  const pending = JSON.parse(raw);
  await restorePending(
    clients,
    pending,
    { info: (m) => info(m), warning: (m) => warning(m) },
    (context) => makeClients(loadKubeConfig(config.kubeconfig, context))
  );
}
export {
  post
};

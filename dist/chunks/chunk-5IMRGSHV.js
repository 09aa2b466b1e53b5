import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  ConflictError,
  applyTemplatePatch,
  planRestore,
  readDeployment,
  snapshotOf,
  templateKey
} from "./chunk-4FH7O7QX.js";

// src/restore.ts
async function restorePending(clients, pending, log) {
  const where = `${pending.namespace}/${pending.deployment}`;
  const snapshot = {
    ...snapshotOf({ metadata: { name: pending.deployment, namespace: pending.namespace } }),
    template: pending.template
  };
  try {
    await applyTemplatePatch(
      clients,
      snapshot,
      planRestore(snapshot, pending.generation, "interrupted during the release"),
      pending.ourTemplate
    );
    log.warning(`The release was interrupted: the previous template of ${where} was restored`);
  } catch (e) {
    if (!(e instanceof ConflictError)) throw e;
    const current = await readDeployment(clients, pending.namespace, pending.deployment);
    if (templateKey(current.spec?.template) === templateKey(pending.template)) {
      log.info(`The release was interrupted; ${where} already runs the previous template`);
      return;
    }
    log.warning(`The release was interrupted, but ${where} was changed by someone else since; not restoring`);
  }
}

export {
  restorePending
};

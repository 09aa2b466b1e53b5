import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import {
  PENDING_STATE,
  actionLogger,
  run
} from "./chunk-YMV6APVR.js";
import "./chunk-HGDOEOKP.js";
import "./chunk-ZLPPYCYY.js";
import "./chunk-OJCWM4JT.js";
export {
  PENDING_STATE,
  actionLogger,
  run
};

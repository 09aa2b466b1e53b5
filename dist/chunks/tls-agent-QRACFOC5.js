import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import{a as g}from"./chunk-2FRVB433.js";import"./chunk-MVDEYNLP.js";import{a as n,e as r}from"./chunk-XOKAOISC.js";var t=r(g(),1);function o(e){return new t.Agent({connect:{ca:e}})}n(o,"agentTrusting");export{o as agentTrusting};

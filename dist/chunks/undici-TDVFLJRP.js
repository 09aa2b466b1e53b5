import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import{a}from"./chunk-RUSZIML2.js";import"./chunk-MVDEYNLP.js";import"./chunk-XOKAOISC.js";export default a();

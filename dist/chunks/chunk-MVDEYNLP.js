import { createRequire as __rgCreateRequire } from 'node:module';const require = __rgCreateRequire(import.meta.url);
import{b as r,c as i}from"./chunk-XOKAOISC.js";var o=i((p,e)=>{e.exports=r("node:http")});export{o as a};

import { SqliDetector } from './src/policies/waf/sqli/index.js';
const d = new SqliDetector();
const tests = process.argv.slice(2);
for (const t of tests) console.log(d.check(t), JSON.stringify(t));
